"""A switch's port forwards on its page: the table, the form and its refusals in words, adding,
removing and putting them back as jobs, the health verdict's Fix, and who may do what.

Nothing here reaches libvirt or a firewall: an accepted form is a Job row with its params (the
worker's side is tested elsewhere); a refused one is the form with its errors and no job.
"""

import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from networks.models import Job, Lease, PortForward
from networks.operations import Op
from networks.spec import DhcpHost, DhcpRange, IpSpec, NetworkSpec, to_xml

# The clash and guest queries, and the views' reads, on PostgreSQL too (inet columns).
pytestmark = pytest.mark.postgres

HTMX = {"HTTP_HX_REQUEST": "true"}
WEB_MAC, DYN_MAC = "52:54:00:00:05:10", "52:54:00:00:05:20"
SIDE = {
    "addresses": ["192.168.1.5", "10.213.5.1"],
    "listening": [
        {"protocol": "tcp", "address": "0.0.0.0", "port": 22},
        {"protocol": "tcp", "address": "127.0.0.1", "port": 5432},  # loopback: not in the way
    ],
}
# What the survey writes for a running switch whose side this worker sees (networks.worker.survey).
SWITCH = {
    "local": True,
    "device": "virbr5",
    "link": None,
    "ports": [],
    "dnsmasq": {"expected": True, "pid": 4242},
    "firewall": [],
    "problems": [],
}


def spec(name: str, third: int, mode: str = "nat") -> NetworkSpec:
    return NetworkSpec(
        name=name,
        uuid=f"0b0e5c2a-4d1c-4a8e-9a53-3f1d2f3b4c{third:02d}",
        mode=mode,
        bridge=f"virbr{third}",
        ips=[
            IpSpec(
                address=f"10.213.{third}.1",
                prefix=24,
                dhcp_ranges=[DhcpRange(f"10.213.{third}.100", f"10.213.{third}.200")],
                dhcp_hosts=[DhcpHost(mac=WEB_MAC, name="web-res", ip=f"10.213.{third}.10")],
            )
        ],
    )


@pytest.fixture
def world(test_host, make_network):
    """A running NAT switch `lab` (guest web reserved at .10, guest dyn on a dynamic lease at
    .120), a second NAT switch `lab2` of the same host forwarding TCP 8080, and an isolated one."""
    test_host.side = SIDE
    test_host.save()

    def switch(name: str, third: int, mode: str = "nat", **fields):
        return make_network(
            test_host,
            name,
            active=True,
            mode=mode,
            bridge=f"virbr{third}",
            ipv4=f"10.213.{third}.1/24",
            xml=to_xml(spec(name, third, mode)),
            switch=SWITCH,
            switch_seen=timezone.now(),
            **fields,
        )

    lab = switch("lab", 5, guests=[{"domain": "web", "mac": WEB_MAC}])
    Lease.objects.create(network=lab, mac=DYN_MAC, ip="10.213.5.120", hostname="dyn")
    lab2 = switch("lab2", 6)
    PortForward.objects.create(
        network=lab2, protocol="tcp", host_port=8080, host_port_end=8080,
        guest_ip="10.213.6.10", guest_port=80, guest_name="web-res",
    )  # fmt: skip
    return {"lab": lab, "lab2": lab2, "isolated": switch("iso", 7, mode="isolated")}


def add_url(network) -> str:
    return reverse("forward-add", args=[network.host.name, network.name])


def part_url(network) -> str:
    return reverse("network-forwards", args=[network.host.name, network.name])


def remove_url(forward) -> str:
    network = forward.network
    return reverse("forward-remove", args=[network.host.name, network.name, forward.pk])


def apply_url(network) -> str:
    return reverse("forwards-apply", args=[network.host.name, network.name])


def wanted(**overrides) -> dict:
    """What the form posts for TCP 8081 of every address of the host to web's port 80."""
    data = {"protocol": "tcp", "host_port": "8081", "guest": "10.213.5.10", "guest_port": "80"}
    return {**data, **overrides}


def text(response) -> str:
    return response.content.decode()


