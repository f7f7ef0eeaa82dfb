"""The one door to libvirt. Everything else in vnetweb calls these functions and never imports
`libvirt` itself (tests/test_architecture.py checks it), so it can run and be tested without it.
"""

from .errors import GatewayError, HostUnreachable, NetworkNotFound
from .operations import (
    define_network,
    host_facts,
    network_state,
    set_autostart,
    snapshot,
    start_network,
    stop_network,
    undefine_network,
)
from .types import HostFacts, HostSnapshot, LeaseInfo, NetworkInfo

__all__ = [
    "GatewayError",
    "HostFacts",
    "HostSnapshot",
    "HostUnreachable",
    "LeaseInfo",
    "NetworkInfo",
    "NetworkNotFound",
    "define_network",
    "host_facts",
    "network_state",
    "set_autostart",
    "snapshot",
    "start_network",
    "stop_network",
    "undefine_network",
]
