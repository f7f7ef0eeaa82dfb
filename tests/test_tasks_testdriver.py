"""Workers' tasks on libvirt's test driver (test:///default, whose state lives in this process).

The test driver's "default" network is shared by every connection of the process and the gateway
keeps its connection open, so every test that changes it puts it back (see `default_net`).
"""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from networks import gateway, jobs
from networks.models import Host, Job, Lease, Network
from networks.operations import Op
from networks.worker import tasks
from networks.worker.sync import record_snapshot

URI = "test:///default"
DEFAULT_UUID = uuid.UUID("dd8fe884-6c02-601e-7551-cca97df1c5df")
REFUSED_URI = "qemu+tcp://127.0.0.1:1/system"


@pytest.fixture
def default_net(test_host):
    """The test driver's "default" network, read into the database; restored after the test."""
    before = gateway.network_state(URI, "default")
    assert tasks.refresh(test_host) is None
    yield Network.objects.get(host=test_host, name="default")
    if before.active:
        gateway.start_network(URI, "default")
    else:
        gateway.stop_network(URI, "default")
    gateway.set_autostart(URI, "default", before.autostart)


@pytest.fixture
def requeued(monkeypatch) -> list[dict]:
    """Keep re-queued jobs away from Redis: record run_job.apply_async calls instead."""
    calls: list[dict] = []

    def apply_async(self, args=None, kwargs=None, **options):
        calls.append({"args": args, "kwargs": kwargs, **options})

    monkeypatch.setattr(type(tasks.run_job._get_current_object()), "apply_async", apply_async)
    return calls


def make_job(host: Host, operation: Op, target: str = "default", **fields) -> Job:
    network = Network.objects.filter(host=host, name=target).first()
    return Job.objects.create(
        username="oscar-operator",
        host=host,
        network=network,
        target=target,
        operation=operation,
        **fields,
    )


def reload(job: Job) -> Job:
    job.refresh_from_db()
    return job


# --- refresh -----------------------------------------------------------------------------------


def test_refresh_writes_the_test_drivers_default_network(default_net):
    assert list(Network.objects.values_list("name", flat=True)) == ["default"]
    net = default_net
    assert net.uuid == DEFAULT_UUID
    assert net.mode == Network.Mode.NAT
    assert net.bridge == "virbr0"
    assert net.ipv4 == "192.168.122.1/24"
    assert net.ipv6 == ""
    assert net.active is True
    assert net.persistent is True
    assert net.dhcp_ranges == "192.168.122.2-192.168.122.254"
    assert net.addresses == [
        {
            "family": "ipv4",
            "cidr": "192.168.122.1/24",
            "dhcp_ranges": [["192.168.122.2", "192.168.122.254"]],
            "dhcp_hosts": 0,
        }
    ]
    assert "<name>default</name>" in net.xml
    assert net.last_seen is not None
    # The test driver cannot report leases: no lease table rather than an empty one.
    assert net.leases_seen is None


def test_refresh_records_the_host_facts(default_net, test_host):
    host = Host.objects.get(pk=test_host.pk)
    assert host.reachable is True
    assert host.last_error == ""
    assert re.fullmatch(r"\d+\.\d+\.\d+", host.libvirt_version)
    assert host.libvirt_version != "0.0.0"
    assert host.hypervisor.lower() == "test"
    assert host.hostname
    assert host.cpus and host.cpus > 0
    assert host.memory_kib and host.memory_kib > 0
    assert host.last_checked is not None
    assert host.last_seen is not None


def test_refresh_of_a_host_that_was_unreachable_clears_the_error(default_net, test_host):
    Host.objects.filter(pk=test_host.pk).update(reachable=False, last_error="it was down")
    assert tasks.refresh(test_host) is None
    host = Host.objects.get(pk=test_host.pk)
    assert (host.reachable, host.last_error) == (True, "")


def test_refresh_of_a_bad_uri_records_the_host_as_unreachable(db):
    host = Host.objects.create(name="broken", uri="test:///nonexistent/file.xml")
    error = tasks.refresh(host)
    assert isinstance(error, gateway.GatewayError)
    assert error.transient is False
    host.refresh_from_db()
    assert host.reachable is False
    assert "nonexistent" in host.last_error
    assert host.last_checked is not None
    assert host.last_seen is None


def test_refresh_of_an_unreachable_host_keeps_its_last_known_networks(db, make_network):
    host = Host.objects.create(name="gone", uri="test:///nonexistent/file.xml")
    make_network(host, "kept")
    tasks.refresh(host)
    assert list(Network.objects.filter(host=host).values_list("name", flat=True)) == ["kept"]


