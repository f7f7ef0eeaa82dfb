"""Connections to libvirt, one per host URI per process, kept open and reopened when they die.

With the other modules of this package, the only code in vnetweb that imports `libvirt`.
"""

import logging
import os
import threading
import weakref
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

import libvirt
from django.conf import settings

from networks.host_uri import parse, refusal

from .errors import GatewayError, HostUnreachable, NetworkNotFound, UriRefused

log = logging.getLogger(__name__)
T = TypeVar("T")

# Errors that mean the link to libvirtd is gone or was never made: worth a new connection.
_CONNECTION_CODES = {
    libvirt.VIR_ERR_NO_CONNECT,
    libvirt.VIR_ERR_SYSTEM_ERROR,
    libvirt.VIR_ERR_RPC,
    libvirt.VIR_ERR_OPERATION_TIMEOUT,
    libvirt.VIR_ERR_AUTH_UNAVAILABLE,
}
_CONNECTION_DOMAINS = {libvirt.VIR_FROM_RPC, libvirt.VIR_FROM_REMOTE}
_NOT_FOUND_CODES = {libvirt.VIR_ERR_NO_NETWORK}

_lock = threading.Lock()
_connections: dict[str, "libvirt.virConnect"] = {}
_uri_locks: dict[str, threading.Lock] = {}
# Per-connection memo (host facts: QEMU's getVersion alone takes ~5 s); dropped with the connection.
memo: "weakref.WeakKeyDictionary[libvirt.virConnect, dict[str, object]]" = (
    weakref.WeakKeyDictionary()
)
_owner_pid: int | None = None
_event_loop_pid: int | None = None


def _quiet(_ctx: object, _err: object) -> None:
    # libvirt prints every error to stderr by default; we raise them as GatewayError instead.
    return None


libvirt.registerErrorHandler(_quiet, None)


def _ensure_event_loop() -> None:
    """Run libvirt's default event loop in a thread of this process (keepalive needs it).

    Celery's prefork pool forks after import, so the thread is started per process, on first use.
    """
    global _event_loop_pid
    if _event_loop_pid == os.getpid():
        return
    if _event_loop_pid is None:
        libvirt.virEventRegisterDefaultImpl()

    def run() -> None:
        while True:
            libvirt.virEventRunDefaultImpl()

    threading.Thread(target=run, name="libvirt-events", daemon=True).start()
    _event_loop_pid = os.getpid()


def message_of(exc: "libvirt.libvirtError") -> str:
    """libvirt's message, without the lines of a document that an XML parse error quotes (with
    a caret under the fault): those can be the contents of any file the driver was made to read,
    and the message is stored and shown on pages."""
    message = exc.get_error_message() or str(exc)
    if exc.get_error_code() == libvirt.VIR_ERR_XML_DETAIL:
        return message.split("\n", 1)[0]
    return message


def translate(exc: "libvirt.libvirtError") -> GatewayError:
    code = exc.get_error_code()
    message = message_of(exc)
    if code in _NOT_FOUND_CODES:
        return NetworkNotFound(message, code=code)
    if code in _CONNECTION_CODES or exc.get_error_domain() in _CONNECTION_DOMAINS:
        return HostUnreachable(message, code=code)
    return GatewayError(message, transient=False, code=code)


def _open(uri: str, keepalive: tuple[int, int] | None = None) -> "libvirt.virConnect":
    # Every connection is opened here: a URI is code to libvirt (ssh's command line, a file for
    # the test driver), so the host form's check is made again, whatever wrote the Host row.
    refused = refusal(uri)
    if refused:
        raise UriRefused(refused)
    conn = _open_within(uri, settings.VNETWEB_CONNECT_SECONDS)
    interval, count = keepalive or (
        settings.VNETWEB_KEEPALIVE_INTERVAL,
        settings.VNETWEB_KEEPALIVE_COUNT,
    )
    # Local drivers (test:///) have no keepalive; their connection cannot drop anyway.
    with suppress(libvirt.libvirtError):
        conn.setKeepAlive(interval, count)
    return conn


# Connects to remote hosts still waiting for an answer, by URI (a host whose packets are dropped
# leaves its TCP connect hanging for minutes).
_connecting: set[str] = set()