def field_errors(response, field: str) -> str:
    """The errors drawn at one field of the form (which the field names by aria-describedby), as
    they read."""
    content = text(response)
    assert f'<div class="field has-error" data-field="{field}">' in content
    match = re.search(
        rf'<ul class="errorlist" id="forward-{field}_error">(.*?)</ul>', content, re.S
    )
    assert match, f"no error at {field}"
    return html.unescape(match.group(1))


def forward(network, port: int = 9000, **fields) -> PortForward:
    values = {"protocol": "tcp", "host_port": port, "host_port_end": port, "guest_port": 80}
    values |= {"guest_ip": "10.213.5.10", "guest_name": "web", "guest_mac": WEB_MAC}
    return PortForward.objects.create(network=network, **(values | fields))


def switch_with(network, forwards: list[dict], problems: list[dict] | None = None) -> None:
    """The survey's word on the switch: its forwards as the host's firewall holds them."""
    network.switch = {**SWITCH, "forwards": forwards, "problems": problems or []}
    network.save()


# --- what each role sees -------------------------------------------------------------------------


def test_an_operator_gets_the_form_with_the_switch_guests_by_name(world, operator, client_as):
    content = text(client_as(operator).get(world["lab"].get_absolute_url()))
    section = content[content.index('<section id="forwards"') :]
    assert '<h2 id="forwards-title">Port forwards</h2>' in section
    assert f'<form method="post" action="{add_url(world["lab"])}"' in section
    # Labelled fields, the guests by name with their address, reserved ones first.
    for label, field in (("Protocol", "protocol"), ("Host port", "host_port"), ("Guest", "guest")):
        assert f'<label for="forward-{field}">{label}:</label>' in section
    web = section.index('<option value="10.213.5.10">web (10.213.5.10, reserved)</option>')
    dyn = section.index('value="10.213.5.120">dyn (10.213.5.120, dynamic lease: make it')
    assert web < dyn
    assert "No port forwards on this switch." in section
    assert "data-error-summary" not in section


def test_a_viewer_sees_the_forwards_but_no_form_and_no_remove(world, viewer, client_as):
    row = forward(world["lab"])
    content = text(client_as(viewer).get(world["lab"].get_absolute_url()))
    assert f'<tr data-forward="{row.pk}">' in content
    assert "<code>*:9000</code>" in content and "<code>10.213.5.10:80</code>" in content
    assert add_url(world["lab"]) not in content
    assert remove_url(row) not in content and 'data-action="forward-remove"' not in content
    assert "Add a port forward" not in content


def test_a_switch_whose_traffic_does_not_pass_the_host_has_no_forwards(world, admin, client_as):
    content = text(client_as(admin).get(world["isolated"].get_absolute_url()))
    assert 'id="forwards"' not in content and "Port forwards" not in content


def test_a_host_seen_from_afar_explains_instead_of_a_form(world, operator, client_as):
    lab = world["lab"]
    lab.switch = {"local": False, "reason": "qemu+ssh://far/system is another machine"}
    lab.save()
    content = text(client_as(operator).get(lab.get_absolute_url()))
    assert add_url(lab) not in content
    assert "written into the firewall of testdrv by a worker running on that host" in content
    assert "qemu+ssh://far/system is another machine" in content


def test_a_host_whose_libvirt_writes_nftables_explains_instead_of_a_form(
    world, operator, client_as
):
    lab = world["lab"]
    lab.host.side = {**SIDE, "libvirt_nftables": True}
    lab.host.save()
    content = html.unescape(text(client_as(operator).get(lab.get_absolute_url())))
    assert add_url(lab) not in content and "Add a port forward" not in content
    assert "libvirt on testdrv writes its switches' firewall with nftables" in content
    assert 'set firewall_backend = "iptables" in /etc/libvirt/network.conf' in content


def test_a_stopped_switch_says_forwards_wait_for_it(world, operator, client_as):
    world["lab"].active = False
    world["lab"].switch = {}
    world["lab"].save()
    content = text(client_as(operator).get(world["lab"].get_absolute_url()))
    assert "lab is not running: forwards are added while it runs" in content
    assert add_url(world["lab"]) not in content