def test_refresh_host_task_reads_the_host(default_net, test_host):
    Network.objects.all().delete()
    tasks.refresh_host(test_host.pk)
    assert Network.objects.filter(host=test_host, name="default").exists()
    tasks.refresh_host(999_999)  # a deleted host is ignored


def _a_lease_row(network: Network) -> Lease:
    """A lease row as bench/fleet.py puts them in: the test driver hands out none itself."""
    return Lease.objects.create(network=network, mac="52:54:00:aa:bb:01", ip="192.168.122.50")


def test_refresh_leaves_the_lease_rows_of_a_driver_that_cannot_list_leases(default_net, test_host):
    row = _a_lease_row(default_net)
    assert tasks.refresh(test_host) is None
    assert list(Lease.objects.filter(network=default_net)) == [row]
    [info] = [net for net in gateway.snapshot(URI).networks if net.name == "default"]
    assert (info.leases, info.leases_unknown) == (None, True)


def test_refresh_drops_the_lease_rows_of_a_network_that_stopped_on_that_driver(
    default_net, test_host
):
    _a_lease_row(default_net)
    gateway.stop_network(URI, "default")
    assert tasks.refresh(test_host) is None
    assert not Lease.objects.filter(network=default_net).exists()
    [info] = [net for net in gateway.snapshot(URI).networks if net.name == "default"]
    assert (info.leases, info.leases_unknown) == (None, False)


# --- beat's sweep ------------------------------------------------------------------------------


def test_beats_sweep_spreads_the_hosts_refreshes_over_the_period(db, settings, monkeypatch):
    settings.VNETWEB_REFRESH_SECONDS = 60
    hosts = [Host.objects.create(name=f"kvm{n}", uri=URI) for n in range(4)]
    sent: list[dict] = []

    def apply_async(self, args=None, kwargs=None, **options):
        sent.append({"args": args, **options})

    monkeypatch.setattr(type(tasks.refresh_host._get_current_object()), "apply_async", apply_async)
    tasks.schedule_refreshes()
    assert [(call["args"], call["queue"]) for call in sent] == [
        ([host.pk], host.queue) for host in hosts
    ]
    assert [call["countdown"] for call in sent] == [0, 15, 30, 45]
    # Each may wait for its turn, then a period more for a busy worker, and is dropped after.
    assert [call["expires"] for call in sent] == [60, 75, 90, 105]


def test_beats_sweep_over_no_hosts_sends_nothing(db, monkeypatch):
    monkeypatch.setattr(
        type(tasks.refresh_host._get_current_object()),
        "apply_async",
        lambda *args, **options: pytest.fail("a refresh was sent"),
    )
    tasks.schedule_refreshes()


# --- run_job -----------------------------------------------------------------------------------


def test_a_stop_job_stops_the_network_and_succeeds(default_net, test_host):
    job = make_job(test_host, Op.STOP)
    assert tasks.run_job(job.pk) is None
    assert gateway.network_state(URI, "default").active is False
    job = reload(job)
    assert job.state == Job.State.SUCCEEDED
    assert job.message == "Stopped default."
    assert job.attempts == 1
    assert job.started is not None
    assert job.finished is not None
    assert job.finished >= job.started
    assert Network.objects.get(pk=default_net.pk).active is False


def test_a_job_whose_new_state_cannot_be_recorded_still_ends_and_the_error_is_raised(
    default_net, test_host, monkeypatch
):
    # What PostgreSQL raised when two threads wrote the same host's new network at once.
    clash = IntegrityError(
        'duplicate key value violates unique constraint "network_unique_name_per_host"'
    )

    def record_network(*_args, **_kwargs):
        raise clash

    monkeypatch.setattr(tasks, "record_network", record_network)
    job = make_job(test_host, Op.STOP)
    with pytest.raises(IntegrityError) as raised:
        tasks.run_job(job.pk)
    assert raised.value is clash, "raised again, so that Celery logs it"
    assert gateway.network_state(URI, "default").active is False
    job = reload(job)
    assert job.state == Job.State.SUCCEEDED, "the network stopped: the job is not left running"
    assert job.message == f"Stopped default. (Could not record the host's new state: {clash})"
    assert job.finished is not None


