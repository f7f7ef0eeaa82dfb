"""The switch editor's pages: create, edit, raw XML, delete — forms, review, roles, hostile input.

Nothing here reaches libvirt: a valid change becomes a Job row with its XML (the worker's side is
tested elsewhere); an invalid one is a page with field errors and no job at all.
"""

import re

import pytest
from django.urls import reverse

from networks.models import Job
from networks.pages.review import Review
from networks.spec import DhcpHost, DhcpRange, IpSpec, NetworkSpec, Problems, parse, to_xml


def nat_spec(name: str = "lab", third: int = 50, **fields) -> NetworkSpec:
    return NetworkSpec(
        name=name,
        uuid="0b0e5c2a-4d1c-4a8e-9a53-3f1d2f3b4c5d",
        mode="nat",
        bridge=f"virbr{third}",
        stp=True,
        ips=[
            IpSpec(
                address=f"10.9.{third}.1",
                prefix=24,
                dhcp_ranges=[DhcpRange(f"10.9.{third}.100", f"10.9.{third}.200")],
                dhcp_hosts=[DhcpHost(mac="52:54:00:00:00:01", name="web1", ip=f"10.9.{third}.10")],
            )
        ],
        **fields,
    )


@pytest.fixture
def lab(test_host, make_network):
    """A running NAT network as a worker would have recorded it, with its XML."""
    spec = nat_spec()
    xml = to_xml(spec)
    return make_network(
        test_host,
        "lab",
        active=True,
        bridge=spec.bridge,
        xml=xml,
        addresses=[{"family": "ipv4", "cidr": "10.9.50.1/24", "dhcp_ranges": [], "dhcp_hosts": 1}],
    )


def create_url(host) -> str:
    return reverse("switch-create", args=[host.name])


def edit_url(network) -> str:
    return reverse("switch-edit", args=[network.host.name, network.name])


