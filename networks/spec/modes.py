"""The network modes, declared once: what each is called, what the editor says of it, what it has
of its own and how the topology draws its way out.

The spec's rules, the switch editor's choices, the Network model's choices (the list's labels and
filter), the worker's health verdict and the topology all read this table. A new mode is one entry
here plus its XML: how `xml_read.mode_of` tells it from <forward> and `xml.to_xml` writes it.

Keys are the strings stored in `NetworkSpec.mode` and `Network.mode`. A macvtap pool is one spec
mode ("macvtap", with libvirt's forward mode in `macvtap_mode`), but the list names a pool whose
guests do not simply share the NIC by that forward mode (private, vepa, passthrough): those keys
are list-only (`spec=False`).
"""

from dataclasses import dataclass
from typing import Literal

# How the topology draws a switch's line to the host's uplink:
# "forwarded": through the host's routing (via its outbound device, or the uplink's);
# "open": always up, no device named; "none": no line at all;
# "device": it hangs off a device of the host (its host bridge or a NIC of its pool).
Uplink = Literal["forwarded", "open", "none", "device"]
# What guests attach to when the mode has no bridge of libvirt's own: a host bridge or host NICs.
Attaches = Literal["", "bridge", "nics"]


@dataclass(frozen=True)
class Mode:
    key: str
    label: str  # the list's, the filter's and the topology's word for it
    help: str = ""  # the editor's explanation; a mode without one is not offered there
    # libvirt runs its bridge, dnsmasq and firewall: addresses, DHCP, DNS, routes, STP, MTU.
    own_bridge: bool = False
    forwards: bool = False  # traffic leaves through the host, optionally one NIC (forward_dev)
    needs_address: bool = False  # a network of this mode without any IP address makes no sense
    attaches: Attaches = ""
    uplink: Uplink = "device"
    way: str = ""  # the line to the uplink's word (a "device" mode: its drawn label, lower case)
    drawn: str = ""  # the topology's name where it differs from `label`
    spec: bool = True  # a value of NetworkSpec.mode (False: a list name of a macvtap pool)

    @property
    def offered(self) -> bool:
        """Whether the switch editor offers it."""
        return bool(self.help)

    @property
    def choice(self) -> str:
        """The editor's line for it: "NAT — guests reach out through the host's address"."""
        return f"{self.label} — {self.help}"

    @property
    def drawn_label(self) -> str:
        return self.drawn or self.label


def _pool(key: str, label: str, drawn: str = "", **options) -> Mode:
    """A mode whose guests attach straight to host NICs (macvtap and its kin, hostdev)."""
    return Mode(key, label, attaches="nics", drawn=drawn, **options)


# The order is the editor's and the list filter's.
MODES: tuple[Mode, ...] = (
    Mode(
        "nat",
        "NAT",
        "guests reach out through the host's address",
        own_bridge=True,
        forwards=True,
        needs_address=True,
        uplink="forwarded",
        way="NAT",
    ),
    Mode(
        "route",
        "Routed",
        "the guests' subnet is routed, not translated",
        own_bridge=True,
        forwards=True,
        needs_address=True,
        uplink="forwarded",
        way="routed",
    ),
    Mode(
        "isolated",
        "Isolated",
        "guests and the host only",
        own_bridge=True,
        uplink="none",
        way="no way out",
    ),
    Mode(
        "open",
        "Open",
        "routed, and libvirt adds no firewall rules",
        own_bridge=True,
        needs_address=True,
        uplink="open",
        way="open",
    ),
    Mode(
        "bridge",
        "Host bridge",
        "guests join an existing bridge on the host",
        attaches="bridge",
    ),
    _pool("macvtap", "Macvtap", help="guests attach directly to host NICs"),
    _pool("passthrough", "Passthrough", spec=False),
    _pool("private", "Private", "Macvtap private", spec=False),
    _pool("vepa", "VEPA", "Macvtap VEPA", spec=False),
    # SR-IOV pools: read and written back untouched, not offered by the editor.
    _pool("hostdev", "Hostdev"),
)
BY_KEY: dict[str, Mode] = {mode.key: mode for mode in MODES}


@dataclass(frozen=True)
class MacvtapMode:
    """libvirt's <forward mode=...> of a macvtap pool: how guests on the same NIC see each other."""

    key: str
    choice: str  # the editor's line for it


MACVTAP: tuple[MacvtapMode, ...] = (
    MacvtapMode("bridge", "bridge — guests on one NIC reach each other"),
    MacvtapMode("private", "private — guests cannot reach each other"),
    MacvtapMode("vepa", "VEPA — guest traffic goes through the external switch"),
    MacvtapMode("passthrough", "passthrough — one guest per NIC"),
)


def keys(**wanted: bool | str) -> tuple[str, ...]:
    """The keys of the spec's modes whose attributes have these values: keys(own_bridge=True)."""
    return tuple(
        mode.key
        for mode in MODES
        if mode.spec and all(getattr(mode, name) == value for name, value in wanted.items())
    )


def of(key: str) -> Mode:
    """The mode stored as `key`; an unknown key (a newer libvirt's) is drawn as a host device."""
    return BY_KEY.get(key) or Mode(key, key)


def listed(mode: str, macvtap_mode: str) -> str:
    """The key the list shows for a spec's mode: a macvtap pool by its forward mode, unless that
    is plain bridge (guests on one NIC reach each other: what "macvtap" means to most)."""
    return macvtap_mode if mode == "macvtap" and macvtap_mode != "bridge" else mode


# What the spec and its rules use.
EDITABLE = tuple(mode.key for mode in MODES if mode.offered)
READ_ONLY = tuple(mode.key for mode in MODES if mode.spec and not mode.offered)
MACVTAP_MODES = tuple(mode.key for mode in MACVTAP)
OWN_BRIDGE = keys(own_bridge=True)
FORWARDING = keys(forwards=True)
NEEDS_ADDRESS = keys(needs_address=True)
NO_ADDRESS = keys(own_bridge=False)
NIC_POOLS = keys(attaches="nics")