def test_running_a_finished_job_again_does_nothing(default_net, test_host):
    job = make_job(test_host, Op.STOP)
    tasks.run_job(job.pk)
    done = reload(job)
    gateway.start_network(URI, "default")  # if the job ran again, it would stop this again
    tasks.run_job(job.pk)
    again = reload(job)
    assert gateway.network_state(URI, "default").active is True
    assert (again.state, again.message, again.attempts) == (done.state, done.message, 1)
    assert again.finished == done.finished


def test_a_job_another_worker_is_running_is_left_alone(default_net, test_host):
    job = make_job(test_host, Op.STOP, state=Job.State.RUNNING, started=timezone.now(), attempts=1)
    tasks.run_job(job.pk)
    assert gateway.network_state(URI, "default").active is True
    job = reload(job)
    assert (job.state, job.attempts) == (Job.State.RUNNING, 1)


def test_a_job_left_running_by_a_lost_worker_is_taken_over(default_net, test_host):
    job = make_job(
        test_host,
        Op.STOP,
        state=Job.State.RUNNING,
        started=timezone.now() - jobs.STALE_RUNNING - timedelta(seconds=5),
        attempts=1,
    )
    tasks.run_job(job.pk)
    assert gateway.network_state(URI, "default").active is False
    job = reload(job)
    assert (job.state, job.attempts) == (Job.State.SUCCEEDED, 2)


def test_running_a_deleted_job_does_nothing(default_net):
    assert tasks.run_job(999_999) is None
    assert gateway.network_state(URI, "default").active is True


def test_stopping_a_stopped_network_succeeds_with_nothing_to_do(default_net, test_host):
    tasks.run_job(make_job(test_host, Op.STOP).pk)
    job = make_job(test_host, Op.STOP)
    tasks.run_job(job.pk)
    job = reload(job)
    assert job.state == Job.State.SUCCEEDED
    assert "nothing to do" in job.message
    assert "was not running" in job.message
    assert gateway.network_state(URI, "default").active is False


def test_start_brings_a_stopped_network_back(default_net, test_host):
    tasks.run_job(make_job(test_host, Op.STOP).pk)
    assert Network.objects.get(pk=default_net.pk).active is False
    job = make_job(test_host, Op.START)
    tasks.run_job(job.pk)
    job = reload(job)
    assert (job.state, job.message) == (Job.State.SUCCEEDED, "Started default.")
    assert gateway.network_state(URI, "default").active is True
    assert Network.objects.get(pk=default_net.pk).active is True


def test_starting_a_running_network_succeeds_with_nothing_to_do(default_net, test_host):
    job = make_job(test_host, Op.START)
    tasks.run_job(job.pk)
    job = reload(job)
    assert job.state == Job.State.SUCCEEDED
    assert "already running; nothing to do" in job.message


def test_autostart_on_and_off(default_net, test_host):
    gateway.set_autostart(URI, "default", False)
    on = make_job(test_host, Op.AUTOSTART_ON)
    tasks.run_job(on.pk)
    assert gateway.network_state(URI, "default").autostart is True
    assert Network.objects.get(pk=default_net.pk).autostart is True
    assert reload(on).message == "Autostart on for default."

    again = make_job(test_host, Op.AUTOSTART_ON)
    tasks.run_job(again.pk)
    again = reload(again)
    assert again.state == Job.State.SUCCEEDED
    assert again.message == "Autostart was already on for default; nothing to do."

    off = make_job(test_host, Op.AUTOSTART_OFF)
    tasks.run_job(off.pk)
    assert gateway.network_state(URI, "default").autostart is False
    assert Network.objects.get(pk=default_net.pk).autostart is False
    off = reload(off)
    assert (off.state, off.message) == (Job.State.SUCCEEDED, "Autostart off for default.")


def test_a_probe_job_reports_the_host(default_net, test_host):
    job = make_job(test_host, Op.PROBE, target="")
    tasks.run_job(job.pk)
    job = reload(job)
    assert job.state == Job.State.SUCCEEDED
    assert job.message.startswith("Reached ")
    assert "libvirt " in job.message


def test_a_job_for_a_network_that_does_not_exist_fails_with_libvirts_message(
    default_net, test_host, requeued
):
    job = make_job(test_host, Op.START, target="no-such-net")
    tasks.run_job(job.pk)  # never raises
    job = reload(job)
    assert job.state == Job.State.FAILED
    assert "no-such-net" in job.message
    assert job.finished is not None
    assert job.attempts == 1
    assert requeued == [], "a missing network is not worth another try"
    assert gateway.network_state(URI, "default").active is True