def form_data(**overrides) -> dict:
    """What the create form posts for a plain NAT switch, with `overrides`."""
    data = {
        "name": "vnwt-new",
        "mode": "nat",
        "macvtap_mode": "bridge",
        "bridge": "virbr77",
        "stp": "on",
        "autostart": "on",
        "start": "on",
        "ipv4_network": "10.9.77.0/24",
        "ipv4_gateway": "10.9.77.1",
        "ipv4_dhcp": "on",
        "ipv4_ranges": "10.9.77.2 10.9.77.254",
        "dns_enabled": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def token_of(response) -> str:
    match = re.search(r'name="token" value="([0-9a-f]+)"', response.content.decode())
    assert match, "the review shows no apply token"
    return match.group(1)


def base_of(response) -> dict:
    """The definition an editor page starts from, as its form carries it ({} for none)."""
    match = re.search(r'name="base" value="([^"]+)"', response.content.decode())
    return {"base": match.group(1)} if match else {}


def review_and_apply(client, url: str, data: dict, button: str = "apply"):
    reviewed = client.post(url, {**data, "review": "1"})
    assert reviewed.status_code == 200, reviewed.content.decode()[:3000]
    applied = {**data, **base_of(reviewed), button: "1", "token": token_of(reviewed)}
    return client.post(url, applied)


# --- creating ------------------------------------------------------------------------------------


def test_the_create_form_proposes_a_free_subnet_a_free_bridge_and_dhcp(
    test_host, lab, admin, client_as
):
    response = client_as(admin).get(create_url(test_host))
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["mode"] == "nat"
    assert form.initial["ipv4_network"] == "192.168.100.0/24"
    assert form.initial["ipv4_gateway"] == "192.168.100.1"
    assert form.initial["ipv4_ranges"] == "192.168.100.2 192.168.100.254"
    assert form.initial["bridge"] == "virbr0"


def test_reviewing_a_new_switch_shows_its_xml_and_sends_nothing(test_host, admin, client_as):
    response = client_as(admin).post(create_url(test_host), {**form_data(), "review": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Create switch" in page
    assert "&lt;name&gt;vnwt-new&lt;/name&gt;" in page
    assert Job.objects.count() == 0


def test_a_reviewed_switch_is_created_by_a_define_job_carrying_its_xml(test_host, admin, client_as):
    response = review_and_apply(client_as(admin), create_url(test_host), form_data())
    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    assert (job.operation, job.target, job.host) == ("define", "vnwt-new", test_host)
    assert job.params["start"] is True and job.params["autostart"] is True
    spec = parse(job.params["xml"])
    assert (spec.name, spec.mode, spec.bridge, spec.stp) == ("vnwt-new", "nat", "virbr77", True)
    assert spec.ips[0].cidr == "10.9.77.1/24"
    assert [(r.start, r.end) for r in spec.ips[0].dhcp_ranges] == [("10.9.77.2", "10.9.77.254")]


def test_a_switch_drawn_from_the_topology_leads_back_to_it_once_created(
    test_host, admin, client_as
):
    client = client_as(admin)
    topology = reverse("host-topology", args=[test_host.name])
    assert f"{create_url(test_host)}?from=topology" in client.get(topology).content.decode()
    review_and_apply(client, create_url(test_host) + "?from=topology", form_data())
    job = Job.objects.get()
    assert job.params["return_to"] == topology
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    # The job's page, followed live, sends the browser back to the drawing: the switch is there.
    answer = client.get(reverse("job-detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    assert answer["HX-Redirect"] == topology


def test_applying_without_the_reviewed_token_only_reviews_again(test_host, admin, client_as):
    response = client_as(admin).post(
        create_url(test_host), {**form_data(), "apply": "1", "token": "0" * 32}
    )
    assert response.status_code == 200
    assert "Create switch" in response.content.decode()
    assert Job.objects.count() == 0


def test_a_change_after_the_review_is_not_applied_unseen(test_host, admin, client_as):
    client = client_as(admin)
    reviewed = client.post(create_url(test_host), {**form_data(), "review": "1"})
    changed = form_data(ipv4_ranges="10.9.77.10 10.9.77.20")
    client.post(create_url(test_host), {**changed, "apply": "1", "token": token_of(reviewed)})
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("mode", "fields", "expect"),
    [
        ("route", {"forward_dev": "eth0"}, {"mode": "route", "forward_dev": "eth0"}),
        ("isolated", {}, {"mode": "isolated"}),
        ("open", {}, {"mode": "open"}),
        (
            "bridge",
            {"host_bridge": "br0", "ipv4_network": "", "ipv4_ranges": ""},
            {"mode": "bridge", "bridge": "br0", "ips": []},
        ),
        (
            "macvtap",
            {"forward_interfaces": "eth0, eth1", "macvtap_mode": "vepa", "ipv4_network": ""},
            {"mode": "macvtap", "macvtap_mode": "vepa", "forward_interfaces": ["eth0", "eth1"]},
        ),
    ],
)
def test_every_mode_can_be_created_from_the_form(test_host, admin, client_as, mode, fields, expect):
    review_and_apply(client_as(admin), create_url(test_host), form_data(mode=mode, **fields))
    spec = parse(Job.objects.get().params["xml"])
    for key, value in expect.items():
        assert getattr(spec, key) == value, key


def test_nat_options_routes_dns_bandwidth_and_portgroups_reach_the_xml(test_host, admin, client_as):
    data = form_data(
        nat_port_start="2000",
        nat_port_end="3000",
        mtu="9000",
        ipv4_hosts="52:54:00:aa:bb:cc db1 10.9.77.20",
        ipv4_lease="30",
        ipv6_network="fd00:77::/64",
        ipv6_dhcp="on",
        ipv6_ranges="fd00:77::100 fd00:77::1ff",
        domain_name="lab.example",
        domain_local_only="on",
        dns_forwarders="192.0.2.53",
        dns_hosts="10.9.77.5 nas nas2",
        dns_txts="info some text <&>",
        dns_srvs="ldap tcp target=ldap.lab.example port=389",
        routes="10.99.0.0/16 via 10.9.77.5",
        inbound_average="1000",
        outbound_average="500",
        portgroups="web default\nbackup",
    )
    review_and_apply(client_as(admin), create_url(test_host), data)
    spec = parse(Job.objects.get().params["xml"])
    assert (spec.nat_port_start, spec.nat_port_end, spec.mtu) == (2000, 3000, 9000)
    assert spec.ips[0].dhcp_hosts == [
        DhcpHost(mac="52:54:00:aa:bb:cc", name="db1", ip="10.9.77.20")
    ]
    assert spec.ips[0].dhcp_ranges[0].lease_minutes == 30
    assert spec.ips[1].cidr == "fd00:77::1/64"
    assert (spec.domain_name, spec.domain_local_only) == ("lab.example", True)
    assert spec.dns_txts[0].value == "some text <&>"
    assert spec.dns_srvs[0].port == 389
    assert spec.routes[0].gateway == "10.9.77.5"
    assert (spec.inbound.average, spec.outbound.average) == (1000, 500)
    assert [(g.name, g.default) for g in spec.portgroups] == [("web", True), ("backup", False)]


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "<script>alert(1)</script>"}, "name", ""),
        ({"name": "a; rm -rf /"}, "name", ""),
        ({"name": "bad\x00name"}, "name", ""),
        ({"name": "x" * 10_000}, "name", ""),
        ({"name": "lab"}, "name", "lab"),
        ({"bridge": "virbr-much-too-long"}, "bridge", "15"),
        ({"bridge": "virbr50"}, "bridge", "lab"),
        ({"mtu": "10"}, "mtu", ""),
        ({"ipv4_network": "300.1.1.0/24"}, "ipv4_network", "300.1.1.0/24"),
        ({"ipv4_network": "fd00::/64"}, "ipv4_network", "IPV4"),
        ({"ipv4_network": "10.9.50.0/24", "ipv4_gateway": "10.9.50.1"}, "ipv4_gateway", "overlaps"),
        ({"ipv4_ranges": "10.9.78.2 10.9.78.50"}, "ipv4_ranges", "line 1"),
        ({"ipv4_ranges": "10.9.77.1 10.9.77.50"}, "ipv4_ranges", "own address"),
        ({"ipv4_ranges": "only-one-address"}, "ipv4_ranges", "line 1"),
        ({"ipv4_hosts": "52:54:00:00:00:09 a 10.9.99.5"}, "ipv4_hosts", "line 1"),
        (
            {"ipv4_hosts": "52:54:00:00:00:09 a 10.9.77.5\n52:54:00:00:00:09 b 10.9.77.6"},
            "ipv4_hosts",
            "line 2",
        ),
        ({"ipv4_hosts": "52:54:00:00:00:09 a 10.9.77.5 extra"}, "ipv4_hosts", "line 1"),
        (
            {
                "ipv6_network": "fd00:1::/80",
                "ipv6_dhcp": "on",
                "ipv6_ranges": "fd00:1::5 fd00:1::9",
            },
            "ipv6_network",
            "64",
        ),
        ({"mode": "bridge", "host_bridge": "", "ipv4_network": ""}, "host_bridge", ""),
        (
            {"mode": "macvtap", "forward_interfaces": "", "ipv4_network": ""},
            "forward_interfaces",
            "",
        ),
        ({"nat_port_start": "3000", "nat_port_end": "2000"}, "nat_port_end", ""),
        ({"routes": "10.99.0.0/16 via 10.1.1.1"}, "routes", "line 1"),
        ({"portgroups": "a vlan=5000"}, "portgroups", "line 1"),
        ({"dns_hosts": "not-an-ip name"}, "dns_hosts", "line 1"),
        ({"dns_txts": "x" * 10_000 + " value"}, "dns_txts", "line 1"),
        ({"domain_name": "lab;reboot"}, "domain_name", ""),
        ({"bridge": "lo"}, "bridge", "lo is the host's loopback interface"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_sent(
    test_host, lab, admin, client_as, overrides, field, words
):
    response = client_as(admin).post(
        create_url(test_host), {**form_data(**overrides), "review": "1"}
    )
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, dict(errors)
    assert words.lower() in " ".join(errors[field]).lower()
    assert "Create switch" not in response.content.decode()
    assert Job.objects.count() == 0


def test_a_subnet_used_on_another_host_is_a_warning_not_an_error(
    test_host, make_network, admin, client_as
):
    from networks.models import Host

    other = Host.objects.create(name="kvm2", uri="test:///default")
    make_network(
        other, "far", addresses=[{"family": "ipv4", "cidr": "10.9.77.1/24", "dhcp_ranges": []}]
    )
    response = client_as(admin).post(create_url(test_host), {**form_data(), "review": "1"})
    assert response.status_code == 200
    assert any("kvm2" in warning for warning in response.context["warnings"])
    assert "Create switch" in response.content.decode()


# --- editing -------------------------------------------------------------------------------------


def edit_data(network, **overrides) -> dict:
    """The edit form as the page fills it in, with `overrides`."""
    from networks.forms.switch import initial_from

    initial = initial_from(parse(network.saved_xml))
    data = {}
    for key, value in initial.items():
        if isinstance(value, bool):
            if value:
                data[key] = "on"
        elif value is not None:
            data[key] = str(value)
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_adding_a_static_host_to_a_running_switch_applies_live_without_restart(
    lab, admin, client_as
):
    hosts = "52:54:00:00:00:01 web1 10.9.50.10\n52:54:00:00:00:02 web2 10.9.50.11"
    response = review_and_apply(client_as(admin), edit_url(lab), edit_data(lab, ipv4_hosts=hosts))
    assert response.status_code == 302 and response["Location"] == lab.get_absolute_url()
    job = Job.objects.get()
    assert (job.operation, job.network, job.params["restart"]) == ("update", lab, False)
    assert [(u["section"], u["command"]) for u in job.params["live"]] == [
        ("ip-dhcp-host", "add-last")
    ]
    assert "52:54:00:00:00:02" in job.params["live"][0]["xml"]
    assert job.params["base_xml"] == lab.xml
    assert [h.name for h in parse(job.params["xml"]).ips[0].dhcp_hosts] == ["web1", "web2"]


def test_the_review_of_an_edit_shows_the_diff_and_that_it_applies_live(lab, admin, client_as):
    data = edit_data(lab, ipv4_hosts="52:54:00:00:00:01 web1 10.9.50.12")
    page = client_as(admin).post(edit_url(lab), {**data, "review": "1"}).content.decode()
    assert "without a restart" in page
    assert 'class="del"' in page and 'class="add"' in page
    assert "10.9.50.12" in page


def test_a_change_that_needs_a_restart_says_so_and_can_be_applied_with_one(lab, admin, client_as):
    client = client_as(admin)
    data = edit_data(lab, stp=None)
    page = client.post(edit_url(lab), {**data, "review": "1"}).content.decode()
    assert "Needs a restart" in page and "STP" in page
    review_and_apply(client, edit_url(lab), data, button="restart")
    job = Job.objects.get()
    assert job.params["restart"] is True
    assert parse(job.params["xml"]).stp is False


def test_an_unchanged_form_sends_nothing(lab, admin, client_as):
    client = client_as(admin)
    page = client.post(edit_url(lab), {**edit_data(lab), "review": "1"}).content.decode()
    assert "Nothing to apply" in page
    assert Job.objects.count() == 0


def test_an_edit_keeps_what_the_form_does_not_model(test_host, make_network, admin, client_as):
    xml = (
        to_xml(nat_spec())
        .replace("<bridge ", "<bridge macTableManager='libvirt' ")
        .replace("</network>", "<metadata><app xmlns='urn:x'>keep</app></metadata></network>")
    )
    network = make_network(test_host, "lab", bridge="virbr50", xml=xml)
    review_and_apply(client_as(admin), edit_url(network), edit_data(network, mtu="9000"))
    sent = Job.objects.get().params["xml"]
    assert 'macTableManager="libvirt"' in sent
    assert '<app xmlns="urn:x">keep</app>' in sent


def test_an_operator_may_change_static_hosts_but_not_the_rest(lab, operator, client_as):
    client = client_as(operator)
    form = client.get(edit_url(lab)).context["form"]
    assert not form.fields["ipv4_hosts"].disabled
    assert form.fields["bridge"].disabled and form.fields["mode"].disabled
    data = edit_data(
        lab,
        bridge="virbr99",
        ipv4_hosts="52:54:00:00:00:01 web1 10.9.50.10\naa:bb:cc:00:00:02 b 10.9.50.99",
    )
    review_and_apply(client, edit_url(lab), data)
    sent = parse(Job.objects.get().params["xml"])
    assert sent.bridge == "virbr50", "a disabled field must keep the saved value"
    assert len(sent.ips[0].dhcp_hosts) == 2


# --- raw XML -------------------------------------------------------------------------------------


def xml_url(network) -> str:
    return reverse("switch-xml", args=[network.host.name, network.name])


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("<network><name>lab</name>", "well-formed"),
        ("<domain><name>lab</name></domain>", "network"),
        ("<network><name>other</name></network>", "name must stay"),
        ("<network><name>lab</name><forward mode='warp'/></network>", "schema"),
        (
            "<network><name>lab</name><ip address='10.9.50.1' prefix='24'><dhcp>"
            "<range start='10.9.60.1' end='10.9.60.9'/></dhcp></ip></network>",
            "outside",
        ),
        (
            "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]><network><name>&e;</name></network>",
            "",
        ),
    ],
)
def test_the_xml_editor_refuses_bad_xml_in_words_and_sends_nothing(
    lab, admin, client_as, xml, words
):
    response = client_as(admin).post(xml_url(lab), {"xml": xml, "review": "1"})
    assert response.status_code == 422
    errors = " ".join(response.context["form"].errors["xml"])
    assert words.lower() in errors.lower()
    assert "root:" not in response.content.decode()
    assert Job.objects.count() == 0


def test_the_xml_editor_applies_a_reviewed_change(lab, admin, client_as):
    xml = lab.xml.replace("web1", "www1")
    review_and_apply(client_as(admin), xml_url(lab), {"xml": xml})
    job = Job.objects.get()
    assert job.params["xml"] == xml
    assert [u["command"] for u in job.params["live"]] == ["modify"]


# Issue 16: libvirt writes <tftp root> into dnsmasq's configuration as it is (dnsmasq runs as
# root), so a newline there starts a configuration line; a modelled change carries it along.
TFTP_NEWLINE = "<tftp root='/srv&#10;conf-script=id &gt;/tmp/x'/>"


def _forged_apply(client, url: str, xml: str):
    """Apply without a review page: the token names only the XML, so anyone can compute it
    (and the base is on the editor's page)."""
    token = Review(parse(xml), xml, Problems()).token()
    return client.post(url, {"xml": xml, "apply": "1", "token": token, **base_of(client.get(url))})


@pytest.mark.parametrize(
    ("child", "words"),
    [
        (
            TFTP_NEWLINE,
            [
                "the root= attribute of <tftp> ('/srv\\x0aconf-script=id >/tmp/x') holds a "
                "control character",
                "vnetweb does not edit <tftp> in <ip>",
            ],
        ),
        ("<tftp root='/srv/tftp'/>", ["vnetweb does not edit <tftp> in <ip>"]),
    ],
    ids=["with-a-newline", "without"],
)
def test_the_xml_editor_refuses_a_tftp_root_in_words_and_sends_nothing(
    lab, admin, client_as, child, words
):
    xml = lab.xml.replace("web1", "www1").replace("<dhcp>", child + "<dhcp>")
    client = client_as(admin)
    for response in (client.post(xml_url(lab), {"xml": xml, "review": "1"}),
                     _forged_apply(client, xml_url(lab), xml)):  # fmt: skip
        assert response.status_code == 422
        errors = response.context["form"].errors["xml"]
        for expected in words:
            assert any(e.startswith(expected) for e in errors), errors
        assert 'name="token"' not in response.content.decode()
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (
            ("</ip>", "</ip><dns><txt name='about' value='lab&#10;txt-record=x'/></dns>"),
            "the value= attribute of <txt> ('lab\\x0atxt-record=x') holds a control character",
        ),
        (("web1", "web&#9;1"), "the name= attribute of <host> ('web\\x091') holds a control"),
        (
            ('stp="on"', 'stp="on" zone="trusted"'),
            "vnetweb does not edit the zone= attribute of <bridge>: it cannot be added or changed",
        ),
        (
            ("</network>", "<metadata><d xmlns='urn:x'>about lab</d></metadata></network>"),
            "vnetweb does not edit <metadata> in <network>",
        ),
    ],
    ids=["newline-in-a-txt-record", "tab-in-a-host-name", "bridge-zone", "metadata"],
)
def test_the_xml_editor_refuses_control_characters_and_unmodelled_additions_in_words(
    lab, admin, client_as, edit, words
):
    xml = lab.xml.replace(*edit)
    assert xml != lab.xml
    client = client_as(admin)
    for response in (client.post(xml_url(lab), {"xml": xml, "review": "1"}),
                     _forged_apply(client, xml_url(lab), xml)):  # fmt: skip
        assert response.status_code == 422
        assert any(e.startswith(words) for e in response.context["form"].errors["xml"])
    assert Job.objects.count() == 0


