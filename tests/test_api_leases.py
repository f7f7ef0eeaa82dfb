"""The API's leases: a network's lease table, the search across every network, and Make
permanent (a job, or the page's refusals), driven through real views with real tokens."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from networks import tokens
from networks.models import Grant, Host, Job, Lease, Network
from networks.versions import definition_version

pytestmark = pytest.mark.postgres

SEARCH_ROW = re.compile(r'<tr data-mac="[^"]*" data-ip="([^"]*)" data-network="([^"]*)"')


def bearer(user: User) -> dict:
    _, key = tokens.issue(user, "t")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def leases_url(network: Network) -> str:
    return reverse("api-v1:network-leases", args=[network.host.name, network.name])


def pin_url(network: Network) -> str:
    return reverse("api-v1:lease-pin", args=[network.host.name, network.name])


@pytest.fixture
def lab(test_host, make_network) -> Network:
    """A running network with a dynamic lease, a reservation, an IPv6 lease without a DUID."""
    network = make_network(test_host, "lab", active=True, leases_seen=timezone.now())
    now = timezone.now()
    rows = [
        ("52:54:00:aa:00:09", "10.0.0.9", "web09", now + timedelta(hours=1), False, "web-vm"),
        ("52:54:00:aa:00:17", "10.0.0.17", "db", now + timedelta(hours=2), True, ""),
        ("52:54:00:aa:00:02", "10.0.0.2", "", None, False, ""),
        ("52:54:00:aa:00:66", "fd00::66", "six", None, False, ""),
    ]
    for mac, ip, hostname, expires, static, guest in rows:
        Lease.objects.create(
            network=network,
            mac=mac,
            ip=ip,
            prefix=24 if "." in ip else 64,
            hostname=hostname,
            expires=expires,
            static=static,
            guest=guest,
        )
    return network


@pytest.fixture
def edge(lab, make_network) -> Network:
    """A network on another host with a lease of a like hostname."""
    other = Host.objects.create(name="kvm2", uri="qemu+ssh://root@kvm2/system")
    edge = make_network(other, "edge", active=True)
    Lease.objects.create(
        network=edge, mac="52:54:00:cc:00:01", ip="192.168.5.9", prefix=24, hostname="web09-b"
    )
    return edge


# --- a network's lease table --------------------------------------------------------------------


def test_an_operator_lists_the_leases_in_address_order_and_which_can_be_pinned(
    lab, operator, client
):
    response = client.get(leases_url(lab), **bearer(operator))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    rows = {row["ip"]: row for row in body["results"]}
    assert [row["ip"] for row in body["results"]] == [
        "10.0.0.2",
        "10.0.0.9",
        "10.0.0.17",
        "fd00::66",
    ]
    assert rows["10.0.0.9"] | {"expires": None} == {
        "ip": "10.0.0.9",
        "prefix": 24,
        "mac": "52:54:00:aa:00:09",
        "hostname": "web09",
        "client_id": "",
        "expires": None,
        "static": False,
        "guest": "web-vm",
        "pinnable": True,
    }
    assert rows["10.0.0.9"]["expires"] is not None
    assert not rows["10.0.0.17"]["pinnable"], "a reservation already"
    assert not rows["fd00::66"]["pinnable"], "IPv6 without a DUID"


def test_a_viewer_sees_the_leases_but_none_it_could_pin(lab, viewer, client):
    body = client.get(leases_url(lab), **bearer(viewer)).json()
    assert body["count"] == 4
    assert not any(row["pinnable"] for row in body["results"])


def test_the_lease_list_takes_the_pages_filter_sort_and_paging(lab, viewer, client):
    auth = bearer(viewer)
    dynamic = client.get(leases_url(lab), {"kind": "dynamic", "sort": "-ip"}, **auth).json()
    assert [row["ip"] for row in dynamic["results"]] == ["fd00::66", "10.0.0.9", "10.0.0.2"]
    found = client.get(leases_url(lab), {"q": "52-54-00-AA-00-09"}, **auth).json()
    assert [row["ip"] for row in found["results"]] == ["10.0.0.9"]
    paged = client.get(leases_url(lab), {"per": 3, "page": 2}, **auth).json()
    assert (paged["count"], paged["pages"], [r["ip"] for r in paged["results"]]) == (
        4,
        2,
        ["fd00::66"],
    )


def test_an_unknown_sort_is_refused_with_the_field_named(lab, viewer, client):
    response = client.get(leases_url(lab), {"sort": "uptime"}, **bearer(viewer))
    assert response.status_code == 422
    assert "sort" in response.json()["errors"]


def test_an_outsider_does_not_find_the_network(lab, outsider, client):
    response = client.get(leases_url(lab), **bearer(outsider))
    assert response.status_code == 404


def test_the_browsers_session_reads_the_leases_too(lab, viewer, client_as):
    response = client_as(viewer).get(leases_url(lab))
    assert response.status_code == 200
    assert response.json()["count"] == 4


def test_without_a_token_or_session_the_leases_are_unauthorized(lab, client):
    assert client.get(leases_url(lab)).status_code == 401


# --- the search across every network ------------------------------------------------------------


def test_the_search_finds_what_the_search_page_finds(edge, viewer, client, client_as):
    page = client_as(viewer).get(reverse("lease-search"), {"q": "web09"}).content.decode()
    on_page = [(network, ip) for ip, network in SEARCH_ROW.findall(page)]
    body = client.get(reverse("api-v1:leases"), {"q": "web09"}, **bearer(viewer)).json()
    found = [(row["network"], row["ip"]) for row in body["results"]]
    assert found == on_page == [("edge", "192.168.5.9"), ("lab", "10.0.0.9")]
    assert body["results"][0]["host"] == "kvm2"


def test_a_whole_address_finds_only_itself(edge, viewer, client):
    body = client.get(reverse("api-v1:leases"), {"q": "10.0.0.1"}, **bearer(viewer)).json()
    assert body["count"] == 0


def test_an_empty_search_finds_nothing_as_on_the_page(edge, viewer, client):
    body = client.get(reverse("api-v1:leases"), {"q": "  "}, **bearer(viewer)).json()
    assert (body["count"], body["results"]) == (0, [])


def test_a_grant_on_one_network_searches_only_its_leases(edge, outsider, client):
    Grant.objects.create(user=outsider, role="viewer", host=edge.host, networks="edge")
    body = client.get(reverse("api-v1:leases"), {"q": "web09"}, **bearer(outsider)).json()
    assert [row["network"] for row in body["results"]] == ["edge"]


def test_an_outsider_finds_nothing(edge, outsider, client):
    body = client.get(reverse("api-v1:leases"), {"q": "web09"}, **bearer(outsider)).json()
    assert body["count"] == 0


def test_too_long_a_search_is_refused(edge, viewer, client):
    response = client.get(reverse("api-v1:leases"), {"q": "x" * 201}, **bearer(viewer))
    assert response.status_code == 422
    assert "q" in response.json()["errors"]


# --- Make permanent -----------------------------------------------------------------------------


def test_an_operator_pins_a_lease_and_gets_its_job(lab, operator, client):
    version = definition_version(lab.saved_xml)
    data = {"mac": "52:54:00:AA:00:09", "ip": "10.0.0.9", "version": version}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(operator))
    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json()["id"] == job.pk
    assert response["Location"] == reverse("api-v1:job", args=[job.pk])
    assert (job.operation, job.network) == ("pin_lease", lab)
    assert job.params == {
        "mac": "52:54:00:aa:00:09",
        "ip": "10.0.0.9",
        "hostname": "web09",
        "client_id": "",
        "base_xml": lab.saved_xml,
    }


def test_a_hostname_sent_with_the_pin_names_the_reservation(lab, operator, client):
    data = {"mac": "52:54:00:aa:00:02", "ip": "10.0.0.2", "hostname": "builder"}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(operator))
    assert response.status_code == 202
    assert Job.objects.get().params["hostname"] == "builder"


def test_a_pin_on_a_definition_changed_since_is_refused_in_the_pages_words(lab, operator, client):
    old = definition_version("<network><name>lab</name><bridge name='virbr9'/></network>")
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9", "version": old}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(operator))
    assert response.status_code == 409
    assert "lab was changed since its leases were shown" in response.json()["detail"]
    assert not Job.objects.exists()


def test_a_viewer_may_not_pin(lab, viewer, client):
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(viewer))
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_an_outsider_pins_nothing_on_a_network_it_cannot_see(lab, outsider, client):
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(outsider))
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"mac": "52:54:00:aa:00:09", "ip": "10.0.0.999"}, "is not an IP address"),
        ({"mac": "52:54:00:aa:00:99", "ip": "10.0.0.9"}, "lab has no lease of 10.0.0.9"),
        ({"mac": "52:54:00:aa:00:66", "ip": "fd00::66"}, "has no client ID (DUID)"),
    ],
)
def test_a_pin_of_a_lease_that_cannot_be_reserved_is_refused_in_words(
    lab, operator, client, data, words
):
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(operator))
    assert response.status_code == 422
    assert words in response.json()["errors"]["__all__"][0]
    assert not Job.objects.exists()


def test_a_pin_without_a_mac_is_refused_by_field(lab, operator, client):
    response = client.post(
        pin_url(lab), {"ip": "10.0.0.9"}, content_type="application/json", **bearer(operator)
    )
    assert response.status_code == 422
    assert "mac" in response.json()["errors"]


def test_a_pin_on_a_stopped_network_is_a_conflict(lab, operator, client):
    Network.objects.filter(pk=lab.pk).update(active=False)
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client.post(pin_url(lab), data, content_type="application/json", **bearer(operator))
    assert response.status_code == 409
    assert "lab is not running" in response.json()["detail"]


def test_a_read_only_token_may_not_pin(lab, operator, client):
    _, key = tokens.issue(operator, "ro", read_only=True)
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client.post(
        pin_url(lab), data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_search_with_a_nul_character_is_refused_not_an_error(edge, viewer, client):
    response = client.get(reverse("api-v1:leases"), {"q": "web\x0009"}, **bearer(viewer))
    assert response.status_code == 422