def test_a_job_on_a_host_with_a_bad_uri_fails_at_once(db, requeued):
    host = Host.objects.create(name="broken", uri="test:///nonexistent/file.xml")
    job = make_job(host, Op.STOP, target="default")
    tasks.run_job(job.pk)
    job = reload(job)
    assert job.state == Job.State.FAILED
    assert job.message
    assert requeued == []
    host.refresh_from_db()
    assert host.reachable is False


def test_a_transient_error_requeues_the_job_then_fails_after_the_last_try(db, settings, requeued):
    settings.VNETWEB_JOB_MAX_RETRIES = 2
    host = Host.objects.create(name="refused", uri=REFUSED_URI)
    job = make_job(host, Op.STOP, target="default")

    tasks.run_job(job.pk)
    first = reload(job)
    assert first.state == Job.State.QUEUED
    assert first.attempts == 1
    assert "trying again" in first.message
    assert "attempt 1 of 3" in first.message
    assert first.finished is None
    assert requeued == [{"args": [job.pk], "kwargs": None, "queue": "host.refused", "countdown": 2}]

    tasks.run_job(job.pk)
    second = reload(job)
    assert (second.state, second.attempts) == (Job.State.QUEUED, 2)
    assert len(requeued) == 2
    assert requeued[1]["queue"] == host.queue
    assert requeued[1]["countdown"] > requeued[0]["countdown"]

    tasks.run_job(job.pk)  # attempt 3 = VNETWEB_JOB_MAX_RETRIES + 1: the last
    last = reload(job)
    assert last.state == Job.State.FAILED
    assert last.attempts == 3
    assert "trying again" not in last.message
    assert "refused" in last.message.lower()
    assert last.finished is not None
    assert len(requeued) == 2
    host.refresh_from_db()
    assert host.reachable is False
    assert host.last_error


def test_the_number_of_tries_follows_the_setting(db, settings, requeued):
    settings.VNETWEB_JOB_MAX_RETRIES = 0
    host = Host.objects.create(name="refused", uri=REFUSED_URI)
    job = make_job(host, Op.START, target="default")
    tasks.run_job(job.pk)
    assert reload(job).state == Job.State.FAILED
    assert requeued == []


# --- record_snapshot ---------------------------------------------------------------------------

FACTS = gateway.HostFacts(
    hostname="kvm9.example.org",
    libvirt_version="9.0.0",
    hypervisor="QEMU",
    hypervisor_version="7.2.0",
    cpu_model="x86_64",
    cpus=8,
    memory_kib=32 * 1024 * 1024,
)


def net_info(name: str, n: int, leases=None, **fields) -> gateway.NetworkInfo:
    xml = (
        f"<network><name>{name}</name><forward mode='nat'/><bridge name='virbr{n}'/>"
        f"<ip address='10.9.{n}.1' prefix='24'><dhcp>"
        f"<range start='10.9.{n}.100' end='10.9.{n}.199'/></dhcp></ip></network>"
    )
    values = {
        "name": name,
        "uuid": str(uuid.UUID(int=n)),
        "active": True,
        "persistent": True,
        "autostart": False,
        "xml": xml,
        "leases": leases,
    }
    values.update(fields)
    return gateway.NetworkInfo(**values)


def lease(mac: str, ip: str, hostname: str = "", expires: datetime | None = None):
    return gateway.LeaseInfo(
        mac=mac, ip=ip, prefix=24, hostname=hostname, client_id="", expires=expires
    )


def leases_of(host: Host, name: str) -> list[tuple[str, str, str]]:
    return list(
        Lease.objects.filter(network__host=host, network__name=name)
        .order_by("mac")
        .values_list("mac", "ip", "hostname")
    )


@pytest.fixture
def kvm9(db) -> Host:
    return Host.objects.create(name="kvm9", uri="qemu+ssh://root@kvm9/system")


def test_record_snapshot_writes_facts_networks_and_leases(kvm9):
    expires = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    snap = gateway.HostSnapshot(
        facts=FACTS,
        networks=(
            net_info("a", 1, leases=(lease("52:54:00:00:00:01", "10.9.1.101", "web", expires),)),
            net_info("b", 2, active=False, autostart=True),
        ),
    )
    record_snapshot(kvm9, snap)
    kvm9.refresh_from_db()
    assert (kvm9.reachable, kvm9.hostname, kvm9.cpus) == (True, "kvm9.example.org", 8)
    assert kvm9.memory_gib == 32.0
    a, b = Network.objects.filter(host=kvm9).order_by("name")
    assert (a.name, a.bridge, a.ipv4, a.mode, a.active) == (
        "a",
        "virbr1",
        "10.9.1.1/24",
        "nat",
        True,
    )
    assert (b.active, b.autostart) == (False, True)
    assert a.leases_seen is not None
    assert b.leases_seen is None
    row = Lease.objects.get()
    assert (row.network, row.mac, row.ip, row.prefix, row.hostname, row.expires) == (
        a,
        "52:54:00:00:00:01",
        "10.9.1.101",
        24,
        "web",
        expires,
    )


