"""A host's topology: the layout (networks.topology)."""

from networks import topology
from networks.topology import GuestIn, NicIn, Pending, SwitchIn, Uplink

ETH0 = Uplink("eth0", "192.168.1.1", ("192.168.1.10/24",))


def nic(network: str, mac: str = "52:54:00:00:00:01", **fields) -> dict:
    """A NIC as the worker writes it into Guest.nics."""
    return {
        "mac": mac,
        "type": "network",
        "source": network,
        "network": network,
        "model": "virtio",
        "device": "vnet0",
        "link": "up",
        "agent": [],
        "config": True,
        **fields,
    }


def edges(drawn: topology.Layout, guest: str) -> list[topology.Edge]:
    return [edge for edge in drawn.edges if edge.guest == guest]


def switch_node(drawn: topology.Layout, name: str) -> topology.SwitchNode:
    return next(node for node in drawn.switches if node.switch.name == name)


def guest_node(drawn: topology.Layout, name: str) -> topology.GuestNode:
    return next(node for node in drawn.guests if node.guest.name == name)


# --- the layout -------------------------------------------------------------------------------


def test_the_uplink_is_the_default_routes_device_with_its_addresses():
    interfaces = [
        {"name": "lo", "addresses": ["127.0.0.1/8"]},
        {"name": "eth0", "addresses": ["192.168.1.10/24"], "master": ""},
    ]
    routes = [
        {"dst": "192.168.1.0/24", "gateway": "", "dev": "eth0"},
        {"dst": "0.0.0.0/0", "gateway": "192.168.1.1", "dev": "eth0"},
    ]
    assert topology.uplink_of(interfaces, routes) == ETH0
    assert topology.uplink_of([], []) == Uplink()  # not known yet


def test_an_isolated_switch_has_no_line_to_the_uplink_and_says_so():
    drawn = topology.layout(ETH0, [SwitchIn("lab", "isolated", True)], [])
    node = switch_node(drawn, "lab")
    assert not node.to_uplink
    assert node.way_label == "no way out"
    assert drawn.backbone == ""  # no bus drawn for a row with no way out


def test_a_nat_switch_reaches_the_uplink_through_its_forward_device_or_else_the_uplink():
    drawn = topology.layout(
        ETH0,
        [SwitchIn("default", "nat", True), SwitchIn("wan2", "nat", True, forward_dev="eth1")],
        [],
    )
    assert switch_node(drawn, "default").to_uplink
    assert switch_node(drawn, "default").way_label == "NAT via eth0"
    assert switch_node(drawn, "wan2").way_label == "NAT via eth1"
    assert drawn.backbone  # the trunk and the row's bus


def test_routed_open_and_host_bridge_switches_say_how_they_are_attached():
    interfaces = [{"name": "eth0", "master": "br0"}, {"name": "br0", "master": ""}]
    uplink = Uplink("br0")
    drawn = topology.layout(
        uplink,
        [
            SwitchIn("r", "route", True),
            SwitchIn("o", "open", True),
            SwitchIn("b", "bridge", True, bridge="br0"),
            SwitchIn("b2", "bridge", True, bridge="br9"),
            SwitchIn("m", "macvtap", True, forward_dev="eth0"),
        ],
        [],
        interfaces=interfaces,
    )
    assert switch_node(drawn, "r").way_label == "routed via br0"
    assert switch_node(drawn, "o").way_label == "open"
    assert (switch_node(drawn, "b").way_label, switch_node(drawn, "b").to_uplink) == (
        "host bridge br0",
        True,
    )
    # br9 is not the uplink: attached to its own bridge, no line to the uplink.
    assert (switch_node(drawn, "b2").way_label, switch_node(drawn, "b2").to_uplink) == (
        "host bridge br9",
        False,
    )
    # eth0 is a port of the uplink's bridge br0.
    assert switch_node(drawn, "m").way_label == "macvtap on eth0"
    assert switch_node(drawn, "m").to_uplink