def test_the_table_says_which_forwards_are_in_place_and_their_connections(world, viewer, client_as):
    here, gone, new = (forward(world["lab"], port) for port in (9000, 9001, 9002))
    switch_with(
        world["lab"],
        [
            {"id": here.pk, "text": here.text, "in_place": True, "connections": 3},
            {"id": gone.pk, "text": gone.text, "in_place": False, "connections": 0},
        ],
    )
    content = text(client_as(viewer).get(part_url(world["lab"]), **HTMX))
    rows = dict(re.findall(r'<tr data-forward="(\d+)">(.*?)</tr>', content, re.S))
    assert '<span class="pill on">in place</span>' in rows[str(here.pk)]
    assert "<td>3</td>" in rows[str(here.pk)]
    assert '<span class="pill bad">missing</span>' in rows[str(gone.pk)]
    assert "not read yet" in rows[str(new.pk)], "added since the last survey"
    assert '<th scope="col">Protocol</th>' in content
    assert "3 port forwards" in content


# --- the form's refusals, in words, at their fields ----------------------------------------------

REFUSALS = [
    pytest.param(
        wanted(host_port="8080"),
        "host_port",
        "TCP port 8080 of the host is already forwarded by switch lab2 (TCP *:8080 -> web-res",
        id="clash-with-another-switch",
    ),
    pytest.param(
        wanted(host_port="20", host_port_end="25", guest_port="20"),
        "host_port",
        "The host itself listens on TCP port 22 (on 0.0.0.0)",
        id="a-port-the-host-listens-on",
    ),
    pytest.param(
        wanted(guest="10.213.9.9"),
        "guest",
        "10.213.9.9 is not in this switch's subnets; choose one of its guests.",
        id="not-in-the-switch",
    ),
    pytest.param(
        wanted(guest="10.213.5.77"),
        "guest",
        "No guest of lab has 10.213.5.77: neither a reservation nor a lease names it.",
        id="no-guest-there",
    ),
    pytest.param(
        wanted(guest="10.213.5.1"),
        "guest",
        "10.213.5.1 is the switch's own address on the host, not a guest.",
        id="the-switch-itself",
    ),
    pytest.param(
        wanted(host_port="8000", host_port_end="8009", guest_port_end="84"),
        "guest_port_end",
        "The guest's ports 80-84 are not as many as the host's 8000-8009",
        id="ranges-of-different-length",
    ),
    pytest.param(
        wanted(host_port="70000"),
        "host_port",
        "A port is a number from 1 to 65535.",
        id="port-high",
    ),
    pytest.param(
        wanted(guest_port="0"), "guest_port", "A port is a number from 1 to 65535.", id="port-zero"
    ),
    pytest.param(
        wanted(host_port_end="8000"),
        "host_port_end",
        "The range's last port must be from 8081 to 65535.",
        id="range-backwards",
    ),
    pytest.param(
        wanted(listen="192.168.1.99"),
        "listen",
        "192.168.1.99 is not an address of testdrv (it has 192.168.1.5, 10.213.5.1).",
        id="not-an-address-of-the-host",
    ),
    pytest.param(wanted(listen="web"), "listen", "'web' is not an IPv4", id="listen-words"),
    pytest.param(
        wanted(host_port="eighty"), "host_port", "Enter a whole number.", id="not-a-number"
    ),
    pytest.param(wanted(protocol="sctp"), "protocol", "Select a valid choice.", id="protocol"),
    pytest.param(wanted(guest=""), "guest", "This field is required.", id="no-guest"),
]


@pytest.mark.parametrize(("data", "field", "words"), REFUSALS)
def test_a_refused_forward_says_why_at_its_field_and_queues_nothing(
    world, operator, client_as, data, field, words
):
    response = client_as(operator).post(add_url(world["lab"]), data, **HTMX)
    assert response.status_code == 422
    assert words in field_errors(response, field)
    assert f'<a href="#forward-{field}">' in text(response), "listed in the error summary"
    assert not Job.objects.exists()


