"""Where each part of a host's topology is drawn: the uplink on top, the switches in rows with
their guests stacked under them, the guests on no switch in a tray at the bottom.

Plain values in, positions out: no database and no Django here (networks/views/topology.py reads
the rows, templates/jinja2/hosts/topology_svg.html draws the result). Switches and guests are
placed in the order of their names, so a live refresh draws what did not change where it was.
"""

import ipaddress
from collections.abc import Container, Sequence
from dataclasses import dataclass, field

from networks.spec import modes

# Sizes in the drawing's units (CSS pixels at zoom 1).
MARGIN = 16
TRUNK_X = MARGIN + 8  # the line down from the uplink to each row's bus
COL_X0 = MARGIN + 36
SWITCH_W, SWITCH_H = 208, 74
PITCH_X = SWITCH_W + 28
BUS_DROP = 30  # from a row's bus down to its switches
GUEST_INDENT = 24  # a switch's guests hang off a line along its left edge
GUEST_W, GUEST_H = SWITCH_W - GUEST_INDENT, 40
GUEST_TOP, GUEST_PITCH = 14, GUEST_H + 8
ROW_GAP = 22
UPLINK_W, UPLINK_H = 440, 44
TRAY_HEAD = 30
BEND = 48  # how far a NIC's curve leaves its guest before it turns to the switch
MAX_COLUMNS = 6
NOTE_H = 24  # "No switch on this host yet."


@dataclass(frozen=True)
class Uplink:
    """The host's way out: the device of its default route ("" when its routes are not known)."""

    dev: str = ""
    gateway: str = ""
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class SwitchIn:
    name: str
    mode: str
    active: bool
    ipv4: str = ""
    ipv6: str = ""
    bridge: str = ""
    forward_dev: str = ""


@dataclass(frozen=True)
class NicIn:
    mac: str
    network: str  # the host's switch it is on, "" for none
    addresses: tuple[str, ...] = ()
    link_up: bool = True
    source: str = ""


@dataclass(frozen=True)
class GuestIn:
    name: str
    state: str
    nics: tuple[NicIn, ...] = ()
    version: str = ""  # of its NICs (networks.stale.nics), sent back with a change from here
    forwards: int = 0  # port forwards of its switches that reach it (a marker on it)

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")


@dataclass(frozen=True)
class Pending:
    """A NIC job still queued or running: a NIC going to `network`, or `mac` leaving."""

    guest: str
    network: str = ""
    mac: str = ""
    job: int = 0


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def data(self) -> str:
        """The box as "x y w h", for the script that draws lines between boxes."""
        return f"{self.x} {self.y} {self.w} {self.h}"

    @property
    def at(self) -> str:
        return f"translate({self.x},{self.y})"


@dataclass
class SwitchNode:
    switch: SwitchIn
    box: Box
    mode_label: str
    way_label: str  # "NAT via eth0", "no way out", "host bridge br0"
    to_uplink: bool  # a line up to the uplink's bus
    isolated: bool
    hanging: int = 0  # guests hung under it

    @property
    def drop(self) -> str:
        """The line from the row's bus down to the switch."""
        return f"M{self.box.cx},{self.box.y - BUS_DROP} V{self.box.y}"


@dataclass
class GuestNode:
    guest: GuestIn
    box: Box
    home: NicIn | None  # the NIC it hangs under its switch by; None: in the tray
    addresses: tuple[str, ...] = ()  # its home NIC's first
    off_switch: tuple[NicIn, ...] = ()  # NICs on nothing drawn here (a bridge of the host, say)
    # Its NICs' lines, drawn right after it: the keyboard reaches them next to their guest.
    edges: list["Edge"] = field(default_factory=list)

    @property
    def in_tray(self) -> bool:
        return self.home is None


@dataclass
class Edge:
    kind: str  # "port": to the switch it hangs under; "extra": another NIC; "pending": a job's
    guest: str
    network: str
    d: str
    mac: str = ""
    link_up: bool = True
    leaving: bool = False  # a job takes this NIC away
    addresses: tuple[str, ...] = ()
    job: int = 0


@dataclass
class Layout:
    width: int
    height: int
    uplink: Uplink
    uplink_box: Box
    backbone: str  # the trunk down from the uplink and each row's bus ("" when none)
    switches: list[SwitchNode] = field(default_factory=list)
    guests: list[GuestNode] = field(default_factory=list)
    tray: Box | None = None
    switch_size: tuple[int, int] = (SWITCH_W, SWITCH_H)
    guest_size: tuple[int, int] = (GUEST_W, GUEST_H)

    @property
    def edges(self) -> list[Edge]:
        return [edge for node in self.guests for edge in node.edges]

    @property
    def busy(self) -> bool:
        """Whether a NIC job is in progress (its end must not be missed)."""
        return any(edge.kind == "pending" or edge.leaving for edge in self.edges)


