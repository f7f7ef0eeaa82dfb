"""The audit API: the entries the audit page shows to whom, with its filters, in pages; each with
the API token it was made with and its change as diff lines."""

import pytest
from django.test import Client
from django.urls import reverse

from networks import audit, tokens
from networks.models import AuditEntry, Grant, Host

pytestmark = pytest.mark.postgres

AUDIT = reverse("api-v1:audit")


def api(user, name: str = "t") -> Client:
    _token, key = tokens.issue(user, name)
    return Client(headers={"authorization": f"Bearer {key}"})


@pytest.fixture
def trail(test_host, admin, operator):
    """Entries on two hosts, by two users, one made with a token, one seen outside vnetweb."""
    other = Host.objects.create(name="kvm9", uri="qemu:///system")
    audit.request_token.set("ansible")
    try:
        audit.record(admin, "host-edit", host=test_host, before="uri: a", after="uri: b")
    finally:
        audit.request_token.set("")
    audit.record(operator, "start", host=test_host, network_name="lab-1", result="failed")
    audit.record(operator, "stop", host=other, network_name="web")
    AuditEntry.objects.create(
        outside=True, action="outside-started", host=other, host_name="kvm9", network_name="web"
    )
    return other


def actions(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [entry["action"] for entry in response.json()["results"]]


def test_a_viewer_reads_the_trail_newest_first_with_tokens_and_diffs(trail, viewer):
    body = api(viewer).get(AUDIT).json()

    assert [e["action"] for e in body["results"]] == [
        "outside-started",
        "stop",
        "start",
        "host-edit",
    ]
    edit = body["results"][-1]
    assert (edit["user"], edit["token"], edit["host"]) == ("alice-admin", "ansible", "testdrv")
    assert "-uri: a" in edit["diff"] and "+uri: b" in edit["diff"]
    assert body["results"][0]["outside"] is True


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"user": "oscar-operator"}, ["stop", "start"]),
        ({"user": "outside"}, ["outside-started"]),
        ({"host": "kvm9"}, ["outside-started", "stop"]),
        ({"network": "lab-1"}, ["start"]),
        ({"action": "host-"}, ["host-edit"]),
        ({"result": "failed"}, ["start"]),
        ({"since": "2000-01-01", "until": "2999-12-31", "host": "testdrv"}, ["start", "host-edit"]),
        ({"until": "2000-01-01"}, []),
    ],
)
def test_the_pages_filters_narrow_the_trail(trail, admin, query, expected):
    assert actions(api(admin).get(AUDIT, query)) == expected


def test_the_trail_comes_in_pages(trail, admin):
    body = api(admin).get(AUDIT, {"per": 3, "page": 2}).json()
    assert (body["count"], body["pages"], body["page"]) == (5, 2, 2)  # the token's own entry too
    assert [e["action"] for e in body["results"]] == ["start", "host-edit"]


def test_a_host_grant_sees_only_its_hosts_entries_and_no_grants(trail, test_host, outsider, admin):
    Grant.objects.create(user=outsider, host=test_host, role="viewer")
    audit.record(admin, "grant-add", host=test_host, message="otto-outsider: viewer on testdrv")
    assert actions(api(outsider).get(AUDIT)) == ["start", "host-edit"]


def test_an_outsider_sees_no_entry(trail, outsider):
    assert actions(api(outsider).get(AUDIT)) == []


@pytest.mark.parametrize(
    "query", [{"result": "maybe"}, {"since": "yesterday"}, {"per": 0}, {"user": "x" * 151}]
)
def test_a_filter_that_is_not_one_is_a_field_error(trail, admin, query):
    response = api(admin).get(AUDIT, query)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == list(query)


def test_a_browser_session_reads_the_trail_too(trail, viewer, client_as):
    assert actions(client_as(viewer).get(AUDIT, {"host": "kvm9"})) == ["outside-started", "stop"]
