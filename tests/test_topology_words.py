"""The topology in words (networks.pages.topology_words): the names screen readers give the
drawing's switches and guests, no interactive element inside another, and the table view of the
same layout (`?view=table`), which needs no script."""

import re

import pytest
from django.urls import reverse

from networks.models import Guest, Job
from networks.pages import topology, topology_words
from networks.pages.topology import GuestIn, NicIn, Pending, SwitchIn, Uplink
from tests.test_topology import make_lab

ETH0 = Uplink("eth0", "192.168.1.1", ("192.168.1.10/24",))
LAN = SwitchIn("lan", "nat", True, ipv4="10.0.0.1/24", bridge="virbr1")
QUIET = SwitchIn("quiet", "isolated", False, ipv4="10.9.0.1/24")


def drawn_lab() -> topology.Layout:
    guests = [
        GuestIn(
            "web",
            "running",
            (
                NicIn("52:54:00:00:00:01", "lan", ("10.0.0.5/24",)),
                NicIn("52:54:00:00:00:02", "quiet", link_up=False),
                NicIn("52:54:00:00:00:03", "", source="br7"),
            ),
        ),
        GuestIn("spare vm", "shut off"),
    ]
    pending = [Pending("spare vm", "quiet", job=7), Pending("web", mac="52:54:00:00:00:01", job=8)]
    return topology.layout(ETH0, [QUIET, LAN], guests, pending)


def test_a_switch_is_named_with_its_mode_state_way_out_addresses_and_guests():
    drawn = drawn_lab()
    lan, quiet = drawn.switches[0], drawn.switches[1]
    assert topology_words.switch_name(lan) == (
        "Switch lan: NAT, active, 10.0.0.1/24, bridge virbr1, NAT via eth0, 1 guest"
    )
    assert topology_words.switch_name(quiet) == (
        "Switch quiet: Isolated, inactive, 10.9.0.1/24, no way out, 0 guests"
    )


def test_a_guest_is_named_with_its_state_addresses_and_each_nic_with_what_happens_to_it():
    drawn = drawn_lab()
    web, spare = drawn.guests
    assert topology_words.guest_name(web) == (
        "Guest web: running, 10.0.0.5/24; "
        "NIC 52:54:00:00:00:01 on lan (10.0.0.5/24, being disconnected); "
        "NIC 52:54:00:00:00:02 on quiet (link down); "
        "NIC 52:54:00:00:00:03 on no switch here (on br7)"
    )
    assert topology_words.guest_name(spare) == (
        "Guest spare vm: shut off, not connected to any switch; "
        "a new NIC on quiet (connecting (job 7))"
    )
    lonely = topology.layout(ETH0, [LAN], [GuestIn("lonely", "running")]).guests[0]
    assert topology_words.guest_name(lonely).endswith("not connected to any switch; no NIC")


def test_the_drawing_is_named_with_its_uplink_and_how_much_it_holds():
    assert topology_words.drawing_name("kvm-1", drawn_lab()) == (
        "Topology of kvm-1: uplink eth0 (192.168.1.10/24, default via 192.168.1.1), "
        "2 switches, 2 guests"
    )
    empty = topology.layout(Uplink(), [], [])
    assert topology_words.drawing_name("kvm-1", empty) == (
        "Topology of kvm-1: uplink not known, 0 switches, 0 guests"
    )


# --- the page ----------------------------------------------------------------------------------


@pytest.fixture
def lab(test_host, make_network) -> dict:
    return make_lab(test_host, make_network)


