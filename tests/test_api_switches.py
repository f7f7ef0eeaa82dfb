"""The API of a switch's definition: create from a JSON spec, read the spec, edit it or its XML on
the version read (If-Match), delete. The editor pages' review, messages, roles and jobs.

Nothing here reaches libvirt but the stale edit, which runs its first edit on the test driver: a
valid change is a Job row with the page's params, an invalid one a 422 and no job at all.
"""

import dataclasses
import itertools

import pytest
from django.test import Client
from django.urls import reverse

from networks import gateway, tokens
from networks.models import Job, Network
from networks.spec import DhcpHost, NetworkSpec, parse, to_xml
from networks.versions import definition_version
from networks.worker import tasks
from tests.test_switch_views import nat_spec

pytestmark = pytest.mark.postgres

MAC = "52:54:00:00:00:09"
TOKENS = itertools.count()


def new_spec(**changes) -> dict:
    """A new NAT switch as JSON, with `changes`: no UUID, MAC or bridge (libvirt's and
    vnetweb's to give)."""
    spec = dataclasses.asdict(nat_spec("vnwt-new", 77))
    spec["ips"][0]["dhcp_hosts"] = []
    return {**spec, "uuid": None, "bridge": "", **changes}


@pytest.fixture
def lab(test_host, make_network):
    """A running NAT network as a worker would have recorded it, with its XML."""
    spec = nat_spec()
    return make_network(test_host, "lab", active=True, bridge=spec.bridge, xml=to_xml(spec))


def api(user, *, read_only: bool = False) -> Client:
    """A client that sends a new token of `user`."""
    _, key = tokens.issue(user, f"script-{next(TOKENS)}", read_only=read_only)
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


def create_url(host) -> str:
    return reverse("api-v1:switch-create", args=[host.name])


def spec_url(network) -> str:
    return reverse("api-v1:switch-spec", args=[network.host.name, network.name])


def xml_url(network) -> str:
    return reverse("api-v1:switch-xml-edit", args=[network.host.name, network.name])


def version(network) -> str:
    return definition_version(network.saved_xml)


def put(client: Client, url: str, body: dict, if_match: str | None = None):
    headers = {"HTTP_IF_MATCH": if_match} if if_match is not None else {}
    return client.put(url, body, content_type="application/json", **headers)


def edited(network, change) -> dict:
    """The network's spec as JSON with `change(spec)` made."""
    spec = parse(network.saved_xml)
    change(spec)
    return dataclasses.asdict(spec)


# --- creating ------------------------------------------------------------------------------------


def test_an_admin_creates_a_nat_switch_from_a_spec_and_gets_its_define_job(test_host, lab, admin):
    response = api(admin).post(create_url(test_host), {"spec": new_spec()}, "application/json")
    assert response.status_code == 202, response.content
    job = Job.objects.get()
    assert response["Location"] == reverse("api-v1:job", args=[job.pk])
    assert response.json()["operation"] == "define" and response.json()["state"] == "queued"
    assert (job.operation, job.target, job.host) == ("define", "vnwt-new", test_host)
    assert (job.params["start"], job.params["autostart"]) == (True, True)
    spec = parse(job.params["xml"])
    assert (spec.name, spec.mode, spec.stp) == ("vnwt-new", "nat", True)
    assert spec.bridge == "virbr0", "a free bridge name, as the create form proposes"
    assert spec.ips[0].cidr == "10.9.77.1/24"


def test_a_new_switch_need_not_start_nor_autostart(test_host, admin):
    body = {"spec": new_spec(), "start": False, "autostart": False}
    assert api(admin).post(create_url(test_host), body, "application/json").status_code == 202
    assert Job.objects.get().params == {
        "xml": Job.objects.get().params["xml"],
        "start": False,
        "autostart": False,
    }


def test_a_spec_with_mistakes_is_refused_under_its_paths_in_the_forms_words(
    test_host, lab, admin, client_as
):
    spec = new_spec(name="a; rm -rf /")
    spec["ips"][0]["dhcp_hosts"] = [{"mac": MAC, "name": "a", "ip": "10.9.99.5"}]
    response = api(admin).post(create_url(test_host), {"spec": spec}, "application/json")
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert set(errors) >= {"name", "ipv4.dhcp_hosts.0"}
    form = {
        "name": "a; rm -rf /",
        "mode": "nat",
        "ipv4_network": "10.9.77.0/24",
        "ipv4_gateway": "10.9.77.1",
        "ipv4_dhcp": "on",
        "ipv4_ranges": "10.9.77.100 10.9.77.200",
        "ipv4_hosts": f"{MAC} a 10.9.99.5",
        "dns_enabled": "on",
        "review": "1",
    }
    page = client_as(admin).post(reverse("switch-create", args=[test_host.name]), form)
    shown = page.context["form"].errors
    assert shown["name"] == errors["name"]
    assert shown["ipv4_hosts"] == [f"line 1: {m}" for m in errors["ipv4.dhcp_hosts.0"]]
    assert Job.objects.count() == 0