def test_record_snapshot_removes_networks_that_disappeared(kvm9, test_host, make_network):
    untouched = make_network(test_host, "a")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1), net_info("b", 2))))
    b = Network.objects.get(host=kvm9, name="b")
    job = Job.objects.create(username="x", host=kvm9, network=b, target="b", operation=Op.STOP)
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1), net_info("c", 3))))
    assert sorted(Network.objects.filter(host=kvm9).values_list("name", flat=True)) == ["a", "c"]
    # Another host's network of the same name is not this host's business.
    assert Network.objects.filter(pk=untouched.pk).exists()
    # The job history stays, without the network.
    job.refresh_from_db()
    assert (job.network, job.target) == (None, "b")


def test_record_snapshot_with_no_networks_removes_them_all(kvm9):
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1), net_info("b", 2))))
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, ()))
    assert not Network.objects.filter(host=kvm9).exists()


def test_record_snapshot_updates_changed_networks_in_place(kvm9):
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1),)))
    before = Network.objects.get(host=kvm9)
    changed = net_info(
        "a",
        1,
        active=False,
        autostart=True,
        xml="<network><name>a</name><bridge name='virbr77'/>"
        "<ip family='ipv6' address='fd00::1' prefix='64'/></network>",
    )
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (changed,)))
    after = Network.objects.get(host=kvm9)
    assert after.pk == before.pk
    assert (after.active, after.autostart) == (False, True)
    assert (after.mode, after.bridge, after.ipv4, after.ipv6) == (
        "isolated",
        "virbr77",
        "",
        "fd00::1/64",
    )
    assert after.dhcp_ranges == ""
    assert after.last_seen >= before.last_seen


def test_record_snapshot_keeps_leases_in_step(kvm9):
    one = lease("52:54:00:00:00:01", "10.9.1.101", "one")
    two = lease("52:54:00:00:00:02", "10.9.1.102", "two")
    three = lease("52:54:00:00:00:03", "10.9.1.103", "three")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(one, two)),)))
    assert leases_of(kvm9, "a") == [
        ("52:54:00:00:00:01", "10.9.1.101", "one"),
        ("52:54:00:00:00:02", "10.9.1.102", "two"),
    ]
    kept = Lease.objects.get(mac="52:54:00:00:00:02").pk

    # one expired, two renamed itself, three is new.
    two_renamed = lease("52:54:00:00:00:02", "10.9.1.102", "two-b")
    record_snapshot(
        kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(two_renamed, three)),))
    )
    assert leases_of(kvm9, "a") == [
        ("52:54:00:00:00:02", "10.9.1.102", "two-b"),
        ("52:54:00:00:00:03", "10.9.1.103", "three"),
    ]
    assert Lease.objects.get(mac="52:54:00:00:00:02").pk == kept

    # Same MAC, new address: a new lease, the old one goes.
    moved = lease("52:54:00:00:00:03", "10.9.1.150", "three")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(moved,)),)))
    assert leases_of(kvm9, "a") == [("52:54:00:00:00:03", "10.9.1.150", "three")]

    # An empty lease table is a table: leases_seen is set, no rows.
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=()),)))
    assert leases_of(kvm9, "a") == []
    assert Network.objects.get(host=kvm9).leases_seen is not None


def test_record_snapshot_drops_leases_when_the_network_stops(kvm9):
    one = lease("52:54:00:00:00:01", "10.9.1.101", "one")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(one,)),)))
    stopped = net_info("a", 1, active=False, leases=None)
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (stopped,)))
    network = Network.objects.get(host=kvm9)
    assert leases_of(kvm9, "a") == []
    assert network.leases_seen is None
    assert network.active is False


