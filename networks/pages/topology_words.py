"""The topology in words: the names a screen reader gives each switch and guest of the drawing,
and the rows of its table view. Both come from the one layout (networks.pages.topology), so
the drawing, its names and the table cannot tell different stories.
"""

from dataclasses import dataclass

from networks.pages.topology import GuestNode, Layout, SwitchNode


@dataclass(frozen=True)
class NicRow:
    """One NIC of a guest as the table shows it (a job's NIC still coming has no MAC yet)."""

    mac: str
    switch: str  # "" for a NIC on nothing drawn here
    addresses: tuple[str, ...] = ()
    link_up: bool = True
    note: str = ""  # "being disconnected", "connecting (job 5)", "host bridge br0"…


def switch_state(node: SwitchNode) -> str:
    return "active" if node.switch.active else "inactive"


def switch_addresses(node: SwitchNode) -> tuple[str, ...]:
    n = node.switch
    return tuple(a for a in (n.ipv4, n.ipv6) if a) + ((f"bridge {n.bridge}",) if n.bridge else ())


def switch_name(node: SwitchNode) -> str:
    """ "Switch lan: NAT, active, 10.0.0.1/24, bridge virbr1, NAT via eth0, 2 guests": the words
    drawn inside it first and in their order (a name holds what is seen, WCAG 2.5.3)."""
    n = node.switch
    guests = f"{node.hanging} guest{'' if node.hanging == 1 else 's'}"
    addresses = switch_addresses(node) if n.ipv4 else ("no IPv4", *switch_addresses(node))
    parts = (node.mode_label, switch_state(node), *addresses, node.way_label, guests)
    return f"Switch {n.name}: " + ", ".join(parts)


def nic_rows(node: GuestNode) -> list[NicRow]:
    """Its NICs in the drawing's order (the one it hangs by first), then those on nothing drawn
    here, then the NICs jobs are still bringing."""
    rows = [
        NicRow(e.mac, e.network, e.addresses, e.link_up, "being disconnected" if e.leaving else "")
        for e in node.edges
        if e.kind != "pending"
    ]
    rows += [
        NicRow(nic.mac, "", nic.addresses, nic.link_up, nic.source and f"on {nic.source}")
        for nic in node.off_switch
    ]
    rows += [
        NicRow("", e.network, note=f"connecting (job {e.job})")
        for e in node.edges
        if e.kind == "pending"
    ]
    return rows


def _nic_words(row: NicRow) -> str:
    words = f"NIC {row.mac}" if row.mac else "a new NIC"
    words += f" on {row.switch}" if row.switch else " on no switch here"
    extra = [*row.addresses, *(() if row.link_up else ("link down",)), *filter(None, [row.note])]
    return words + (f" ({', '.join(extra)})" if extra else "")


def guest_sub(node: GuestNode) -> str:
    """The line drawn under its name: its state and addresses (the drawing cuts it short)."""
    return (
        " · ".join((node.guest.state, ", ".join(node.addresses)))
        if node.addresses
        else node.guest.state
    )


def forwards(node: GuestNode) -> str:
    """ "2 port forwards": what its marker stands for ("" without one)."""
    count = node.guest.forwards
    return f"{count} port forward{'' if count == 1 else 's'}" if count else ""


def guest_name(node: GuestNode) -> str:
    """ "Guest web: running, 10.0.0.5/24; NIC 52:54:00:00:00:01 on lan (10.0.0.5/24)": what is
    drawn inside it first, as for a switch."""
    head = ", ".join((node.guest.state, *node.addresses))
    if node.in_tray:
        head += ", not connected to any switch"
    if node.guest.forwards:
        head += f", reached by {forwards(node)}"
    nics = [_nic_words(row) for row in nic_rows(node)] or ["no NIC"]
    return f"Guest {node.guest.name}: {head}; " + "; ".join(nics)


def uplink_words(drawn: Layout) -> str:
    """ "uplink eth0 (192.168.1.10/24, default via 192.168.1.1)"."""
    u = drawn.uplink
    if not u.dev:
        return "uplink not known"
    gateway = (f"default via {u.gateway}",) if u.gateway else ()
    return f"uplink {u.dev} ({', '.join((*u.addresses, *gateway)) or 'no address known'})"


def drawing_name(host: str, drawn: Layout) -> str:
    """The drawing as a whole: where it leads and what it holds."""
    counts = f"{len(drawn.switches)} switches, {len(drawn.guests)} guests"
    return f"Topology of {host}: {uplink_words(drawn)}, {counts}"
