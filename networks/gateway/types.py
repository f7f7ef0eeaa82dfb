"""Plain values the gateway hands out: nothing here refers to libvirt objects."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HostFacts:
    hostname: str
    libvirt_version: str
    hypervisor: str
    hypervisor_version: str
    cpu_model: str
    cpus: int
    memory_kib: int


@dataclass(frozen=True)
class LeaseInfo:
    mac: str
    ip: str
    prefix: int | None
    hostname: str
    client_id: str
    expires: datetime | None


@dataclass(frozen=True)
class GuestInfo:
    """A guest NIC on a network: <interface type='network'>, or straight onto its bridge or NIC."""

    domain: str
    mac: str
    running: bool
    state: str = ""  # the domain's: running, paused, shut off, ...
    device: str = ""  # the host side of the NIC while the guest runs: vnet3, macvtap0
    model: str = ""  # virtio, e1000, ...
    attached: str = "network"  # the <interface type>: network, bridge or direct
    # Whether libvirt lists it among the network's ports now; None where that cannot be told.
    plugged: bool | None = None


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    uuid: str
    active: bool
    persistent: bool
    autostart: bool
    xml: str
    # None when the network has no libvirt-run DHCP server or is not running.
    leases: tuple[LeaseInfo, ...] | None = None
    # The saved (inactive) definition of a running persistent network, which may differ from the
    # running one until a restart; "" otherwise (then `xml` is the saved definition).
    config_xml: str = ""
    # None: not read this time (a quick re-read); the database keeps the guests it had.
    guests: tuple[GuestInfo, ...] | None = ()


@dataclass(frozen=True)
class HostBridge:
    name: str
    ports: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    up: bool = True


@dataclass(frozen=True)
class HostInterface:
    """A host link other than a bridge or the loopback: a NIC, bond, VLAN, veth, tap..."""

    name: str
    kind: str = ""  # the kernel's link kind ("veth", "bond", "vlan"); "" for a physical NIC
    mac: str = ""
    up: bool = True
    master: str = ""  # the bridge or bond it is enslaved to
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostRoute:
    dst: str  # a CIDR; the default route is 0.0.0.0/0 or ::/0
    gateway: str = ""
    dev: str = ""


@dataclass(frozen=True)
class HostInventory:
    """What the create form offers and checks against. Empty lists mean "not known"."""

    bridges: tuple[HostBridge, ...] = ()
    interfaces: tuple[HostInterface, ...] = ()
    routes: tuple[HostRoute, ...] = ()


@dataclass(frozen=True)
class HostSnapshot:
    facts: HostFacts
    networks: tuple[NetworkInfo, ...]
    inventory: HostInventory = HostInventory()
