"""A second host reached over qemu+ssh:// (this machine's libvirtd, through an sshd of the test's
own), served by a Celery worker of its own that listens only to that host's queue, while the
local host has another worker: jobs, refreshes and libvirt's events travel over ssh; when sshd
goes away the host shows unreachable in libvirt's words, and it comes back by itself.

The remote worker is told it is not on the host (gateway.is_local is False for the URI), so only
libvirt's API is used for it. Delays are printed (`pytest -s`).
"""

import os
import re
import subprocess
import time

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from networks import gateway
from networks.jobs import create_job
from networks.models import Host, Job, Lease, Network
from networks.operations import Op
from networks.worker.tasks import refresh_host
from tests.real import LOCAL_URI, REPO, lease_for, wait_for
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker]

REFRESH_SECONDS = 2  # beat's period in the reachability test


@pytest.fixture
def remote_host(db, sshd) -> Host:
    return Host.objects.create(name="vnwt-remote", uri=sshd.uri(), description="over ssh")


def _row(host: Host, name: str) -> Network | None:
    return Network.objects.filter(host=host, name=name).first()


def _host(host: Host) -> Host:
    return Host.objects.get(pk=host.pk)


def _start_workers(real_host, remote_host, sshd, celery_worker_process, net_name: str):
    """One worker for the local host, one for the remote host alone (with the ssh wrapper on its
    PATH); both read their host once their monitor listens. Returns the remote worker's log."""
    celery_worker_process(real_host.name, pool="threads")
    celery_worker_process(remote_host.name, pool="threads", **sshd.env)
    wait_for(lambda: _row(real_host, net_name), timeout=40, message="no read of the local host")
    wait_for(
        lambda: _row(remote_host, net_name),
        timeout=40,
        message="the remote worker never read its host (see var/test-worker-2.log)",
    )
    return REPO / "var" / "test-worker-2.log"


def _run(user: User, host: Host, operation: str, network: Network) -> Job:
    job = create_job(user, host, operation, network=network)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    return job


def _destroy_and_time(host: Host, name: str) -> float:
    """`virsh net-destroy` on the host; seconds until the ssh host's row says stopped."""
    started = time.monotonic()
    subprocess.run(["virsh", "-c", LOCAL_URI, "net-destroy", name], check=True, capture_output=True)
    virsh_took = time.monotonic() - started
    wait_for(lambda: not _row(host, name).active, timeout=5, interval=0.02)
    delay = time.monotonic() - started
    print(
        f"virsh net-destroy -> database over qemu+ssh: {delay:.2f} s "
        f"(of which virsh itself, until libvirt emits the event: {virsh_took:.2f} s)"
    )
    return delay


def test_a_worker_of_its_own_runs_jobs_and_hears_events_over_ssh(
    real_host, remote_host, sshd, libvirt_network, celery_worker_process, admin, client_as
):
    assert gateway.is_local(remote_host.uri) is False
    net = libvirt_network()
    _start_workers(real_host, remote_host, sshd, celery_worker_process, net.name)
    user = User.objects.create_user("vnwt-remote-user")
    network = _row(remote_host, net.name)

    job = _run(user, remote_host, Op.START, network)
    assert job.worker.startswith(f"vnwt-{os.getpid()}-2@"), job.worker
    assert virsh_state(net.name)[0] == "active"
    assert _row(remote_host, net.name).active is True
    # The switch's host side: only a worker on the host could read it, and the page says so.
    switch = wait_for(lambda: _row(remote_host, net.name).switch, timeout=10)
    assert switch["local"] is False and "over ssh (127.0.0.1)" in switch["reason"], switch
    page = client_as(admin).get(_row(remote_host, net.name).get_absolute_url())
    assert "can only be read by a worker running on the host itself" in page.content.decode()

    # An event over ssh: virsh stops the network on the host, the row follows through the
    # remote worker's subscription (no beat runs; the local worker writes only its own rows).
    event_delay = _destroy_and_time(remote_host, net.name)
    assert event_delay < 2.0, event_delay

    _run(user, remote_host, Op.START, network)
    job = _run(user, remote_host, Op.STOP, network)
    assert virsh_state(net.name)[0] == "inactive"
    assert _row(remote_host, net.name).active is False

    before = timezone.now()
    refresh_host.apply_async(args=[remote_host.pk], queue=remote_host.queue)
    wait_for(lambda: _host(remote_host).last_checked > before, timeout=20)
    host = _host(remote_host)
    assert host.reachable is True and host.last_error == "" and host.hypervisor == "QEMU"


