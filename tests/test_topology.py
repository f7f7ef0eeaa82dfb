"""A host's topology: the layout (networks.pages.topology) and its page, part and connect form."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from networks.models import Guest, Host, Job, Lease, Network, PortForward
from networks.pages import topology
from networks.pages.topology import GuestIn, NicIn, Pending, SwitchIn, Uplink

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


def make_guest(host: Host, name: str, *nics: dict, state: str = "running") -> Guest:
    return Guest.objects.create(
        host=host,
        name=name,
        uuid=uuid.uuid4(),
        state=state,
        nics=list(nics),
        last_seen=timezone.now(),
    )


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


def test_a_host_with_no_switch_has_room_to_say_so_above_its_tray():
    drawn = topology.layout(Uplink(), [], [GuestIn("idle", "shut off")])
    assert drawn.switches == [] and drawn.backbone == ""
    assert drawn.tray.y >= drawn.uplink_box.bottom + topology.NOTE_H


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


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture
def lab(test_host, make_network) -> dict:
    return make_lab(test_host, make_network)


def make_lab(test_host, make_network) -> dict:
    """An uplink, a NAT switch, an isolated one, a guest on both (with a lease), one on none."""
    test_host.interfaces = [{"name": "eth0", "kind": "device", "addresses": ["192.168.1.10/24"]}]
    test_host.routes = [{"dst": "0.0.0.0/0", "gateway": "192.168.1.1", "dev": "eth0"}]
    test_host.save()
    nat = make_network(test_host, "lan", mode="nat", active=True, ipv4="10.0.0.1/24")
    iso = make_network(test_host, "quiet", mode="isolated", active=False, ipv4="10.9.0.1/24")
    Lease.objects.create(network=nat, mac="52:54:00:00:00:01", ip="10.0.0.5", prefix=24)
    web = make_guest(
        test_host, "web", nic("lan", "52:54:00:00:00:01"), nic("quiet", "52:54:00:00:00:02")
    )
    spare = make_guest(test_host, "spare vm", state="shut off")
    return {"host": test_host, "nat": nat, "iso": iso, "web": web, "spare": spare}


def page_url(host: Host) -> str:
    return reverse("host-topology", args=[host.name])


def part_url(host: Host) -> str:
    return reverse("host-topology-part", args=[host.name])


def test_the_page_draws_the_uplink_switches_and_guests_with_their_addresses(lab, viewer, client_as):
    response = client_as(viewer).get(page_url(lab["host"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Uplink eth0" in html and "192.168.1.10/24" in html
    assert 'data-switch="lan"' in html and 'data-switch="quiet"' in html
    assert "NAT via eth0" in html and "no way out" in html
    assert "NAT · active" in html and "Isolated · inactive" in html
    assert "running · 10.0.0.5/24" in html
    assert "Not connected to any switch" in html
    assert f'href="{lab["nat"].get_absolute_url()}"' in html
    assert f'href="{reverse("guest-detail", args=["testdrv", "spare vm"])}"' in html
    assert 'data-live="' + part_url(lab["host"]) + '"' in html
    assert f'data-live-hosts="{lab["host"].pk}"' in html
    assert "vnetweb/topology.js" in html


def test_a_viewer_sees_the_drawing_without_anything_to_drag_connect_or_create(
    lab, viewer, client_as
):
    html = client_as(viewer).get(page_url(lab["host"])).content.decode()
    assert "data-edit" not in html
    assert 'tabindex="0"' not in html  # the script gives the drawing its one tab stop
    assert "topo-connect" not in html and "<select" not in html
    assert reverse("switch-create", args=["testdrv"]) not in html
    assert "drag a guest" not in html


def test_an_operator_can_drag_and_use_the_form_but_not_draw_a_switch(lab, operator, client_as):
    html = client_as(operator).get(page_url(lab["host"])).content.decode()
    assert "data-edit" in html
    attach = reverse("guest-nic-attach", args=["testdrv", "~name~"])
    assert f'data-attach="{attach}"' in html
    assert re.search(
        r'<g class="guest[^"]*" data-guest="web"[^>]*tabindex="-1" role="button"', html
    )
    # Its lines are for the mouse; the keyboard reaches them through their guest's actions.
    assert re.search(r'<g class="nic port" data-guest="web"[^>]*aria-hidden="true"', html)
    assert 'form class="filters topo-connect"' in html
    assert "<option>spare vm</option>" in html and "<option>quiet</option>" in html
    assert reverse("switch-create", args=["testdrv"]) not in html


def test_an_admin_also_sees_draw_a_new_switch(lab, admin, client_as):
    html = client_as(admin).get(page_url(lab["host"])).content.decode()
    create = reverse("switch-create", args=["testdrv"])
    assert f'href="{create}?from=topology" data-action="new-switch"' in html
    assert "data-edit" in html


def test_a_host_whose_routes_are_not_known_says_so_and_one_with_no_switch_too(
    test_host, viewer, client_as
):
    html = client_as(viewer).get(page_url(test_host)).content.decode()
    assert "Uplink not known" in html
    assert "No switch on this host yet." in html


def test_an_unknown_host_is_not_found(db, viewer, client_as):
    assert client_as(viewer).get(reverse("host-topology", args=["nope"])).status_code == 404
    assert client_as(viewer).get(reverse("host-topology-part", args=["nope"])).status_code == 404


def test_someone_without_a_role_does_not_see_the_host(lab, outsider, client_as):
    assert client_as(outsider).get(page_url(lab["host"])).status_code == 404


def test_the_part_is_just_the_live_element_with_the_svg(lab, viewer, client_as):
    response = client_as(viewer).get(part_url(lab["host"]), HTTP_HX_REQUEST="true")
    html = response.content.decode().strip()
    assert response.status_code == 200
    assert html.startswith('<div id="topo-live"') and html.endswith("</div>")
    assert html.count("<svg") == 1
    assert "<html" not in html and "topo-tools" not in html
    assert 'data-switch="lan"' in html


def test_a_nic_job_in_progress_is_drawn_dashed_and_the_part_asks_to_be_refreshed(
    lab, operator, client_as
):
    Job.objects.create(
        username="x",
        host=lab["host"],
        guest=lab["spare"],
        network=lab["nat"],
        target="spare vm",
        operation="nic_attach",
    )
    html = client_as(operator).get(part_url(lab["host"])).content.decode()
    assert re.search(r'<g class="nic pending" data-guest="spare vm" data-network="lan"', html)
    assert "data-live-pending" in html


def test_a_nic_leaving_is_marked_and_no_line_is_drawn_to_the_switch_it_leaves(
    lab, operator, client_as
):
    Job.objects.create(
        username="x",
        host=lab["host"],
        guest=lab["web"],
        network=lab["nat"],  # the detach view names the switch the NIC is on
        target="web",
        operation="nic_detach",
        params={"mac": "52:54:00:00:00:01"},
    )
    html = client_as(operator).get(part_url(lab["host"])).content.decode()
    assert re.search(r'<g class="nic port leaving" data-guest="web" data-network="lan"', html)
    assert 'class="nic pending"' not in html


def test_the_post_only_views_refuse_get_and_the_read_only_ones_refuse_post(lab, admin, client_as):
    client = client_as(admin)
    assert client.post(page_url(lab["host"])).status_code == 405
    assert client.post(part_url(lab["host"])).status_code == 405
    assert client.get(reverse("host-topology-connect", args=["testdrv"])).status_code == 405


def test_the_connect_form_hands_the_post_on_to_the_guests_attach_view(lab, operator, client_as):
    response = client_as(operator).post(
        reverse("host-topology-connect", args=["testdrv"]), {"guest": "spare vm", "network": "lan"}
    )
    assert response.status_code == 307  # the browser posts the same form there
    assert response["Location"] == reverse("guest-nic-attach", args=["testdrv", "spare vm"])


def test_without_javascript_the_connect_form_queues_the_attach_and_lands_on_the_guest(
    lab, operator, client_as
):
    response = client_as(operator).post(
        reverse("host-topology-connect", args=["testdrv"]),
        {"guest": "spare vm", "network": "lan"},
        follow=True,  # as a browser follows a 307: the same POST, on to the attach view
    )
    assert [status for _url, status in response.redirect_chain] == [307, 302]
    assert response.redirect_chain[-1][0] == lab["spare"].get_absolute_url()
    job = Job.objects.get(operation="nic_attach")
    assert (job.guest, job.network, job.params["network"]) == (lab["spare"], lab["nat"], "lan")


def test_the_connect_form_refuses_a_viewer_and_an_unknown_guest(lab, viewer, operator, client_as):
    url = reverse("host-topology-connect", args=["testdrv"])
    form = {"guest": "spare vm", "network": "lan"}
    assert client_as(viewer).post(url, form).status_code == 403
    assert client_as(operator).post(url, {**form, "guest": "ghost"}).status_code == 400


def _grow(host: Host, make_network, switches: int, guests: int) -> None:
    for i in range(switches):
        network = make_network(host, f"sw{i:02d}", active=i % 2 == 0, ipv4=f"10.{i}.0.1/24")
        Lease.objects.create(network=network, mac=f"52:54:00:01:{i:02x}:00", ip=f"10.{i}.0.9")
        PortForward.objects.create(
            network=network, host_port=8000 + i, host_port_end=8000 + i, guest_port=80,
            guest_ip=f"10.{i}.0.9", guest_mac=f"52:54:00:01:{i:02x}:00",
        )  # fmt: skip
    for i in range(guests):
        nics = [nic(f"sw{i % switches:02d}", f"52:54:00:01:{i % switches:02x}:{i // 256:02x}")]
        if i % 3 == 0:
            nics.append(nic(f"sw{(i + 1) % switches:02d}", f"52:54:00:02:{i:02x}:00"))
        make_guest(host, f"g{i:03d}", *nics)


def test_a_guest_reached_by_port_forwards_bears_a_marker(lab, viewer, client_as):
    nat, quiet = lab["nat"], lab["iso"]
    for port, mac, ip in ((8080, "52:54:00:00:00:01", "10.0.0.5"), (8443, "", "10.0.0.5")):
        PortForward.objects.create(
            network=nat, host_port=port, host_port_end=port, guest_port=80, guest_ip=ip,
            guest_mac=mac,
        )  # fmt: skip
    # Another guest's address on another switch reaches nobody drawn here.
    PortForward.objects.create(
        network=quiet, host_port=9000, host_port_end=9000, guest_port=80, guest_ip="10.9.0.5"
    )
    html = client_as(viewer).get(page_url(lab["host"])).content.decode()
    web = re.search(r'<g class="guest up" data-guest="web".*?</g>', html, re.S).group(0)
    assert '<text x="176" y="17" class="forwards" text-anchor="end">⇄ 2</text>' in web
    assert "Guest web: running, 10.0.0.5/24, reached by 2 port forwards;" in web
    spare = re.search(r'<g class="guest down in-tray" data-guest="spare vm".*?</g>', html, re.S)
    assert 'class="forwards"' not in spare.group(0)
    table = client_as(viewer).get(page_url(lab["host"]) + "?view=table").content.decode()
    assert '<span class="pill" data-forwards>2 port forwards</span>' in table


@pytest.mark.parametrize("size", [(2, 3), (30, 90)])
def test_the_page_asks_the_database_the_same_number_of_times_at_any_size(
    test_host, make_network, operator, client_as, django_assert_num_queries, size
):
    _grow(test_host, make_network, *size)
    Job.objects.create(
        username="x",
        host=test_host,
        guest=Guest.objects.first(),
        network=Network.objects.first(),
        operation="nic_attach",
    )
    client = client_as(operator)
    # session, user, host, the user's role, its grants, networks, leases, port forwards,
    # guests, NIC jobs
    with django_assert_num_queries(10):
        response = client.get(page_url(test_host))
    assert response.content.decode().count('<g class="guest') == size[1]
    with django_assert_num_queries(10):
        client.get(part_url(test_host))


def test_the_host_page_and_a_network_page_link_to_the_topology(lab, viewer, client_as):
    client, url = client_as(viewer), page_url(lab["host"])
    assert f'href="{url}"' in client.get(lab["host"].get_absolute_url()).content.decode()
    assert f'href="{url}"' in client.get(lab["nat"].get_absolute_url()).content.decode()