def test_a_guest_with_only_a_dynamic_lease_is_offered_make_permanent(world, operator, client_as):
    lab = world["lab"]
    response = client_as(operator).post(add_url(lab), wanted(guest="10.213.5.120"), **HTMX)
    assert response.status_code == 422
    assert "make the lease permanent first" in field_errors(response, "guest")
    offer = re.search(r"<div class=\"notice\" data-pin-first.*?</div>", text(response), re.S)
    assert offer, "the lease table's Make permanent, beside the refusal"
    pin = reverse("lease-pin", args=[lab.host.name, lab.name])
    assert 'hx-target="#net-leases"' in offer.group(0), "it answers with the lease part"
    assert f'<form method="post" action="{pin}" hx-post="{pin}"' in offer.group(0)
    assert f'<input type="hidden" name="mac" value="{DYN_MAC}">' in offer.group(0)
    assert '<input type="hidden" name="ip" value="10.213.5.120">' in offer.group(0)
    assert 'data-action="pin-lease"' in offer.group(0)
    assert not Job.objects.exists()


def test_a_reserved_guest_is_not_offered_make_permanent(world, operator, client_as):
    response = client_as(operator).post(add_url(world["lab"]), wanted(host_port="8080"), **HTMX)
    assert response.status_code == 422
    assert "data-pin-first" not in text(response)


@pytest.mark.parametrize(
    ("name", "switch", "side", "words"),
    [
        ("iso", None, None, "iso's mode is Isolated: port forwards need a NAT or routed switch"),
        ("lab", {"local": False, "reason": "far away"}, None, "by a worker running on that host"),
        ("lab", None, {"libvirt_nftables": True}, "writes its switches' firewall with nftables"),
    ],
)
def test_a_switch_that_cannot_have_forwards_refuses_the_whole_form(
    world, admin, client_as, name, switch, side, words
):
    network = world["isolated"] if name == "iso" else world["lab"]
    if switch is not None:
        network.switch = switch
        network.save()
    if side is not None:
        network.host.side = {**SIDE, **side}
        network.host.save()
    response = client_as(admin).post(add_url(network), wanted(guest="10.213.5.10"), **HTMX)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', text(response), re.S).group(0)
    assert words in html.unescape(summary)
    assert not Job.objects.exists()


def test_a_refused_form_without_javascript_comes_back_on_a_page_of_its_own(
    world, operator, client_as
):
    response = client_as(operator).post(add_url(world["lab"]), wanted(host_port="8080"))
    assert response.status_code == 422
    content = text(response)
    assert "<title>Port forwards of lab on testdrv" in content
    assert "<h1>Port forwards of lab</h1>" in content
    assert "already forwarded by switch lab2" in field_errors(response, "host_port")
    assert 'value="8080"' in content, "what was typed stays"
    assert not Job.objects.exists()


# --- adding, removing, putting back: jobs --------------------------------------------------------


def test_an_operator_adds_a_forward_and_goes_back_to_the_switch(world, operator, client_as):
    lab = world["lab"]
    response = client_as(operator).post(add_url(lab), wanted())
    assert response.status_code == 302
    assert response["Location"] == lab.get_absolute_url()
    job = Job.objects.get()
    assert (job.operation, job.state, job.network, job.host, job.user) == (
        Op.FORWARD_ADD, Job.State.QUEUED, lab, lab.host, operator,
    )  # fmt: skip
    assert job.params == {
        "protocol": "tcp",
        "listen": "",
        "host_port": 8081,
        "host_port_end": 8081,
        "guest_ip": "10.213.5.10",
        "guest_port": 80,
    }
    assert not PortForward.objects.filter(network=lab).exists(), "the worker writes the row"


def test_a_range_on_one_address_of_the_host_goes_whole_into_the_job(world, operator, client_as):
    data = wanted(protocol="udp", host_port="5000", host_port_end="5009", listen="192.168.1.5")
    client_as(operator).post(add_url(world["lab"]), {**data, "guest_port": "6000"})
    assert Job.objects.get().params == {
        "protocol": "udp",
        "listen": "192.168.1.5",
        "host_port": 5000,
        "host_port_end": 5009,
        "guest_ip": "10.213.5.10",
        "guest_port": 6000,
    }
    client_as(operator).post(
        add_url(world["lab"]), {**data, "guest_port": "6000", "guest_port_end": "6009"}
    )
    assert Job.objects.latest("pk").params["guest_port_end"] == 6009


def test_with_htmx_the_section_comes_back_with_the_job_and_an_empty_form(
    world, operator, client_as
):
    response = client_as(operator).post(add_url(world["lab"]), wanted(), **HTMX)
    assert response.status_code == 200
    content = text(response)
    job = Job.objects.get()
    assert content.lstrip().startswith('<section id="forwards"')
    assert f'data-job="{job.pk}"' in content and "Add port forward: queued" in content
    assert "data-live-pending" in content, "the table follows the job until it ends"
    assert 'value="8081"' not in content, "the form is empty again"


