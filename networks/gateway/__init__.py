"""The one door to libvirt. Everything else in vnetweb calls these functions and never imports
`libvirt` itself (tests/test_architecture.py checks it), so it can run and be tested without it.
"""

from .changes import define_network, restart_network, undefine_network, update_network
from .errors import GatewayError, HostUnreachable, NetworkNotFound
from .inventory import is_local
from .operations import (
    find_network,
    host_facts,
    network_config_xml,
    network_state,
    set_autostart,
    snapshot,
    start_network,
    stop_network,
)
from .types import (
    GuestInfo,
    HostBridge,
    HostFacts,
    HostInterface,
    HostInventory,
    HostRoute,
    HostSnapshot,
    LeaseInfo,
    NetworkInfo,
)

__all__ = [
    "GatewayError",
    "GuestInfo",
    "HostBridge",
    "HostFacts",
    "HostInterface",
    "HostInventory",
    "HostRoute",
    "HostSnapshot",
    "HostUnreachable",
    "LeaseInfo",
    "NetworkInfo",
    "NetworkNotFound",
    "define_network",
    "find_network",
    "host_facts",
    "is_local",
    "network_config_xml",
    "network_state",
    "restart_network",
    "set_autostart",
    "snapshot",
    "start_network",
    "stop_network",
    "undefine_network",
    "update_network",
]
