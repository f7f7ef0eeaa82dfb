"""The API's jobs: what the user sees of them, and `?wait=` for scripts that want one call."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from networks import jobs
from networks.models import Grant, Job
from tests.test_api_networks import bearer

pytestmark = pytest.mark.postgres


@pytest.fixture
def job(test_host, make_network, operator):
    network = make_network(test_host, "lab-1")
    return Job.objects.create(
        username=operator.username,
        host=test_host,
        network=network,
        target="lab-1",
        operation="start",
    )


def test_a_job_tells_its_state_and_message(job, viewer):
    body = Client().get(f"/api/v1/jobs/{job.pk}/", **bearer(viewer)).json()
    assert (body["state"], body["operation"], body["network"], body["host"]) == (
        "queued",
        "start",
        "lab-1",
        "testdrv",
    )
    assert body["page"] == f"/jobs/{job.pk}/"


def test_the_job_list_is_newest_first_and_filters_by_state(job, viewer):
    auth = bearer(viewer)
    assert Client().get("/api/v1/jobs/", **auth).json()["results"][0]["id"] == job.pk
    assert Client().get("/api/v1/jobs/", {"state": "failed"}, **auth).json()["count"] == 0


def test_jobs_of_hosts_the_user_cannot_see_are_not_found(job, outsider):
    auth = bearer(outsider)
    assert Client().get(f"/api/v1/jobs/{job.pk}/", **auth).status_code == 404
    assert Client().get("/api/v1/jobs/", **auth).json()["count"] == 0


def test_a_per_network_grant_sees_the_jobs_of_its_networks(job, outsider):
    Grant.objects.create(user=outsider, host=job.host, role="viewer", networks="lab-*")
    assert Client().get(f"/api/v1/jobs/{job.pk}/", **bearer(outsider)).status_code == 200


def test_wait_gives_up_after_the_seconds_asked_with_the_job_as_it_is(job, viewer):
    started = time.monotonic()
    body = Client().get(f"/api/v1/jobs/{job.pk}/?wait=0.6", **bearer(viewer)).json()
    assert body["state"] == "queued"
    assert 0.5 < time.monotonic() - started < 5


@pytest.mark.django_db(transaction=True)
def test_wait_answers_as_soon_as_the_job_ends(test_host, make_network, viewer):
    network = make_network(test_host, "lab-1")
    job = Job.objects.create(
        username="x", host=test_host, network=network, target="lab-1", operation="start"
    )
    auth = bearer(viewer)

    def end_soon():
        time.sleep(0.5)
        claimed = jobs.claim(job.pk, "w1")
        jobs.finish(claimed, "Started lab-1.")
        connection.close()

    threading.Thread(target=end_soon).start()
    started = time.monotonic()
    body = Client().get(f"/api/v1/jobs/{job.pk}/?wait=20", **auth).json()
    assert (body["state"], body["message"]) == ("succeeded", "Started lab-1.")
    assert time.monotonic() - started < 5


def test_a_wait_is_capped_by_the_setting(job, viewer, settings):
    settings.VNETWEB_API_WAIT_MAX = 0.3
    started = time.monotonic()
    Client().get(f"/api/v1/jobs/{job.pk}/?wait=3000", **bearer(viewer))
    assert time.monotonic() - started < 3


def test_a_wait_longer_than_an_hour_is_a_field_error(job, viewer):
    response = Client().get(f"/api/v1/jobs/{job.pk}/?wait=7200", **bearer(viewer))
    assert response.status_code == 422
    assert "wait" in response.json()["errors"]
