"""libvirt's network lifecycle events (defined, started, stopped, undefined), and its domains'
lifecycle and NIC hot-plug events, for the worker's monitor (networks.worker.monitor).

A subscription has a connection of its own, not the one jobs and refreshes use: a reply that
takes seconds on a connection (QEMU's version after a daemon restart took 12 s here) holds up
the events arriving on it, measured at 10 s. When the subscription's connection dies (a libvirtd
restart), `alive()` says so and the monitor subscribes again. The callback runs in libvirt's
event-loop thread (connection._ensure_event_loop): it must only hand the event on.
"""

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import libvirt

from . import connection, networks
from .errors import NetworkNotFound
from .types import NetworkInfo

log = logging.getLogger(__name__)

EVENT_NAMES = {
    libvirt.VIR_NETWORK_EVENT_DEFINED: "defined",
    libvirt.VIR_NETWORK_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_NETWORK_EVENT_STARTED: "started",
    libvirt.VIR_NETWORK_EVENT_STOPPED: "stopped",
}


# A domain's events that change what vnetweb shows of it: started, stopped, defined, undefined,
# paused, resumed...; a NIC plugged or unplugged while it runs; its guest agent (dis)connected.
DOMAIN_EVENTS = {
    libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE: "lifecycle",
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED: "device-added",
    libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED: "device-removed",
    libvirt.VIR_DOMAIN_EVENT_ID_AGENT_LIFECYCLE: "agent",
}


@dataclass
class Subscription:
    uri: str
    conn: "libvirt.virConnect"
    callback_id: int
    domain_callbacks: tuple[int, ...] = ()


def subscribe(
    uri: str,
    on_event: Callable[[str, str], None],
    on_domain: Callable[[str, str], None] | None = None,
) -> Subscription:
    """Call `on_event(network name, "started"|"stopped"|"defined"|"undefined")` for every
    network of the host, and `on_domain(domain name, what)` for its domains' events (see
    DOMAIN_EVENTS). Raises GatewayError when the host cannot be reached."""

    def handler(_conn, net, event, _detail, _opaque) -> None:
        try:
            on_event(net.name(), EVENT_NAMES.get(event, str(event)))
        except Exception:  # never let an error escape into libvirt's event loop
            log.exception("network event handler failed")

    def domain_handler(what: str):
        def handle(_conn, dom, *_rest) -> None:
            try:
                on_domain(dom.name(), what)
            except Exception:
                log.exception("domain event handler failed")

        return handle

    conn = connection.open_connection(uri)
    try:
        callback_id = conn.networkEventRegisterAny(
            None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, handler, None
        )
        domain_callbacks = []
        if on_domain is not None:
            for event_id, what in DOMAIN_EVENTS.items():
                domain_callbacks.append(
                    conn.domainEventRegisterAny(None, event_id, domain_handler(what), None)
                )
    except libvirt.libvirtError as exc:
        with suppress(libvirt.libvirtError):
            conn.close()
        raise connection.translate(exc) from exc
    return Subscription(uri, conn, callback_id, tuple(domain_callbacks))


def read_network(sub: Subscription, name: str) -> NetworkInfo | None:
    """The network an event named, read on the subscription's own connection (without guests):
    the shared connection may be busy, or reconnecting, for seconds after a daemon restart.
    None when it is gone (undefined, or a transient one stopped)."""
    try:
        return networks.read_network(sub.conn, name, guests=False)
    except libvirt.libvirtError as exc:
        error = connection.translate(exc)
        if isinstance(error, NetworkNotFound):
            return None
        raise error from exc


def leases(sub: Subscription, name: str) -> tuple | None:
    """A network's DHCP leases as libvirt lists them now, on the subscription's connection: for a
    host whose lease files the worker cannot watch (it runs elsewhere), asked every few seconds
    and compared with the last answer. None when the network is gone or has no lease support."""
    try:
        return networks.leases_of(sub.conn.networkLookupByName(name))
    except libvirt.libvirtError as exc:
        error = connection.translate(exc)
        if isinstance(error, NetworkNotFound) or exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return None
        raise error from exc


def alive(sub: Subscription) -> bool:
    """Whether the subscription still delivers: its connection is up."""
    try:
        return bool(sub.conn.isAlive())
    except libvirt.libvirtError:
        return False


def unsubscribe(sub: Subscription) -> None:
    with suppress(libvirt.libvirtError):
        sub.conn.networkEventDeregisterAny(sub.callback_id)
    for callback_id in sub.domain_callbacks:
        with suppress(libvirt.libvirtError):
            sub.conn.domainEventDeregisterAny(callback_id)
    with suppress(libvirt.libvirtError):
        sub.conn.close()