def test_an_unsafe_dnsmasq_option_is_refused_and_nothing_is_queued(test_host, admin):
    spec = new_spec(dnsmasq_options=["dhcp-script=/tmp/x", "no-ping"])
    response = api(admin).post(create_url(test_host), {"spec": spec}, "application/json")
    assert response.status_code == 422
    (message,) = response.json()["errors"]["dnsmasq_options.0"]
    assert message.startswith("dhcp-script is not allowed: dnsmasq runs as root")
    assert "dnsmasq_options.1" not in response.json()["errors"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"name": "bad\x00name"}, "name"),  # NUL: no XML can hold it
        ({"domain_name": "lab\ud800"}, "__all__"),  # a lone surrogate JSON may carry
        ({"mode": "warp"}, "mode"),
        ({"mtu": 10**40}, "mtu"),
    ],
)
def test_values_no_switch_can_have_are_a_422_never_a_500(test_host, admin, change, key):
    response = api(admin).post(
        create_url(test_host), {"spec": new_spec(**change)}, "application/json"
    )
    assert response.status_code == 422, response.content
    assert key in response.json()["errors"]
    assert Job.objects.count() == 0


def test_a_body_that_is_not_the_schema_is_refused_by_field(test_host, admin):
    spec = new_spec(bridg="virbr9")
    spec["ips"][0]["prefix"] = "wide"
    body = {"spec": spec, "strat": True}
    response = api(admin).post(create_url(test_host), body, "application/json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"bridg", "ips.0.prefix", "strat"}
    assert Job.objects.count() == 0


def test_a_new_switch_brings_no_uuid_or_mac_of_its_own(test_host, admin):
    spec = new_spec(uuid="0b0e5c2a-4d1c-4a8e-9a53-3f1d2f3b4c5d", mac="52:54:00:aa:aa:aa")
    response = api(admin).post(create_url(test_host), {"spec": spec}, "application/json")
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"uuid", "mac"}


@pytest.mark.parametrize(("who", "status"), [("operator", 403), ("viewer", 403), ("outsider", 404)])
def test_only_admins_of_the_host_create_switches(test_host, request, who, status):
    client = api(request.getfixturevalue(who))
    response = client.post(create_url(test_host), {"spec": new_spec()}, "application/json")
    assert response.status_code == status
    assert Job.objects.count() == 0


def test_a_browser_session_creates_a_switch_too(test_host, admin, client_as):
    response = client_as(admin).post(
        create_url(test_host), {"spec": new_spec()}, "application/json"
    )
    assert response.status_code == 202
    assert Job.objects.get().username == admin.username


# --- reading and putting back --------------------------------------------------------------------


def test_the_spec_is_read_with_its_version_and_put_back_unchanged_sends_nothing(lab, viewer, admin):
    read = api(viewer).get(spec_url(lab))
    assert read.status_code == 200
    assert read["ETag"] == f'"{version(lab)}"' == f'"{read.json()["version"]}"'
    assert read.json()["spec"]["bridge"] == "virbr50"
    response = put(api(admin), spec_url(lab), {"spec": read.json()["spec"]}, read["ETag"])
    assert response.status_code == 200
    assert response.json() == {"detail": "Nothing changed; nothing was sent."}
    assert Job.objects.count() == 0


def test_the_spec_and_xml_paths_are_not_taken_for_the_network_itself(lab, admin):
    client = api(admin)
    assert "spec" in client.get(spec_url(lab)).json()
    assert "running_xml" in client.get(reverse("api-v1:network", args=["testdrv", "lab"])).json()


def test_an_unreadable_definition_is_a_409_in_words(test_host, make_network, admin):
    network = make_network(test_host, "odd", xml="<network><name>odd</name><ip address='x'/>")
    response = api(admin).get(spec_url(network))
    assert response.status_code == 409
    assert "PUT …/xml/" in response.json()["detail"]


