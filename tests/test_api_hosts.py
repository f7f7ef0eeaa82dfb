"""The hosts API: what the host pages show to whom, and the admins' add/edit/remove with the
pages' own form, audit entries and probe; "Check now" as a job for operators.

As in tests/test_host_views.py, on_commit work (the workers' broadcast, the job's queueing) never
runs in these `db` tests: what is asked of it is read with django_capture_on_commit_callbacks.
"""

import pytest
from django.test import Client
from django.urls import reverse

from networks import host_uri, tokens, workers
from networks.models import AuditEntry, Grant, Host, Job
from networks.operations import Op
from networks.workers import broadcast_sync

pytestmark = pytest.mark.postgres

HOSTS = reverse("api-v1:hosts")


def host_url(name: str = "testdrv") -> str:
    return reverse("api-v1:host", args=[name])


def api(user, name: str = "t", **options) -> Client:
    """A client that sends a real token of `user` (no session)."""
    _token, key = tokens.issue(user, name, **options)
    return Client(headers={"authorization": f"Bearer {key}"})


@pytest.fixture(autouse=True)
def credential_dirs(settings):
    settings.VNETWEB_SSH_DIR = "/etc/vnetweb/ssh"
    settings.VNETWEB_PKI_DIR = "/etc/vnetweb/pki"


@pytest.fixture
def other_host(db) -> Host:
    return Host.objects.create(name="kvm9", uri="qemu+ssh://root@kvm9/system")


# --- reading -------------------------------------------------------------------------------------


def test_a_viewer_lists_the_hosts_with_their_facts_and_counts_of_networks(
    test_host, other_host, make_network, viewer
):
    test_host.reachable, test_host.libvirt_version, test_host.cpus = True, "10.0.0", 4
    test_host.save()
    make_network(test_host, "net1", active=True)
    make_network(test_host, "net2")

    body = api(viewer).get(HOSTS).json()

    assert body["count"] == 2
    row = {host["name"]: host for host in body["results"]}["testdrv"]
    assert row["uri"] == "test:///default"
    assert (row["reachable"], row["libvirt_version"], row["cpus"]) == (True, "10.0.0", 4)
    assert (row["networks"], row["active_networks"]) == (2, 1)
    assert row["url"] == host_url()
    assert row["page"] == reverse("host-detail", args=["testdrv"])
    assert row["unserved"] is False


def test_a_host_grant_sees_its_host_only_and_counts_only_the_networks_it_sees(
    test_host, other_host, make_network, outsider
):
    Grant.objects.create(user=outsider, host=test_host, role="viewer", networks="lab-*")
    make_network(test_host, "lab-1")
    make_network(test_host, "prod-1")

    body = api(outsider).get(HOSTS).json()

    assert [(h["name"], h["networks"]) for h in body["results"]] == [("testdrv", 1)]
    assert api(outsider, "t2").get(host_url("kvm9")).status_code == 404


def test_an_outsider_sees_no_host_and_one_asked_for_is_not_found(test_host, outsider):
    client = api(outsider)
    assert client.get(HOSTS).json()["results"] == []
    assert client.get(host_url()).status_code == 404


def test_a_host_without_a_live_worker_is_said_to_be_unserved(
    test_host, viewer, settings, monkeypatch
):
    settings.VNETWEB_WORKER_PRESENCE = True
    monkeypatch.setattr(workers, "live", dict)  # Redis answers: no worker at all
    assert api(viewer).get(host_url()).json()["unserved"] is True


def test_the_host_tells_its_version_the_actions_allowed_and_its_last_check(
    test_host, operator, admin
):
    api(operator).post(reverse("api-v1:host-probe", args=["testdrv"]))

    seen = api(operator, "t2").get(host_url()).json()
    assert seen["actions"] == ["probe"]
    assert seen["probe_job"]["operation"] == Op.PROBE
    assert seen["version"]
    assert api(admin).get(host_url()).json()["actions"] == ["probe", "edit", "delete"]


def test_a_browser_session_reads_the_hosts_too(test_host, viewer, client_as):
    response = client_as(viewer).get(HOSTS)
    assert response.status_code == 200
    assert response.json()["results"][0]["name"] == "testdrv"


def test_anonymous_is_asked_to_log_in_or_send_a_token(test_host):
    assert Client().get(HOSTS).status_code == 401


# --- adding --------------------------------------------------------------------------------------