def test_a_host_whose_sshd_stops_shows_unreachable_and_comes_back_by_itself(
    real_host, remote_host, sshd, libvirt_network, celery_worker_process, celery_beat_process
):
    net = libvirt_network(start=True)
    log = _start_workers(real_host, remote_host, sshd, celery_worker_process, net.name)
    celery_beat_process(REFRESH_SECONDS)
    wait_for(lambda: _host(remote_host).reachable, timeout=20)

    started = time.monotonic()
    sshd.stop()
    host = wait_for(
        lambda: (h := _host(remote_host)).reachable is False and h,
        timeout=REFRESH_SECONDS + 5,
        interval=0.05,
        message="the host still shows reachable with its sshd gone",
    )
    unreachable_after = time.monotonic() - started
    assert "Connection refused" in host.last_error, host.last_error
    assert _host(real_host).reachable is True  # the local host's worker is not affected

    started = time.monotonic()
    sshd.start()
    wait_for(
        lambda: _host(remote_host).reachable,
        timeout=REFRESH_SECONDS + 20,
        interval=0.05,
        message="the host did not recover by itself",
    )
    recovered_after = time.monotonic() - started
    assert _host(remote_host).last_error == ""
    # Its networks are read again too, not only its facts.
    back = timezone.now()
    wait_for(lambda: _row(remote_host, net.name).last_seen > back, timeout=REFRESH_SECONDS + 5)

    # The monitor subscribed again: an event reaches the database at once, not at beat's round.
    wait_for(lambda: len(re.findall("listening to vnwt-remote's", log.read_text())) >= 2)
    event_delay = _destroy_and_time(remote_host, net.name)
    print(
        f"sshd stopped -> unreachable: {unreachable_after:.2f} s; sshd started -> reachable: "
        f"{recovered_after:.2f} s (beat every {REFRESH_SECONDS} s; error: {host.last_error!r})"
    )
    assert unreachable_after < REFRESH_SECONDS + 2, unreachable_after
    assert recovered_after < REFRESH_SECONDS + 10, recovered_after
    assert event_delay < 2.0, event_delay


REMOTE_LEASE_SECONDS = 2  # how often the remote worker asks for lease lists in the lease test


def test_a_lease_on_a_host_reached_over_ssh_reaches_the_database_without_beat(
    remote_host, sshd, libvirt_network, namespace_guest, celery_worker_process
):
    """The worker cannot see the host's lease files: it asks libvirt for the lease lists every
    VNETWEB_REMOTE_LEASE_SECONDS. No beat runs and no network or domain event comes with a
    lease, so nothing else could bring it."""
    net = libvirt_network(start=True)
    celery_worker_process(
        remote_host.name,
        pool="threads",
        VNETWEB_REMOTE_LEASE_SECONDS=str(REMOTE_LEASE_SECONDS),
        **sshd.env,
    )
    wait_for(
        lambda: (row := _row(remote_host, net.name)) and row.active,
        timeout=40,
        message="the remote worker never read its host (see var/test-worker-1.log)",
    )
    time.sleep(REMOTE_LEASE_SECONDS + 1)  # the monitor has looked at the (empty) list once

    guest = namespace_guest(net.bridge, hostname="vnwt-far")
    wait_for(lambda: lease_for(net.name, guest.mac), timeout=15, interval=0.05, message="no lease")
    leased = time.monotonic()
    row = wait_for(
        lambda: Lease.objects.filter(network__host=remote_host, mac=guest.mac).first(),
        timeout=REMOTE_LEASE_SECONDS + 3,
        interval=0.05,
        message="the lease never reached the remote host's rows",
    )
    arrived = time.monotonic() - leased
    assert row.hostname == "vnwt-far"

    guest.stop()  # DHCPRELEASE
    wait_for(lambda: not lease_for(net.name, guest.mac), timeout=5, interval=0.05)
    released = time.monotonic()
    wait_for(
        lambda: not Lease.objects.filter(network__host=remote_host, mac=guest.mac).exists(),
        timeout=REMOTE_LEASE_SECONDS + 3,
        interval=0.05,
        message="the released lease stayed",
    )
    gone = time.monotonic() - released
    print(
        f"lease over qemu+ssh -> database: {arrived:.2f} s; release -> gone: {gone:.2f} s "
        f"(polled every {REMOTE_LEASE_SECONDS} s)"
    )