def uplink_of(interfaces: list[dict], routes: list[dict]) -> Uplink:
    """The default route's device and its addresses (IPv4's route first, else IPv6's)."""
    defaults = {route.get("dst"): route for route in routes or [] if isinstance(route, dict)}
    route = defaults.get("0.0.0.0/0") or defaults.get("default") or defaults.get("::/0")
    if not route or not route.get("dev"):
        return Uplink()
    link = next((i for i in interfaces or [] if i.get("name") == route["dev"]), {})
    return Uplink(route["dev"], route.get("gateway") or "", tuple(link.get("addresses") or ()))


def useful_address(text: str) -> bool:
    """Not link-local or loopback: what a guest agent reports beside the addresses that matter."""
    try:
        address = ipaddress.ip_interface(text).ip
    except ValueError:
        return False
    return not (address.is_link_local or address.is_loopback)


def nics_of(nics: list[dict], leases: dict[tuple[str, str], list[str]]) -> tuple[NicIn, ...]:
    """A Guest row's NICs with their addresses: the leases of their switch for their MAC
    (`leases` by (network, lower-case MAC)), then what the guest agent adds."""
    found = []
    for nic in nics or []:
        mac, network = (nic.get("mac") or "").lower(), nic.get("network") or ""
        addresses = list(leases.get((network, mac), ()))
        known = {a.split("/")[0] for a in addresses}
        for address in nic.get("agent") or ():
            if useful_address(address) and address.split("/")[0] not in known:
                addresses.append(address)
                known.add(address.split("/")[0])
        link_up = nic.get("link", "up") != "down"
        found.append(NicIn(mac, network, tuple(addresses), link_up, nic.get("source") or ""))
    return tuple(found)


def forwards_to(nics: tuple[NicIn, ...], counted: dict[tuple[str, str], int]) -> int:
    """How many port forwards reach a guest by its NICs: `counted` by (switch, lower-case MAC),
    or by (switch, address) for a forward that knew no MAC (networks.models.PortForward)."""
    total = 0
    for nic in nics:
        total += counted.get((nic.network, nic.mac), 0)
        total += sum(counted.get((nic.network, a.split("/")[0]), 0) for a in nic.addresses)
    return total


def _same_link(a: str, b: str, masters: dict[str, str]) -> bool:
    return bool(a and b) and (a == b or masters.get(a) == b or masters.get(b) == a)


def way_out(switch: SwitchIn, uplink: Uplink, masters: dict[str, str]) -> tuple[str, bool]:
    """What a switch's line to the uplink says, and whether it has one (modes.Mode.uplink)."""
    mode = modes.of(switch.mode)
    if mode.uplink == "forwarded":
        dev = switch.forward_dev or uplink.dev
        return (f"{mode.way} via {dev}" if dev else mode.way), True
    if mode.uplink in ("open", "none"):
        return mode.way, mode.uplink == "open"
    # Host bridge, macvtap and the like hang off a device of the host: the uplink or another.
    on_bridge = mode.attaches == "bridge"
    device = switch.bridge if on_bridge else switch.forward_dev
    label = mode.drawn_label.lower()
    if not device:
        return label, False
    label = f"{label} {device}" if on_bridge else f"{label} on {device}"
    return label, _same_link(device, uplink.dev, masters)


def curve(guest: Box, switch: Box) -> str:
    """A NIC's line from a guest to a switch it does not hang under: out of the guest's side
    towards the switch, into the switch's near side (its right side when in the same column)."""
    if switch.cx > guest.right:
        x1, y1, x2, bend1, bend2 = guest.right, guest.cy, switch.x, BEND, -BEND
    elif switch.cx < guest.x:
        x1, y1, x2, bend1, bend2 = guest.x, guest.y + 10, switch.right, -BEND, BEND
    else:
        x1, y1, x2, bend1, bend2 = guest.right, guest.cy, switch.right, BEND, BEND
    y2 = switch.cy
    return f"M{x1},{y1} C{x1 + bend1},{y1} {x2 + bend2},{y2} {x2},{y2}"


def _home(guest: GuestIn, names: Container[str]) -> NicIn | None:
    """The NIC a guest hangs under: its first on a switch drawn here."""
    return next((nic for nic in guest.nics if nic.network in names), None)


def layout(
    uplink: Uplink,
    switches: Sequence[SwitchIn],
    guests: Sequence[GuestIn],
    pending: Sequence[Pending] = (),
    interfaces: Sequence[dict] = (),
) -> Layout:
    """Every box and line of the drawing. `pending`: the host's NIC jobs in progress;
    `interfaces`: the host's links (which bridge each belongs to), as Host.interfaces holds them."""
    switches = sorted(switches, key=lambda s: s.name)
    under: dict[str, list[GuestIn]] = {s.name: [] for s in switches}
    tray: list[GuestIn] = []
    for guest in sorted(guests, key=lambda g: g.name):
        home = _home(guest, under)
        (under[home.network] if home else tray).append(guest)
    columns = max(1, min(MAX_COLUMNS, len(switches) or len(guests)))
    width = max(COL_X0 + columns * PITCH_X - (PITCH_X - SWITCH_W) + MARGIN, UPLINK_W + 2 * MARGIN)
    out = Layout(width, 0, uplink, Box(MARGIN, MARGIN, UPLINK_W, UPLINK_H), "")
    masters = {i.get("name"): i.get("master") or "" for i in interfaces or []}
    y = _place_switches(out, switches, under, columns, masters)
    if tray:
        y = _place_tray(out, tray, columns, y)
    out.height = y - ROW_GAP + MARGIN
    _other_lines(out, {node.switch.name: node.box for node in out.switches}, pending)
    return out


