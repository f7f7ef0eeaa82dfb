"""The audit trail: jobs (who, from where, what, on what, result, definition before and after),
host administration, changes seen outside vnetweb; the audit page, its CSV and filters, a
network's history, and that nobody edits or deletes an entry."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from networks import audit, gateway, tasks
from networks.models import AuditEntry, Host, Job, Network
from networks.sync import record_network, record_snapshot
from tests.test_live import FACTS, info
from tests.test_tasks_testdriver import (
    URI,
    default_net,  # noqa: F401  (a fixture)
)

XML_A = "<network><name>a</name><bridge name='vb-a'/></network>"
XML_A2 = (
    "<network><name>a</name><bridge name='vb-a'/><ip address='10.1.2.1' prefix='24'/></network>"
)


@pytest.mark.usefixtures("default_net")
def test_a_job_asked_for_on_the_site_is_recorded_with_who_where_and_the_result(operator, client_as):
    url = reverse("network-action", args=["testdrv", "default", "stop"])
    client_as(operator).post(url, REMOTE_ADDR="192.0.2.44")
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.user, str(entry.address)) == (
        operator.username,
        operator,
        "192.0.2.44",
    )
    assert (entry.action, entry.host_name, entry.network_name, entry.result) == (
        "stop",
        "testdrv",
        "default",
        "queued",
    )
    assert "<name>default</name>" in entry.before
    assert tasks.run_job(entry.job_id) is None
    entry.refresh_from_db()
    assert (entry.result, entry.message) == ("succeeded", "Stopped default.")
    assert not audit.diff(entry)  # stopping changes no definition


def test_a_created_switch_has_its_definition_after_and_none_before(test_host, admin):
    from networks.jobs import create_job

    xml = "<network><name>vnwt-audit</name><bridge name='vnwtaud0'/></network>"
    job = create_job(admin, test_host, "define", target="vnwt-audit", params={"xml": xml})
    try:
        tasks.run_job(job.pk)
        entry = AuditEntry.objects.get(job=job)
        assert entry.result == "succeeded", entry.message
        assert entry.before == "" and "<name>vnwt-audit</name>" in entry.after
        assert entry.username == admin.username
    finally:
        gateway.undefine_network(URI, "vnwt-audit")


def test_the_diff_shows_the_definition_change():
    entry = AuditEntry(before=XML_A, after=XML_A2)
    assert ("add", "+" + XML_A2) in audit.diff(entry)
    assert ("del", "-" + XML_A) in audit.diff(entry)
    assert audit.diff(AuditEntry(before=XML_A, after=XML_A)) == []


def test_host_administration_is_recorded_and_outlives_the_host(admin, client_as):
    client = client_as(admin)
    client.post(reverse("host-add"), {"name": "kvm7", "uri": "test:///default"})
    client.post(
        reverse("host-edit", args=["kvm7"]),
        {"name": "kvm7", "uri": "test:///default", "description": "lab"},
    )
    client.post(reverse("host-delete", args=["kvm7"]))
    assert not Host.objects.filter(name="kvm7").exists()
    entries = AuditEntry.objects.filter(host_name="kvm7").order_by("pk")
    assert [e.action for e in entries if e.action.startswith("host-")] == [
        "host-add",
        "host-edit",
        "host-delete",
    ]
    edit = entries.get(action="host-edit")
    assert ("add", "+description: lab") in audit.diff(edit)
    assert all(e.host is None for e in entries)  # the host went; its name stays
    assert admin.username in client.get(reverse("audit-list") + "?host=kvm7").content.decode()


@pytest.fixture
def known_host(test_host) -> Host:
    record_snapshot(test_host, gateway.HostSnapshot(FACTS, (info("a"),)))
    test_host.refresh_from_db()
    AuditEntry.objects.all().delete()
    return test_host


def test_the_first_read_of_a_host_records_nothing(test_host):
    record_snapshot(test_host, gateway.HostSnapshot(FACTS, (info("a"), info("b"))))
    assert not AuditEntry.objects.exists()


def test_changes_made_outside_vnetweb_are_recorded_as_such(known_host):
    record_snapshot(known_host, gateway.HostSnapshot(FACTS, (info("a"), info("b"))))
    defined = AuditEntry.objects.get()
    assert (defined.outside, defined.action, defined.network_name) == (
        True,
        "outside-defined",
        "b",
    )
    assert defined.username == "" and defined.user is None
    changed = gateway.NetworkInfo(
        "a", str(Network.objects.get(name="a").uuid), True, True, False, XML_A2
    )
    record_network(known_host, "a", changed)
    kinds = set(AuditEntry.objects.filter(network_name="a").values_list("action", flat=True))
    assert kinds == {"outside-changed", "outside-started"}
    entry = AuditEntry.objects.get(action="outside-changed")
    assert any("ip address='10.1.2.1'" in line for _kind, line in audit.diff(entry))
    record_network(known_host, "b", None)
    assert AuditEntry.objects.filter(action="outside-undefined", network_name="b").exists()


def test_what_a_vnetweb_job_just_did_is_not_recorded_as_outside(known_host, operator):
    Job.objects.create(
        user=operator,
        username=operator.username,
        host=known_host,
        target="a",
        operation="stop",
        state=Job.State.SUCCEEDED,
        finished=timezone.now(),
    )
    record_network(known_host, "a", None)
    assert not AuditEntry.objects.filter(outside=True).exists()


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_audit_page_filters_and_exports_what_the_user_may_see(
    known_host, viewer, outsider, admin, client_as
):
    audit.record(admin, "host-edit", host=known_host, message="=cmd|' /C calc'!A0")
    AuditEntry.objects.create(outside=True, action="outside-defined", host_name="gone-host")
    AuditEntry.objects.create(
        outside=True,
        action="outside-stopped",
        host=known_host,
        host_name=known_host.name,
        network_name="a",
    )
    client = client_as(viewer)
    page = client.get(reverse("audit-list")).content.decode()
    assert page.count("<tr data-audit=") == 2  # not the removed host's, which only admins see
    assert (
        client.get(reverse("audit-list") + "?user=outside")
        .content.decode()
        .count("<tr data-audit=")
        == 1
    )
    filtered = client.get(reverse("audit-list") + "?network=a&result=done").content.decode()
    assert filtered.count("<tr data-audit=") == 1
    rows = _rows(client.get(reverse("audit-csv") + f"?user={admin.username}"))
    assert [(r["username"], r["action"]) for r in rows] == [(admin.username, "host-edit")]
    assert rows[0]["message"].startswith("'=")  # a formula stays text in a spreadsheet
    assert (
        client_as(admin).get(reverse("audit-list")).content.decode().count("<tr data-audit=") == 3
    )
    assert "<tr data-audit=" not in client_as(outsider).get(reverse("audit-list")).content.decode()
    since = (timezone.now() + timedelta(days=1)).date().isoformat()
    later = client.get(reverse("audit-list") + f"?since={since}").content.decode()
    assert "<tr data-audit=" not in later


def test_a_network_page_shows_its_history(known_host, viewer, client_as):
    AuditEntry.objects.create(
        outside=True,
        action="outside-changed",
        host=known_host,
        host_name=known_host.name,
        network_name="a",
        before=XML_A,
        after=XML_A2,
    )
    network = Network.objects.get(host=known_host, name="a")
    page = client_as(viewer).get(network.get_absolute_url()).content.decode()
    assert 'data-action="outside-changed"' in page
    assert "data-diff" in page


def test_nobody_edits_or_deletes_entries_in_the_admin(known_host, admin, client_as):
    entry = audit.record(admin, "host-edit", host=known_host)
    client = client_as(admin)
    assert client.get(reverse("admin:networks_auditentry_changelist")).status_code == 200
    assert client.get(reverse("admin:networks_auditentry_add")).status_code == 403
    delete = reverse("admin:networks_auditentry_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_old_entries_are_pruned(known_host, settings):
    settings.VNETWEB_AUDIT_DAYS = 30
    old = audit.record(None, "host-edit", host=known_host)
    AuditEntry.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(days=31))
    recent = audit.record(None, "host-edit", host=known_host)
    assert tasks.prune_audit() == 1
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [recent.pk]


def test_hosts_changed_in_the_django_admin_are_recorded_too(admin, client_as):
    client = client_as(admin)
    client.post(reverse("admin:networks_host_add"), {"name": "kvm8", "uri": "test:///default"})
    host = Host.objects.get(name="kvm8")
    client.post(reverse("admin:networks_host_delete", args=[host.pk]), {"post": "yes"})
    actions = list(
        AuditEntry.objects.filter(host_name="kvm8").order_by("pk").values_list("action", flat=True)
    )
    assert actions == ["host-add", "host-delete"]
    assert (
        AuditEntry.objects.filter(username=admin.username, message="In the Django admin.").count()
        == 2
    )


def test_users_changed_in_the_django_admin_are_recorded_too(admin, viewer, client_as):
    client = client_as(admin)
    client.post(reverse("admin:auth_user_delete", args=[viewer.pk]), {"post": "yes"})
    entry = AuditEntry.objects.get(action="user-delete")
    assert (entry.username, entry.message) == (
        admin.username,
        f"In the Django admin: {viewer.username}",
    )