def page(client, host, view: str = "") -> str:
    url = reverse("host-topology", args=[host.name]) + (f"?view={view}" if view else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_each_switch_and_guest_is_a_named_button_with_no_link_or_control_inside(
    lab, viewer, client_as
):
    html = page(client_as(viewer), lab["host"])
    buttons = re.findall(r'<g ([^>]*role="button"[^>]*)>(.*?)</g>', html)
    labels = [re.search(r"<title>([^<]*)</title>$", inside).group(1) for _, inside in buttons]
    assert labels == [
        "Switch lan: NAT, active, 10.0.0.1/24, bridge br-lan, NAT via eth0, 1 guest",
        "Switch quiet: Isolated, inactive, 10.9.0.1/24, bridge br-quiet, no way out, 0 guests",
        "Guest web: running, 10.0.0.5/24; NIC 52:54:00:00:00:01 on lan (10.0.0.5/24); "
        "NIC 52:54:00:00:00:02 on quiet",
        "Guest spare vm: shut off, not connected to any switch; no NIC",
    ]
    for attrs, inside in buttons:
        assert 'tabindex="-1"' in attrs  # the script gives one of them the tab stop
        assert not re.search(r"<a\b|tabindex|role=", inside)
        assert "aria-label" not in attrs  # its <title> names it, once
    # Each one's page is a link of its own beside it, out of the tab order.
    link = f'<a class="page" data-switch="lan" href="{lab["nat"].get_absolute_url()}" tabindex="-1"'
    assert link in html
    assert html.count('<a class="page"') == 4 and html.count('tabindex="-1"') == 8
    assert 'aria-describedby="topo-keys"' in html and 'id="topo-keys"' in html


def test_the_drawing_and_the_table_link_to_each_other_and_say_which_is_shown(
    lab, viewer, client_as
):
    client = client_as(viewer)
    url = reverse("host-topology", args=[lab["host"].name])
    drawing, table = page(client, lab["host"]), page(client, lab["host"], "table")
    assert f'<a href="{url}" aria-current="page">Drawing</a>' in drawing
    assert f'<a href="{url}?view=table">Table</a>' in drawing
    assert f'<a href="{url}">Drawing</a>' in table
    assert f'<a href="{url}?view=table" aria-current="page">Table</a>' in table


def test_the_table_shows_the_drawings_switches_guests_nics_addresses_and_state_without_script(
    lab, viewer, client_as
):
    html = page(client_as(viewer), lab["host"], "table")
    assert "<svg" not in html and "topology.js" not in html
    assert "uplink eth0 (192.168.1.10/24, default via 192.168.1.1)" in html
    lan = re.search(r'<tr data-switch="lan">(.*?)</tr>', html).group(1)
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", lan)
    assert cells == [
        f'<a href="{lab["nat"].get_absolute_url()}">lan</a>',
        "NAT",
        '<span class="pill on">active</span>',
        "NAT via eth0",
        "10.0.0.1/24, bridge br-lan",
        "1",
    ]
    web = re.search(r'<tbody data-guest="web">(.*?)</tbody>', html, re.S).group(1)
    guest_url = reverse("guest-detail", args=["testdrv", "web"])
    assert f'<th scope="rowgroup" rowspan="2"><a href="{guest_url}">web</a></th>' in web
    assert "<code>52:54:00:00:00:01</code>" in web and "10.0.0.5/24" in web
    assert "<code>52:54:00:00:00:02</code>" in web
    spare = re.search(r'<tbody data-guest="spare vm">(.*?)</tbody>', html, re.S).group(1)
    assert "shut off" in spare and "no NIC" in spare


def test_the_table_follows_the_host_live_and_says_what_jobs_are_doing(lab, operator, client_as):
    Job.objects.create(
        username="x",
        host=lab["host"],
        guest=Guest.objects.get(name="spare vm"),
        network=lab["nat"],
        target="spare vm",
        operation="nic_attach",
    )
    part = reverse("host-topology-part", args=[lab["host"].name]) + "?view=table"
    html = client_as(operator).get(part).content.decode().strip()
    assert html.startswith(f'<div id="topo-live" class="topo-live topo-table" data-live="{part}"')
    assert "data-live-pending" in html and "<svg" not in html
    assert re.search(
        r"a new NIC</td><td><a [^>]*>lan</a></td><td></td><td></td>"
        r"<td>connecting \(job \d+\)</td>",
        html,
    )


def test_the_table_keeps_the_connect_form_for_an_operator_only(lab, operator, viewer, client_as):
    assert "topo-connect" in page(client_as(operator), lab["host"], "table")
    assert "topo-connect" not in page(client_as(viewer), lab["host"], "table")


def test_the_table_asks_the_database_as_often_as_the_drawing(
    lab, operator, client_as, django_assert_num_queries
):
    client = client_as(operator)
    # session, user, host, the user's role, its grants, networks, leases, port forwards,
    # guests, NIC jobs
    with django_assert_num_queries(10):
        page(client, lab["host"], "table")
