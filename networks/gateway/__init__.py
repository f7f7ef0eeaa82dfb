"""The one door to libvirt. Everything else in vnetweb calls these functions and never imports
`libvirt` itself (tests/test_architecture.py checks it), so it can run and be tested without it.
"""

from .changes import define_network, restart_network, undefine_network, update_network
from .errors import GatewayError, HostUnreachable, NetworkNotFound, UriRefused
from .inventory import is_local
from .networks import (
    find_network,
    host_facts,
    network_config_xml,
    network_state,
    set_autostart,
    snapshot,
    start_network,
    stop_network,
)
from .nics import NicRefused, domain_state
from .nics import attach as attach_nic
from .nics import detach as detach_nic
from .nics import move as move_nic
from .nics import set_link as set_nic_link
from .types import (
    DomainInfo,
    GuestInfo,
    HostBridge,
    HostFacts,
    HostInterface,
    HostInventory,
    HostRoute,
    HostSnapshot,
    LeaseInfo,
    NetworkInfo,
    NicInfo,
)

__all__ = [
    "DomainInfo",
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
    "NicInfo",
    "NicRefused",
    "UriRefused",
    "attach_nic",
    "define_network",
    "detach_nic",
    "domain_state",
    "find_network",
    "host_facts",
    "is_local",
    "move_nic",
    "network_config_xml",
    "network_state",
    "restart_network",
    "set_autostart",
    "set_nic_link",
    "snapshot",
    "start_network",
    "stop_network",
    "undefine_network",
    "update_network",
]