def _place_switches(
    out: Layout,
    switches: list[SwitchIn],
    under: dict[str, list[GuestIn]],
    columns: int,
    masters: dict[str, str],
) -> int:
    """Rows of `columns` switches, each under a bus from the uplink's trunk (drawn as far as the
    last switch of the row that reaches the uplink); returns where the next part starts."""
    backbone, trunk_end = [], 0
    y = MARGIN + UPLINK_H + 20
    if not switches:
        return y + NOTE_H  # room to say there are none
    for start in range(0, len(switches), columns):
        row = switches[start : start + columns]
        bus_end = 0
        for column, switch in enumerate(row):
            box = Box(COL_X0 + column * PITCH_X, y + BUS_DROP, SWITCH_W, SWITCH_H)
            label, to_uplink = way_out(switch, out.uplink, masters)
            mode = modes.of(switch.mode)
            mode_label, isolated = mode.drawn_label, mode.uplink == "none"
            hanging = len(under[switch.name])
            node = SwitchNode(switch, box, mode_label, label, to_uplink, isolated, hanging)
            out.switches.append(node)
            bus_end = box.cx if to_uplink else bus_end
            _hang(out, box, under[switch.name], switch.name)
        if bus_end:
            backbone.append(f"M{TRUNK_X},{y} H{bus_end}")
            trunk_end = y
        deepest = max(len(under[s.name]) for s in row)
        y += BUS_DROP + SWITCH_H + (GUEST_TOP + deepest * GUEST_PITCH if deepest else 0) + ROW_GAP
    if trunk_end:
        backbone.insert(0, f"M{TRUNK_X},{MARGIN + UPLINK_H} V{trunk_end}")
    out.backbone = " ".join(backbone)
    return y


def _place_tray(out: Layout, tray: list[GuestIn], columns: int, y: int) -> int:
    """The guests on no switch, in rows at the bottom, where they can be picked up."""
    rows = -(-len(tray) // columns)
    out.tray = Box(MARGIN, y, out.width - 2 * MARGIN, TRAY_HEAD + rows * GUEST_PITCH)
    for i, guest in enumerate(tray):
        x = COL_X0 + (i % columns) * PITCH_X + GUEST_INDENT
        box = Box(x, y + TRAY_HEAD + (i // columns) * GUEST_PITCH, GUEST_W, GUEST_H)
        out.guests.append(_guest_node(guest, box, None))
    return out.tray.bottom + ROW_GAP


def _guest_node(guest: GuestIn, box: Box, home: NicIn | None) -> GuestNode:
    nics = ([home] if home else []) + [nic for nic in guest.nics if nic is not home]
    addresses = tuple(dict.fromkeys(a for nic in nics for a in nic.addresses))
    return GuestNode(guest, box, home, addresses)


def _hang(out: Layout, switch: Box, guests: list[GuestIn], name: str) -> None:
    """A switch's guests stacked under it, each NIC's line a piece of the line down its left."""
    spine, above = switch.x + 10, switch.bottom
    for i, guest in enumerate(guests):
        y = switch.bottom + GUEST_TOP + i * GUEST_PITCH
        box = Box(switch.x + GUEST_INDENT, y, GUEST_W, GUEST_H)
        home = _home(guest, {name})
        node = _guest_node(guest, box, home)
        d = f"M{spine},{above} V{box.cy} H{box.x}"
        node.edges.append(Edge("port", guest.name, name, d, home.mac, home.link_up))
        node.edges[-1].addresses = home.addresses
        out.guests.append(node)
        above = box.cy


def _other_lines(out: Layout, boxes: dict[str, Box], pending: Sequence[Pending]) -> None:
    """Lines for every other NIC on a switch, and for the NIC jobs still in progress."""
    leaving = {(job.guest, job.mac.lower()) for job in pending if job.mac}
    for node in out.guests:
        name = node.guest.name
        node.off_switch = tuple(nic for nic in node.guest.nics if nic.network not in boxes)
        for nic in node.guest.nics:
            if nic is not node.home and nic.network in boxes:
                d = curve(node.box, boxes[nic.network])
                node.edges.append(Edge("extra", name, nic.network, d, nic.mac, nic.link_up))
                node.edges[-1].addresses = nic.addresses
        for edge in node.edges:
            edge.leaving = (name, edge.mac) in leaving
        for job in pending:
            if job.guest == name and job.network in boxes:
                d = curve(node.box, boxes[job.network])
                node.edges.append(Edge("pending", name, job.network, d, job=job.job))
