"""The audit trail: jobs (who, from where, what, on what, result, definition before and after),
host administration, changes seen outside vnetweb; the audit page, its CSV and filters, a
network's history, and that nobody edits or deletes an entry."""

import csv
import io
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from networks import audit, gateway
from networks.models import AuditEntry, Grant, Guest, Host, Job, Network
from networks.worker import tasks
from networks.worker.sync import record_network, record_snapshot
from tests.test_live import FACTS, info
from tests.test_tasks_testdriver import (
    URI,
    default_net,  # noqa: F401  (a fixture)
)

pytestmark = pytest.mark.postgres

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


def test_the_csv_export_holds_at_most_the_configured_entries_and_says_so(
    admin, client_as, settings
):
    settings.VNETWEB_AUDIT_CSV_ROWS = 3
    for n in range(3):
        AuditEntry.objects.create(outside=True, action=f"outside-{n}", host_name="h")
    rows = _rows(client_as(admin).get(reverse("audit-csv")))
    assert [r["action"] for r in rows] == ["outside-2", "outside-1", "outside-0"]
    AuditEntry.objects.create(outside=True, action="outside-3", host_name="h")
    rows = _rows(client_as(admin).get(reverse("audit-csv")))
    assert [r["action"] for r in rows[:3]] == ["outside-3", "outside-2", "outside-1"]
    assert rows[3]["created"] == (
        "# Only the newest 3 entries: narrow the filters (since, until) for the others."
    )
    assert len(rows) == 4


# --- a NIC job's entry, seen by whoever sees its network ----------------------------------------

SECRET = "<domain><name>vm-x</name><os><cmdline>password=hunter2</cmdline></os></domain>"
LAB_NIC, PROD_NIC = "52:54:00:aa:00:01", "52:54:00:aa:00:02"


def test_a_nic_job_records_the_nics_on_its_network_not_the_guests_definition(
    test_host, make_network, make_guest, operator, outsider, client_as
):
    # outsider: a viewer of lab-* only, who sees neither the guest nor prod-1.
    Grant.objects.create(user=outsider, role="viewer", host=test_host, networks="lab-*")
    lab = make_network(test_host, "lab-1")
    make_network(test_host, "prod-1")
    nics = [("lab-1", LAB_NIC), ("prod-1", PROD_NIC)]
    guest = make_guest(test_host, "vm-x", nics=nics, state="shut off", xml=SECRET)
    url = reverse("guest-nic-detach", args=[test_host.name, guest.name, LAB_NIC])
    assert client_as(operator).post(url).status_code == 302
    job = Job.objects.get()
    # What the worker does when the detach is done: the guest is read again, the job ends.
    Guest.objects.filter(pk=guest.pk).update(nics=guest.nics[1:], xml=SECRET.replace("os", "OS"))
    audit.job_ended(job, Job.State.SUCCEEDED, f"Detached the NIC {LAB_NIC} from vm-x.")

    entry = AuditEntry.objects.get(job=job)
    assert (entry.network_name, entry.guest_name) == ("lab-1", "vm-x")
    assert (entry.before, entry.after) == (f"{LAB_NIC} on network lab-1: model virtio, link up", "")
    viewer = client_as(outsider)
    pages = {
        "audit": viewer.get(reverse("audit-list")).content.decode(),
        "csv": viewer.get(reverse("audit-csv")).content.decode(),
        "history": viewer.get(lab.get_absolute_url()).content.decode(),
    }
    for where, page in pages.items():
        assert LAB_NIC in page, f"the entry's change shows in the {where}"
        for hidden in ("hunter2", "&lt;domain", "<domain", PROD_NIC, "prod-1"):
            assert hidden not in page, f"{hidden} shows in the {where}"


def test_the_guest_definitions_nic_jobs_stored_before_are_dropped(test_host):
    migration = import_module("networks.migrations.0012_audit_nic_entries_without_guest_xml")
    for action in ("nic_move", "stop"):
        AuditEntry.objects.create(action=action, host=test_host, before=SECRET, after=SECRET)
    migration.drop_guest_definitions(apps, None)
    kept = dict(AuditEntry.objects.values_list("action", "before"))
    assert kept == {"nic_move": "", "stop": SECRET}