def test_record_snapshot_drops_the_lease_rows_of_a_network_without_dhcp(kvm9):
    one = lease("52:54:00:00:00:01", "10.9.1.101", "one")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(one,)),)))
    no_dhcp = net_info(
        "a", 1, xml="<network><name>a</name><bridge name='virbr1'/>"
        "<ip address='10.9.1.1' prefix='24'/></network>"
    )  # fmt: skip
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (no_dhcp,)))
    assert leases_of(kvm9, "a") == []


def test_record_snapshot_keeps_the_lease_rows_where_leases_cannot_be_listed(kvm9):
    one = lease("52:54:00:00:00:01", "10.9.1.101", "one")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, leases=(one,)),)))
    unknown = net_info("a", 1, leases=None, leases_unknown=True)
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (unknown,)))
    assert leases_of(kvm9, "a") == [("52:54:00:00:00:01", "10.9.1.101", "one")]


def test_record_snapshot_survives_xml_it_cannot_read(kvm9):
    broken = net_info("weird", 5, xml="<not-a-network/>")
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (broken, net_info("a", 1))))
    weird = Network.objects.get(host=kvm9, name="weird")
    assert (weird.mode, weird.bridge, weird.ipv4, weird.addresses) == ("", "", "", [])
    assert Network.objects.get(host=kvm9, name="a").mode == "nat"


def test_a_network_recreated_under_the_same_name_gets_its_new_uuid(kvm9):
    record_snapshot(kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1),)))
    record_snapshot(
        kvm9, gateway.HostSnapshot(FACTS, (net_info("a", 1, uuid=str(uuid.UUID(int=99))),))
    )
    assert Network.objects.get(host=kvm9).uuid == uuid.UUID(int=99)


def test_jobs_left_running_by_a_dead_worker_are_failed_in_words(test_host):
    running = Job.State.RUNNING
    lost = make_job(
        test_host,
        Op.START,
        state=running,
        started=timezone.now() - timedelta(minutes=10),
    )
    busy = make_job(test_host, Op.START, state=running, started=timezone.now())
    assert tasks.fail_lost_jobs() == 1
    lost.refresh_from_db()
    busy.refresh_from_db()
    assert lost.state == Job.State.FAILED and "worker stopped" in lost.message
    assert lost.finished is not None
    assert busy.state == Job.State.RUNNING


# --- a worker that comes back after dying --------------------------------------------------------


def test_a_job_left_running_by_the_same_worker_before_it_died_is_queued_again(
    default_net, test_host, requeued
):
    job = make_job(test_host, Op.STOP, state=Job.State.RUNNING, attempts=1, worker="hosts@kvm1")
    assert tasks.recover_lost_jobs("hosts@kvm1") == (1, 0)
    job = reload(job)
    assert job.state == Job.State.QUEUED
    assert "stopped while running it" in job.message
    assert tasks.resend_queued_jobs("hosts@kvm1") == 1
    assert requeued == [{"args": [job.pk], "kwargs": None, "queue": test_host.queue}]
    tasks.run_job(job.pk)
    assert reload(job).state == Job.State.SUCCEEDED
    assert gateway.network_state(URI, "default").active is False


def test_a_job_that_keeps_killing_its_worker_is_failed_with_the_reason(
    default_net, test_host, settings
):
    job = make_job(
        test_host,
        Op.STOP,
        state=Job.State.RUNNING,
        attempts=settings.VNETWEB_JOB_MAX_RETRIES + 1,
        worker="hosts@kvm1",
    )
    assert tasks.recover_lost_jobs("hosts@kvm1") == (0, 1)
    job = reload(job)
    assert job.state == Job.State.FAILED
    assert job.finished is not None
    assert "given up" in job.message
    assert gateway.network_state(URI, "default").active is True


def test_a_job_running_on_another_worker_is_left_alone(default_net, test_host):
    job = make_job(test_host, Op.STOP, state=Job.State.RUNNING, attempts=1, worker="hosts@kvm2")
    assert tasks.recover_lost_jobs("hosts@kvm1") == (0, 0)
    assert reload(job).state == Job.State.RUNNING


def test_a_ready_worker_sends_again_only_the_queued_jobs_of_hosts_it_serves(
    default_net, test_host, requeued, settings
):
    other = Host.objects.create(name="elsewhere", uri=URI)
    mine = make_job(test_host, Op.START)
    make_job(other, Op.START)
    make_job(test_host, Op.STOP, state=Job.State.SUCCEEDED)
    settings.VNETWEB_WORKER_HOSTS = [test_host.name]
    assert tasks.resend_queued_jobs("w@x") == 1
    assert [call["args"] for call in requeued] == [[mine.pk]]