# --- editing -------------------------------------------------------------------------------------


def add_host(spec: NetworkSpec) -> None:
    """A second static host, .11 of the switch's subnet."""
    ip = str(spec.ips[0].network.network_address + 11)
    spec.ips[0].dhcp_hosts.append(DhcpHost(mac="52:54:00:00:00:02", name="web2", ip=ip))


def test_an_operator_adds_a_static_host_and_it_applies_live(lab, operator):
    response = put(api(operator), spec_url(lab), {"spec": edited(lab, add_host)}, version(lab))
    assert response.status_code == 202, response.content
    job = Job.objects.get()
    assert (job.operation, job.network, job.params["restart"]) == ("update", lab, False)
    assert [(u["section"], u["command"]) for u in job.params["live"]] == [
        ("ip-dhcp-host", "add-last")
    ]
    assert job.params["base_xml"] == lab.saved_xml
    assert [h.name for h in parse(job.params["xml"]).ips[0].dhcp_hosts] == ["web1", "web2"]


@pytest.mark.parametrize(
    "change",
    [
        lambda spec: setattr(spec, "mode", "route"),
        lambda spec: setattr(spec, "bridge", "virbr99"),
        lambda spec: setattr(spec.ips[0], "dhcp_ranges", []),
    ],
    ids=["mode", "bridge", "dhcp-range"],
)
def test_an_operator_may_change_nothing_but_static_hosts_and_dns_records(lab, operator, change):
    response = put(api(operator), spec_url(lab), {"spec": edited(lab, change)}, version(lab))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only admins may change more than static hosts and DNS records."
    )
    assert Job.objects.count() == 0


def test_an_admin_change_that_needs_a_restart_is_saved_and_restarted_if_asked(lab, admin):
    body = {"spec": edited(lab, lambda spec: setattr(spec, "stp", False)), "restart": True}
    assert put(api(admin), spec_url(lab), body, version(lab)).status_code == 202
    job = Job.objects.get()
    assert job.params["restart"] is True and job.params["live"] == []
    assert parse(job.params["xml"]).stp is False


def test_what_an_edit_leaves_out_keeps_its_value(lab, admin):
    def bare(spec: NetworkSpec) -> None:
        spec.uuid, spec.bridge, spec.stp = None, "", None
        add_host(spec)

    assert (
        put(api(admin), spec_url(lab), {"spec": edited(lab, bare)}, version(lab)).status_code == 202
    )
    sent = parse(Job.objects.get().params["xml"])
    assert (sent.uuid, sent.bridge, sent.stp) == (nat_spec().uuid, "virbr50", True)
    assert Job.objects.get().params["live"][0]["section"] == "ip-dhcp-host"


def test_an_edit_with_a_mistake_is_refused_under_its_path(lab, admin):
    def outside(spec: NetworkSpec) -> None:
        spec.ips[0].dhcp_hosts.append(DhcpHost(mac=MAC, name="far", ip="10.9.99.5"))

    response = put(api(admin), spec_url(lab), {"spec": edited(lab, outside)}, version(lab))
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["ipv4.dhcp_hosts.1"]
    assert Job.objects.count() == 0


def test_an_edit_may_not_change_the_uuid(lab, admin):
    def other(spec: NetworkSpec) -> None:
        spec.uuid = "11111111-2222-3333-4444-555555555555"

    response = put(api(admin), spec_url(lab), {"spec": edited(lab, other)}, version(lab))
    assert response.status_code == 422
    assert response.json()["errors"] == {"uuid": [f"the UUID must stay {nat_spec().uuid}"]}


def test_an_edit_that_does_not_say_its_version_is_428(lab, admin):
    for if_match in (None, "", "*"):
        response = put(api(admin), spec_url(lab), {"spec": edited(lab, add_host)}, if_match)
        assert response.status_code == 428
        assert "If-Match" in response.json()["detail"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize("shape", ['"{}"', "{}", 'W/"{}"', '"0123", "{}"'])
def test_the_version_is_taken_quoted_or_not_and_weak_or_not(lab, admin, shape):
    if_match = shape.format(version(lab))
    response = put(api(admin), spec_url(lab), {"spec": edited(lab, add_host)}, if_match)
    assert response.status_code == 202


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("outsider", 404)])
def test_a_viewer_may_not_edit_and_an_outsider_does_not_see_the_switch(lab, request, who, status):
    client = api(request.getfixturevalue(who))
    body = {"spec": edited(lab, add_host)}
    assert put(client, spec_url(lab), body, version(lab)).status_code == status
    assert put(client, xml_url(lab), {"xml": lab.xml}, version(lab)).status_code == status
    assert Job.objects.count() == 0