def test_a_guest_with_nics_on_two_switches_hangs_under_the_first_and_has_a_line_to_each():
    guest = GuestIn(
        "web", "running", (NicIn("52:54:00:00:00:01", "b"), NicIn("52:54:00:00:00:02", "a"))
    )
    drawn = topology.layout(
        ETH0, [SwitchIn("a", "nat", True), SwitchIn("b", "isolated", True)], [guest]
    )
    lines = edges(drawn, "web")
    assert [(e.kind, e.network, e.mac) for e in lines] == [
        ("port", "b", "52:54:00:00:00:01"),
        ("extra", "a", "52:54:00:00:00:02"),
    ]
    node = guest_node(drawn, "web")
    assert not node.in_tray
    assert node.box.x > switch_node(drawn, "b").box.x  # under b, not a
    assert node.box.y > switch_node(drawn, "b").box.bottom


def test_guests_on_no_switch_sit_in_the_tray_with_their_other_nics_noted():
    guests = [
        GuestIn("idle", "shut off"),
        GuestIn("bridged", "running", (NicIn("52:54:00:00:00:09", "", source="br7"),)),
        GuestIn("on", "running", (NicIn("52:54:00:00:00:01", "lab"),)),
    ]
    drawn = topology.layout(ETH0, [SwitchIn("lab", "nat", True)], guests)
    assert {g.guest.name for g in drawn.guests if g.in_tray} == {"idle", "bridged"}
    assert guest_node(drawn, "bridged").off_switch[0].source == "br7"
    assert drawn.tray is not None
    assert all(drawn.tray.y < g.box.y < drawn.tray.bottom for g in drawn.guests if g.in_tray)
    assert edges(drawn, "idle") == []


def test_positions_depend_only_on_names_so_a_refresh_does_not_move_things():
    switches = [SwitchIn(f"s{i:02d}", "nat", True) for i in range(20)]
    guests = [
        GuestIn(f"g{i:03d}", "running", (NicIn(f"m{i}", f"s{i % 20:02d}"),)) for i in range(60)
    ]
    first = topology.layout(ETH0, switches, guests)
    again = topology.layout(ETH0, list(reversed(switches)), list(reversed(guests)))
    assert [(s.switch.name, s.box) for s in first.switches] == [
        (s.switch.name, s.box) for s in again.switches
    ]
    assert {g.guest.name: g.box for g in first.guests} == {
        g.guest.name: g.box for g in again.guests
    }


def test_fifty_switches_go_in_rows_that_do_not_overlap():
    switches = [SwitchIn(f"s{i:02d}", "nat", True) for i in range(50)]
    guests = [
        GuestIn(f"g{i:03d}", "running", (NicIn(f"m{i}", f"s{i % 50:02d}"),)) for i in range(200)
    ]
    drawn = topology.layout(ETH0, switches, guests)
    boxes = [n.box for n in drawn.switches] + [n.box for n in drawn.guests]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
    assert max(box.right for box in boxes) <= drawn.width
    assert max(box.bottom for box in boxes) <= drawn.height
    assert len({n.box.x for n in drawn.switches}) == topology.MAX_COLUMNS


def test_a_nic_job_in_progress_is_a_pending_line_and_a_leaving_nic_is_marked():
    guest = GuestIn("web", "running", (NicIn("52:54:00:00:00:01", "a"),))
    pending = [Pending("web", "b", job=7), Pending("web", mac="52:54:00:00:00:01", job=8)]
    drawn = topology.layout(
        ETH0, [SwitchIn("a", "nat", True), SwitchIn("b", "nat", True)], [guest], pending
    )
    [port, coming] = edges(drawn, "web")
    assert port.leaving
    assert (coming.kind, coming.network, coming.job) == ("pending", "b", 7)
    assert drawn.busy


def test_a_nics_addresses_are_its_switchs_leases_for_its_mac_then_the_agents():
    leases = {("lab", "52:54:00:aa:bb:cc"): ["10.0.0.5/24"], ("other", "52:54:00:aa:bb:cc"): ["x"]}
    agent = ["10.0.0.5/24", "fe80::1/64", "127.0.0.1/8", "fd00::5/64"]
    [found] = topology.nics_of([nic("lab", "52:54:00:AA:BB:CC", agent=agent, link="down")], leases)
    assert found.addresses == ("10.0.0.5/24", "fd00::5/64")
    assert found.mac == "52:54:00:aa:bb:cc"
    assert not found.link_up
