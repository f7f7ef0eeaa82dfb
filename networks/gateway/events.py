"""libvirt's network lifecycle events (defined, started, stopped, undefined), for the worker's
monitor (networks.monitor).

A subscription belongs to one connection: when that connection dies or is replaced (a libvirtd
restart, a job that reconnected), `alive()` says so and the monitor subscribes again on the new
one. The callback runs in libvirt's event-loop thread (connection._ensure_event_loop): it must
only hand the event on, never do slow work there.
"""

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

import libvirt

from . import connection
from .connection import call

log = logging.getLogger(__name__)

EVENT_NAMES = {
    libvirt.VIR_NETWORK_EVENT_DEFINED: "defined",
    libvirt.VIR_NETWORK_EVENT_UNDEFINED: "undefined",
    libvirt.VIR_NETWORK_EVENT_STARTED: "started",
    libvirt.VIR_NETWORK_EVENT_STOPPED: "stopped",
}


@dataclass
class Subscription:
    uri: str
    conn: "libvirt.virConnect"
    callback_id: int


def subscribe(uri: str, on_event: Callable[[str, str], None]) -> Subscription:
    """Call `on_event(network name, "started"|"stopped"|"defined"|"undefined")` for every
    network of the host. Raises GatewayError when the host cannot be reached."""

    def handler(_conn, net, event, _detail, _opaque) -> None:
        try:
            on_event(net.name(), EVENT_NAMES.get(event, str(event)))
        except Exception:  # never let an error escape into libvirt's event loop
            log.exception("network event handler failed")

    def register(conn: "libvirt.virConnect") -> Subscription:
        callback_id = conn.networkEventRegisterAny(
            None, libvirt.VIR_NETWORK_EVENT_ID_LIFECYCLE, handler, None
        )
        return Subscription(uri, conn, callback_id)

    return call(uri, register)


def alive(sub: Subscription) -> bool:
    """Whether the subscription still delivers: its connection is the host's current one, and
    that connection is up."""
    if connection.current(sub.uri) is not sub.conn:
        return False
    try:
        return bool(sub.conn.isAlive())
    except libvirt.libvirtError:
        return False


def unsubscribe(sub: Subscription) -> None:
    with suppress(libvirt.libvirtError):
        sub.conn.networkEventDeregisterAny(sub.callback_id)
