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
class NicInfo:
    """One <interface> of a domain."""

    mac: str
    type: str  # network, bridge, direct, user, ...
    source: str = ""  # the network's name, the bridge or the host NIC
    model: str = ""
    device: str = ""  # the host side while the domain runs: vnet3, macvtap0
    link: str = "up"  # <link state>: up or down
    agent: tuple[str, ...] = ()  # "10.0.0.5/24" as the guest agent reported them
    config: bool = True  # also in the saved definition (False: plugged live only)


@dataclass(frozen=True)
class DomainInfo:
    name: str
    uuid: str
    state: str  # running, paused, shut off, ...
    persistent: bool = True
    autostart: bool = False
    vcpus: int | None = None
    memory_kib: int | None = None
    nics: tuple[NicInfo, ...] = ()
    agent: bool = False  # a guest agent answered
    hotplug: bool = True  # the machine can take a NIC while it runs (ACPI on x86)
    xml: str = ""

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")


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
    # The driver cannot list leases at all (libvirt's test driver): what the database holds of
    # them is left as it is (nothing there hands out leases; bench/fleet.py puts rows in).
    leases_unknown: bool = False
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
    # The host's guests; None when not read (then the database keeps the guests it had).
    domains: tuple[DomainInfo, ...] | None = None