def test_an_operator_removes_a_forward_by_a_job(world, operator, client_as):
    row = forward(world["lab"])
    response = client_as(operator).post(remove_url(row))
    assert response.status_code == 302
    assert response["Location"] == world["lab"].get_absolute_url()
    job = Job.objects.get()
    assert (job.operation, job.params, job.network) == (
        Op.FORWARD_REMOVE, {"forward": row.pk}, world["lab"],
    )  # fmt: skip
    assert PortForward.objects.filter(pk=row.pk).exists(), "until the worker took it away"


def test_with_htmx_the_table_comes_back_with_the_forward_being_removed(world, operator, client_as):
    row = forward(world["lab"])
    response = client_as(operator).post(remove_url(row), **HTMX)
    assert response.status_code == 200
    content = text(response)
    assert content.lstrip().startswith('<div id="net-forwards"')
    assert "Remove port forward: queued" in content
    line = re.search(rf'<tr data-forward="{row.pk}">.*?</tr>', content, re.S).group(0)
    assert "being removed" in line and " disabled>Remove</button>" in line
    assert 'aria-label="Remove TCP every address port 9000 to web port 80"' in line


def test_a_forward_of_another_switch_is_not_removed_from_here(world, operator, client_as):
    other = PortForward.objects.get(network=world["lab2"])
    url = reverse("forward-remove", args=["testdrv", "lab", other.pk])
    assert client_as(operator).post(url).status_code == 404
    assert not Job.objects.exists()


def test_an_operator_puts_the_forwards_back(world, operator, client_as):
    response = client_as(operator).post(apply_url(world["lab"]))
    assert response.status_code == 302
    job = Job.objects.get()
    assert (job.operation, job.params) == (Op.FORWARDS_APPLY, {})
    response = client_as(operator).post(apply_url(world["lab"]), **HTMX)
    assert response.status_code == 200
    assert text(response).lstrip().startswith('<div id="net-forwards"')
    assert "Put port forwards back: queued" in text(response)


def test_forwards_of_a_stopped_switch_are_not_put_back(world, operator, client_as):
    world["lab"].active = False
    world["lab"].save()
    response = client_as(operator).post(apply_url(world["lab"]))
    assert response.status_code == 400
    assert response.content == (
        b"lab is not running: its port forwards are put back when it starts; nothing was sent."
    )
    assert not Job.objects.exists()


# --- the health verdict --------------------------------------------------------------------------

MISSING = {
    "code": "forwards-missing",
    "text": "Port forwards not in place: the host's firewall lacks TCP *:9000 -> web.",
    "fix": Op.FORWARDS_APPLY,
}


def test_missing_forwards_get_a_fix_that_puts_them_back(world, operator, viewer, client_as):
    row = forward(world["lab"])
    switch_with(world["lab"], [{"id": row.pk, "in_place": False, "connections": 0}], [MISSING])
    url = reverse("network-switch", args=["testdrv", "lab"])
    content = text(client_as(operator).get(url))
    fix = re.search(r'<li data-problem="forwards-missing">.*?</li>', content, re.S).group(0)
    assert f'<form method="post" action="{apply_url(world["lab"])}"' in fix
    assert 'hx-target="#net-forwards"' in fix
    assert '<button class="btn" data-fix="forwards-missing">Fix: put the port forwards back' in fix
    assert "Port forwards in place" not in content
    content = text(client_as(viewer).get(url))
    fix = re.search(r'<li data-problem="forwards-missing">.*?</li>', content, re.S).group(0)
    assert "<form" not in fix and "an operator can fix it" in fix


