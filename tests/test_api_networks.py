"""The API's network list, detail and buttons: the page's filters and permissions, as JSON."""

import pytest
from django.test import Client

from networks import tokens
from networks.models import Grant, Job
from networks.versions import definition_version

pytestmark = pytest.mark.postgres

LIST = "/api/v1/networks/"


def bearer(user, name: str = "t", **options) -> dict:
    _, key = tokens.issue(user, name, **options)
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def world(test_host, make_network):
    make_network(test_host, "lab-1", ipv4="10.1.0.1/24", active=True)
    make_network(test_host, "prod-1", ipv4="10.2.0.1/24")
    return test_host


def test_the_list_needs_a_token_or_a_login(world):
    response = Client().get(LIST)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "token" in response.json()["detail"]


def test_a_viewer_lists_every_network_with_a_token(world, viewer):
    response = Client().get(LIST, **bearer(viewer))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [n["name"] for n in body["results"]] == ["lab-1", "prod-1"]
    assert body["results"][0]["url"] == "/api/v1/networks/testdrv/lab-1/"


def test_a_browser_session_works_too(world, viewer, client_as):
    assert client_as(viewer).get(LIST).json()["count"] == 2


def test_the_list_takes_the_pages_filters(world, viewer):
    client = Client()
    auth = bearer(viewer)
    assert [n["name"] for n in client.get(LIST, {"q": "prod"}, **auth).json()["results"]] == [
        "prod-1"
    ]
    assert client.get(LIST, {"subnet": "10.1.0.7"}, **auth).json()["count"] == 1
    assert client.get(LIST, {"state": "active"}, **auth).json()["count"] == 1
    assert client.get(LIST, {"sort": "-name"}, **auth).json()["results"][0]["name"] == "prod-1"


def test_a_bad_subnet_is_a_field_error_with_the_pages_message(world, viewer):
    response = Client().get(LIST, {"subnet": "10.1.0.0/33"}, **bearer(viewer))
    assert response.status_code == 422
    assert "is not an address or subnet" in response.json()["errors"]["subnet"][0]


def test_the_list_comes_in_pages(world, viewer):
    body = Client().get(LIST, {"per": 1, "page": 2}, **bearer(viewer)).json()
    assert (body["count"], body["page"], body["pages"], body["per"]) == (2, 2, 2, 1)
    assert [n["name"] for n in body["results"]] == ["prod-1"]


def test_a_per_network_grant_lists_only_its_networks(world, outsider):
    Grant.objects.create(user=outsider, host=world, role="viewer", networks="lab-*")
    body = Client().get(LIST, **bearer(outsider)).json()
    assert [n["name"] for n in body["results"]] == ["lab-1"]


def test_the_detail_carries_the_definitions_version_as_etag(world, viewer):
    response = Client().get(f"{LIST}testdrv/lab-1/", **bearer(viewer))
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == definition_version(body["xml"])
    assert response["ETag"] == f'"{body["version"]}"'
    assert body["actions"] == []  # a viewer has no buttons


def test_an_operator_sees_the_buttons_it_may_press(world, operator):
    body = Client().get(f"{LIST}testdrv/lab-1/", **bearer(operator)).json()
    assert body["actions"] == ["stop", "restart", "autostart-on"]


def test_a_network_the_user_cannot_see_is_not_found(world, outsider):
    response = Client().get(f"{LIST}testdrv/lab-1/", **bearer(outsider))
    assert response.status_code == 404


def test_an_operator_starts_a_network_and_gets_the_job(world, operator):
    response = Client().post(f"{LIST}testdrv/prod-1/actions/start/", **bearer(operator, "ci"))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.target, job.username) == ("start", "prod-1", operator.username)
    assert response["Location"] == f"/api/v1/jobs/{job.pk}/"
    assert response.json()["id"] == job.pk
    assert job.auditentry_set.get().token == "ci"


def test_with_wait_the_change_sends_the_script_to_the_job_that_waits(world, operator):
    response = Client().post(f"{LIST}testdrv/prod-1/actions/stop/?wait=30", **bearer(operator))
    assert response.status_code == 303
    assert response["Location"] == f"/api/v1/jobs/{Job.objects.get().pk}/?wait=30"


def test_a_viewer_may_not_start_a_network(world, viewer):
    response = Client().post(f"{LIST}testdrv/prod-1/actions/start/", **bearer(viewer))
    assert response.status_code == 403
    assert "may not" in response.json()["detail"]
    assert not Job.objects.exists()


def test_a_read_only_token_may_not_change_anything(world, operator):
    response = Client().post(
        f"{LIST}testdrv/prod-1/actions/start/", **bearer(operator, read_only=True)
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Job.objects.exists()


def test_an_unknown_action_is_refused_in_the_schemas_words(world, operator):
    response = Client().post(f"{LIST}testdrv/prod-1/actions/reboot/", **bearer(operator))
    assert response.status_code == 422
    assert "action" in response.json()["errors"]
    assert not Job.objects.exists()


def test_a_session_change_needs_the_csrf_token(world, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    response = client.post(f"{LIST}testdrv/prod-1/actions/start/")
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_a_nul_character_in_a_name_or_a_filter_is_refused_not_a_server_error(world, viewer):
    auth = bearer(viewer)
    assert Client().get(f"{LIST}testdrv/lab%00/", **auth).status_code == 404
    response = Client().get(LIST, {"q": "lab\x00"}, **auth)
    assert response.status_code == 422
    assert "NUL" in response.json()["errors"]["q"][0]