def test_an_admin_adds_a_host_and_it_is_checked_the_workers_told_and_the_token_named(
    admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(admin, "ansible").post(
            HOSTS,
            {"name": "kvm1", "uri": "qemu+ssh://root@kvm1/system", "description": "rack 3"},
            content_type="application/json",
        )

    assert response.status_code == 201, response.content
    assert response["Location"] == host_url("kvm1")
    host = Host.objects.get(name="kvm1")
    assert (host.uri, host.description) == ("qemu+ssh://root@kvm1/system", "rack 3")
    job = Job.objects.get(host=host)
    assert (job.operation, job.username) == (Op.PROBE, admin.username)
    assert response.json()["probe_job"]["id"] == job.pk
    assert broadcast_sync in callbacks
    entry = AuditEntry.objects.get(action="host-add")
    assert (entry.token, entry.username, entry.host_name) == ("ansible", admin.username, "kvm1")
    assert AuditEntry.objects.get(job=job).token == "ansible"


ROOT_SHELL_URIS = [
    "qemu+ssh://root@kvm1/system?command=/bin/sh",
    "qemu+ssh://root@kvm1/system?NETCAT=/tmp/nc",
    "qemu+ssh://-oProxyCommand=id@kvm1/system",
    "qemu+ssh://root@kvm1/system?keyfile=/etc/shadow",
    "test:///dev/zero",
]


@pytest.mark.parametrize("uri", ROOT_SHELL_URIS)
def test_a_uri_libvirt_would_run_a_program_with_is_refused_in_the_forms_words(admin, uri):
    response = api(admin).post(HOSTS, {"name": "kvm1", "uri": uri}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"] == {"uri": [host_uri.refusal(uri)]}
    assert not Host.objects.exists()
    assert not Job.objects.exists()


def test_a_duplicate_or_reserved_name_is_a_field_error(test_host, admin):
    client = api(admin)
    for name in ("testdrv", "add"):
        response = client.post(
            HOSTS, {"name": name, "uri": "qemu:///system"}, content_type="application/json"
        )
        assert response.status_code == 422
        assert list(response.json()["errors"]) == ["name"]
    assert Host.objects.count() == 1


def test_a_body_without_a_uri_is_a_field_error(admin):
    response = api(admin).post(HOSTS, {"name": "kvm1"}, content_type="application/json")
    assert response.status_code == 422
    assert "uri" in response.json()["errors"]


def test_only_global_admins_add_hosts(test_host, operator, outsider):
    Grant.objects.create(user=outsider, host=test_host, role="admin")
    body = {"name": "kvm1", "uri": "qemu:///system"}
    for user in (operator, outsider):
        response = api(user).post(HOSTS, body, content_type="application/json")
        assert response.status_code == 403
    assert not Host.objects.filter(name="kvm1").exists()


def test_a_read_only_token_adds_no_host(admin):
    response = api(admin, read_only=True).post(
        HOSTS, {"name": "kvm1", "uri": "qemu:///system"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert not Host.objects.exists()


# --- editing and removing ------------------------------------------------------------------------


def test_an_admin_changes_the_description_only_and_the_host_is_checked_again(test_host, admin):
    response = api(admin, "ci").patch(
        host_url(), {"description": "rack 4"}, content_type="application/json"
    )

    assert response.status_code == 200, response.content
    test_host.refresh_from_db()
    assert (test_host.uri, test_host.description) == ("test:///default", "rack 4")
    entry = AuditEntry.objects.get(action="host-edit")
    assert (entry.token, entry.after.splitlines()[-1]) == ("ci", "description: rack 4")
    assert Job.objects.get().operation == Op.PROBE
    assert response.json()["version"] != ""


def test_an_edit_from_a_version_another_admin_changed_is_refused_with_what_changed(
    test_host, admin
):
    client = api(admin)
    seen = client.get(host_url()).json()["version"]
    client.patch(host_url(), {"description": "first"}, content_type="application/json")

    response = client.patch(
        host_url(), {"description": "second", "version": seen}, content_type="application/json"
    )

    assert response.status_code == 409
    assert 'the description from "test driver" to "first"' in response.json()["detail"]
    test_host.refresh_from_db()
    assert test_host.description == "first"


def test_editing_to_a_uri_that_runs_a_program_changes_nothing(test_host, admin):
    uri = "qemu+ssh://root@kvm1/system?command=/bin/sh"
    response = api(admin).patch(
        host_url(), {"uri": uri, "description": "x"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"] == {"uri": [host_uri.refusal(uri)]}
    test_host.refresh_from_db()
    assert (test_host.uri, test_host.description) == ("test:///default", "test driver")
    assert not Job.objects.exists()


def test_the_name_is_not_changed_by_an_edit(test_host, admin):
    api(admin).patch(host_url(), {"name": "other"}, content_type="application/json")
    assert Host.objects.get().name == "testdrv"


def test_an_admin_removes_a_host_and_the_workers_are_told(
    test_host, admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api(admin, "ci").delete(host_url())
    assert response.status_code == 204
    assert not Host.objects.exists()
    assert broadcast_sync in callbacks
    entry = AuditEntry.objects.get(action="host-delete")
    assert (entry.token, entry.host_name) == ("ci", "testdrv")


def test_others_may_not_edit_or_remove_a_host_and_the_outsider_does_not_see_it(
    test_host, operator, outsider
):
    for user, status in ((operator, 403), (outsider, 404)):
        client = api(user)
        patched = client.patch(host_url(), {"description": "x"}, content_type="application/json")
        assert (patched.status_code, client.delete(host_url()).status_code) == (status, status)
    test_host.refresh_from_db()
    assert test_host.description == "test driver"


# --- checking ------------------------------------------------------------------------------------


def test_an_operator_checks_a_host_and_gets_the_job(test_host, operator):
    response = api(operator, "cron").post(reverse("api-v1:host-probe", args=["testdrv"]))
    assert response.status_code == 202
    job = Job.objects.get()
    assert response["Location"] == reverse("api-v1:job", args=[job.pk])
    assert (response.json()["operation"], job.operation) == (Op.PROBE, Op.PROBE)
    assert AuditEntry.objects.get(job=job).token == "cron"


def test_a_viewer_may_not_check_a_host_and_the_outsider_does_not_see_it(
    test_host, viewer, outsider
):
    url = reverse("api-v1:host-probe", args=["testdrv"])
    assert api(viewer).post(url).status_code == 403
    assert api(outsider).post(url).status_code == 404
    assert not Job.objects.exists()