def test_the_xml_editor_keeps_what_the_host_already_had_as_it_is(
    test_host, make_network, admin, client_as
):
    saved = to_xml(nat_spec()).replace("<dhcp>", "<tftp root='/srv/tftp'/><dhcp>")
    network = make_network(test_host, "lab", bridge="virbr50", xml=saved)
    xml = saved.replace("web1", "www1")
    review_and_apply(client_as(admin), xml_url(network), {"xml": xml})
    assert "<tftp root='/srv/tftp'/>" in Job.objects.get().params["xml"]


# --- deleting ------------------------------------------------------------------------------------


def test_delete_asks_first_and_names_the_guests_still_plugged_in(lab, admin, client_as):
    lab.guests = [
        {"domain": "web-vm", "mac": "52:54:00:00:00:01", "running": True},
        {"domain": "old-vm", "mac": "52:54:00:00:00:02", "running": False},
    ]
    lab.save()
    client = client_as(admin)
    url = reverse("switch-delete", args=[lab.host.name, lab.name])
    page = client.get(url).content.decode()
    assert "web-vm" in page and "lose their network" in page and "old-vm" in page
    assert Job.objects.count() == 0
    response = client.post(url)
    assert response.status_code == 302
    assert Job.objects.get().operation == "undefine"


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_only_admins_create_switches(test_host, client_as, request, who):
    client = client_as(request.getfixturevalue(who))
    assert client.get(create_url(test_host)).status_code == 403
    assert client.post(create_url(test_host), {**form_data(), "review": "1"}).status_code == 403
    assert Job.objects.count() == 0


def test_a_viewer_cannot_edit(lab, viewer, client_as):
    assert client_as(viewer).get(edit_url(lab)).status_code == 403


@pytest.mark.parametrize("view", ["switch-xml", "switch-delete"])
def test_an_operator_cannot_use_the_xml_editor_or_delete(lab, operator, client_as, view):
    client = client_as(operator)
    url = reverse(view, args=[lab.host.name, lab.name])
    assert client.get(url).status_code == 403
    assert client.post(url, {"xml": lab.xml}).status_code == 403
    assert Job.objects.count() == 0


def test_an_outsider_does_not_see_the_editor_at_all(lab, outsider, client_as):
    assert client_as(outsider).get(edit_url(lab)).status_code == 404
    assert client_as(outsider).get(create_url(lab.host)).status_code == 404


def test_the_editor_answers_get_and_post_only(lab, admin, client_as):
    assert client_as(admin).put(edit_url(lab)).status_code == 405