def test_a_read_only_token_may_not_edit(lab, admin):
    client = api(admin, read_only=True)
    assert client.get(spec_url(lab)).status_code == 200
    response = put(client, spec_url(lab), {"spec": edited(lab, add_host)}, version(lab))
    assert response.status_code == 403


# --- an edit on an older version (the test driver: the first edit really runs) --------------------

URI = "test:///default"
NAME = "vnwt-tapi"


@pytest.fixture
def defined(test_host):
    """vnwt-tapi on the test driver, stopped (its new definition shows at once), undefined after."""
    spec = dataclasses.replace(nat_spec(NAME, 213), uuid=None, bridge="vnwttapi")
    gateway.define_network(URI, to_xml(spec))
    tasks.refresh(test_host)
    yield Network.objects.get(host=test_host, name=NAME)
    gateway.undefine_network(URI, NAME)


def test_an_edit_on_an_older_version_is_412_with_who_changed_what(defined, admin, operator):
    old = version(defined)
    first = put(api(admin), spec_url(defined), {"spec": edited(defined, add_host)}, old)
    assert first.status_code == 202, first.json()
    tasks.run_job(first.json()["id"])
    assert Job.objects.get().state == Job.State.SUCCEEDED, Job.objects.get().message
    defined.refresh_from_db()
    assert version(defined) != old

    def record(spec: NetworkSpec) -> None:
        spec.dns_hosts = []

    stale = put(api(operator), spec_url(defined), {"spec": edited(defined, record)}, f'"{old}"')
    assert stale.status_code == 412
    body = stale.json()
    assert stale["ETag"] == f'"{version(defined)}"' and body["version"] == version(defined)
    assert len(body["changes"]) == 1 and body["changes"][0].startswith("alice-admin at ")
    assert "static host 10.9.213.11" in body["changes"][0]
    assert any(line.startswith("+") and "10.9.213.11" in line for line in body["theirs"])
    assert Job.objects.count() == 1


# --- raw XML -------------------------------------------------------------------------------------


def test_an_admin_replaces_the_xml_after_the_xml_editors_review(lab, admin):
    xml = lab.xml.replace("web1", "www1")
    response = put(api(admin), xml_url(lab), {"xml": xml}, version(lab))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.params["xml"], job.params["base_xml"]) == (xml, lab.saved_xml)
    assert [u["command"] for u in job.params["live"]] == ["modify"]


@pytest.mark.parametrize(
    ("xml", "words"),
    [
        ("<network><name>lab</name>", "well-formed"),
        ("", "required"),
        ("<network><name>other</name></network>", "name must stay"),
        ("<network><name>lab</name><forward mode='warp'/></network>", "schema"),
        ("<network><name>lab\ud800</name></network>", ""),
    ],
)
def test_xml_the_editor_refuses_is_refused_under_xml(lab, admin, xml, words):
    response = put(api(admin), xml_url(lab), {"xml": xml}, version(lab))
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert list(errors) == ["xml"]
    assert words in " ".join(errors["xml"])
    assert Job.objects.count() == 0


def test_only_admins_replace_the_xml_and_only_on_the_current_version(lab, operator, admin):
    xml = lab.xml.replace("web1", "www1")
    assert put(api(operator), xml_url(lab), {"xml": xml}, version(lab)).status_code == 403
    assert put(api(admin), xml_url(lab), {"xml": xml}).status_code == 428
    assert put(api(admin), xml_url(lab), {"xml": xml}, '"0123456789ab"').status_code == 412
    assert Job.objects.count() == 0


# --- deleting ------------------------------------------------------------------------------------


def test_an_admin_deletes_a_switch_with_an_undefine_job(lab, admin):
    response = api(admin).delete(reverse("api-v1:switch-delete", args=["testdrv", "lab"]))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network) == ("undefine", lab)


@pytest.mark.parametrize(("who", "status"), [("operator", 403), ("viewer", 403), ("outsider", 404)])
def test_only_admins_delete_a_switch(lab, request, who, status):
    client = api(request.getfixturevalue(who))
    assert client.delete(reverse("api-v1:switch-delete", args=["testdrv", "lab"])).status_code == (
        status
    )
    assert Job.objects.count() == 0