def _open_within(uri: str, seconds: float) -> "libvirt.virConnect":
    """libvirt.open, given up after `seconds`: libvirt has no connect timeout, and a hung connect
    would hold the caller (a job, a refresh, the monitor) for as long as TCP keeps trying. The
    attempt goes on in its thread and a late connection is closed; until it ends, another attempt
    at the same URI is refused at once instead of starting a second thread."""
    parts = parse(uri)
    if parts is None or not parts.host:
        # No host part (qemu:///system, test:///…): a local socket or in-process, never hangs.
        try:
            return libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise translate(exc) from exc
    with _lock:
        waiting = uri in _connecting
        _connecting.add(uri)
    if waiting:
        raise HostUnreachable(
            "No answer from the host: an earlier attempt to connect is still waiting "
            f"(more than VNETWEB_CONNECT_SECONDS, {settings.VNETWEB_CONNECT_SECONDS} s; packets "
            "dropped, or the host down)."
        )
    done = threading.Event()
    outcome: dict[str, object] = {}

    def attempt() -> None:
        try:
            outcome["conn"] = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            outcome["error"] = exc
        finally:
            with _lock:
                _connecting.discard(uri)
                given_up = done.is_set()
                done.set()
            if given_up and "conn" in outcome:
                with suppress(libvirt.libvirtError):
                    outcome.pop("conn").close()

    threading.Thread(target=attempt, name="libvirt-connect", daemon=True).start()
    if not done.wait(seconds):
        with _lock:
            gave_up = not done.is_set()
            done.set()  # the thread closes a connection that comes after this
        if gave_up:
            raise HostUnreachable(
                f"No answer from the host within {seconds:g} s (VNETWEB_CONNECT_SECONDS): "
                "packets dropped, or the host down."
            )
    if "error" in outcome:
        exc = outcome["error"]
        raise translate(exc) from exc  # type: ignore[arg-type]
    return outcome["conn"]  # type: ignore[return-value]


def _uri_lock(uri: str) -> threading.Lock:
    global _owner_pid
    with _lock:
        if _owner_pid != os.getpid():
            # A forked child must not share its parent's sockets, nor wait for the parent's
            # connect attempts: their threads did not come along.
            _connections.clear()
            _uri_locks.clear()
            _connecting.clear()
            _owner_pid = os.getpid()
        _ensure_event_loop()
        return _uri_locks.setdefault(uri, threading.Lock())


def _cached(uri: str) -> "libvirt.virConnect":
    # One lock per URI: a host whose connect hangs (an ssh timeout) holds up only its own jobs.
    with _uri_lock(uri):
        conn = _connections.get(uri)
        if conn is not None:
            try:
                alive = conn.isAlive()
            except libvirt.libvirtError:
                alive = False
            if alive:
                return conn
            log.info("libvirt connection to %s is dead; reconnecting", uri)
            forget(uri)
        conn = _open(uri)
        _connections[uri] = conn
        return conn


# An event subscription's connection is how the monitor learns that a host whose packets are
# dropped went away: its keepalive is quicker (about 3 x (2 + 1) = 9 s, against the shared
# connection's 15 s), since its probes cost next to nothing and only events travel on it.
SUBSCRIPTION_KEEPALIVE = (3, 2)


def open_connection(uri: str) -> "libvirt.virConnect":
    """A connection of the caller's own (not the shared one), with a quick keepalive and the
    event loop running; the caller closes it. For event subscriptions (networks.gateway.events)."""
    _uri_lock(uri)  # starts this process's event loop if needed
    return _open(uri, SUBSCRIPTION_KEEPALIVE)


def forget(uri: str) -> None:
    """Drop a cached connection (after an error that suggests it is broken)."""
    conn = _connections.pop(uri, None)
    if conn is not None:
        with suppress(libvirt.libvirtError):
            conn.close()


def call(uri: str, operation: Callable[["libvirt.virConnect"], T]) -> T:
    """Run `operation` on the host's connection; on a broken link reconnect once and try again.

    A libvirtd restart closes every client socket: the first call after it fails with an RPC error,
    and a fresh connection succeeds. Errors come out as GatewayError with a human message.
    """
    for attempt in (1, 2):
        conn = _cached(uri)
        try:
            return operation(conn)
        except libvirt.libvirtError as exc:
            error = translate(exc)
            if isinstance(error, HostUnreachable) and attempt == 1:
                with _uri_lock(uri):
                    forget(uri)
                continue
            raise error from exc
    raise AssertionError("unreachable")