def test_forwards_rejected_by_libvirts_nftables_are_not_said_in_place(world, viewer, client_as):
    row = forward(world["lab"])
    words = "libvirt on testdrv writes … nftables"
    blocked = {"code": "forwards-blocked", "text": words, "fix": ""}
    switch_with(world["lab"], [{"id": row.pk, "in_place": True, "connections": 0}], [blocked])
    world["lab"].host.side = {**SIDE, "libvirt_nftables": True}  # what the survey found
    world["lab"].host.save()
    content = text(client_as(viewer).get(world["lab"].get_absolute_url()))
    problem = re.search(r'<li data-problem="forwards-blocked">.*?</li>', content, re.S).group(0)
    assert words in problem
    assert "<form" not in problem and "data-fix" not in problem, "nothing vnetweb runs mends it"
    assert "Port forwards in place" not in content
    cell = re.search(rf'<tr data-forward="{row.pk}">.*?</tr>', content, re.S).group(0)
    assert "written, rejected by libvirt's nftables" in cell
    assert '<span class="pill on">in place</span>' not in cell


def test_forwards_all_in_place_are_said_so(world, viewer, client_as):
    rows = [forward(world["lab"], port) for port in (9000, 9001)]
    switch_with(world["lab"], [{"id": r.pk, "in_place": True, "connections": 0} for r in rows])
    content = text(client_as(viewer).get(world["lab"].get_absolute_url()))
    assert "<strong>Port forwards in place (2)</strong>" in content
    switch_with(world["lab"], [])
    content = text(client_as(viewer).get(world["lab"].get_absolute_url()))
    assert "Port forwards in place" not in content, "none to speak of"


# --- who may, and how it is asked ----------------------------------------------------------------


def test_a_viewer_may_not_add_remove_or_put_back(world, viewer, client_as):
    row = forward(world["lab"])
    client = client_as(viewer)
    for url, data in ((add_url(world["lab"]), wanted()), (remove_url(row), {})):
        assert client.post(url, data, **HTMX).status_code == 403
    assert client.post(apply_url(world["lab"])).status_code == 403
    assert not Job.objects.exists()


def test_an_outsider_finds_no_forwards(world, outsider, client_as):
    row = forward(world["lab"])
    client = client_as(outsider)
    assert client.get(part_url(world["lab"])).status_code == 404
    for url in (add_url(world["lab"]), remove_url(row), apply_url(world["lab"])):
        assert client.post(url, wanted()).status_code == 404
    assert not Job.objects.exists()


def test_the_forwards_need_a_login(world, client):
    row = forward(world["lab"])
    login = reverse("login")
    assert client.get(part_url(world["lab"]))["Location"].startswith(login + "?next=")
    for url in (add_url(world["lab"]), remove_url(row), apply_url(world["lab"])):
        response = client.post(url, wanted())
        assert response.status_code == 302 and response["Location"].startswith(login + "?next=")
    assert not Job.objects.exists()


def test_changes_only_answer_post_and_the_part_only_get(world, operator, client_as):
    row = forward(world["lab"])
    client = client_as(operator)
    for url in (add_url(world["lab"]), remove_url(row), apply_url(world["lab"])):
        assert client.get(url).status_code == 405
    assert client.post(part_url(world["lab"])).status_code == 405
    assert not Job.objects.exists()


def test_the_live_part_alone_for_htmx_and_a_page_for_a_link(world, operator, client_as):
    client = client_as(operator)
    part = client.get(part_url(world["lab"]), **HTMX)
    assert 'id="forward-add"' not in text(part), "a refresh leaves the form alone"
    assert (
        text(part)
        .lstrip()
        .startswith(f'<div id="net-forwards" data-live="{part_url(world["lab"])}"')
    )
    assert "HX-Request" in part["Vary"]
    page = client.get(part_url(world["lab"]))
    assert "<h1>Port forwards of lab</h1>" in text(page) and 'id="net-forwards"' in text(page)
    assert 'id="forward-add"' in text(page)


def test_the_part_of_a_switch_gone_meanwhile_is_empty_for_htmx(world, viewer, client_as):
    url = part_url(world["lab"])
    world["lab"].delete()
    response = client_as(viewer).get(url, **HTMX)
    assert (response.status_code, response.content) == (200, b"")


def test_without_the_lease_table_make_permanent_is_a_plain_form(world, operator, client_as):
    response = client_as(operator).post(add_url(world["lab"]), wanted(guest="10.213.5.120"))
    assert response.status_code == 422
    assert "<h1>Port forwards of lab</h1>" in text(response)
    assert '<div class="notice" data-pin-first hx-disable>' in text(response)
