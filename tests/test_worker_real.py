"""A job through a real Celery worker (another process) over the real Redis, on the real host."""

import os

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from networks.jobs import create_job
from networks.models import Job, Network
from networks.operations import Op
from networks.worker.tasks import refresh
from tests.real import wait_for
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.postgres]


def test_a_worker_starts_and_stops_a_network_from_its_hosts_queue(
    real_host, libvirt_network, celery_worker_process
):
    net = libvirt_network()
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    user = User.objects.create_user("vnwt-worker-user")
    celery_worker_process(real_host.name)

    # transactional_db: create_job commits, and its on_commit hook sends the task to Redis.
    job = create_job(user, real_host, Op.START, network=network)
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        timeout=30,
        message="the worker did not finish the start job (see var/test-worker-1.log)",
    )
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    assert virsh_state(net.name)[0] == "active"
    network.refresh_from_db()
    assert network.active is True

    job = create_job(user, real_host, Op.STOP, network=network)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    assert virsh_state(net.name)[0] == "inactive"
    network.refresh_from_db()
    assert network.active is False


def test_a_worker_for_one_host_leaves_another_hosts_queue_alone(
    real_host, libvirt_network, celery_worker_process
):
    from networks.models import Host

    # The same libvirtd under another URI spelling: a second "host" with a queue of its own.
    other = Host.objects.create(name="vnwt-elsewhere", uri="qemu+unix:///system")
    net = libvirt_network()
    refresh(real_host)
    refresh(other)
    user = User.objects.create_user("vnwt-worker-user2")
    celery_worker_process(real_host.name)
    theirs = create_job(
        user, other, Op.START, network=Network.objects.get(host=other, name=net.name)
    )
    ours = create_job(user, real_host, Op.PROBE)
    wait_for(lambda: Job.objects.get(pk=ours.pk).is_finished, timeout=30)
    assert Job.objects.get(pk=ours.pk).state == Job.State.SUCCEEDED
    assert Job.objects.get(pk=theirs.pk).state == Job.State.QUEUED
    assert virsh_state(net.name)[0] == "inactive"
    # Leave no message behind for the next run's workers.
    from vnetweb.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(other.queue)


def test_a_restarted_worker_runs_again_the_job_it_was_running_when_it_died(
    real_host, libvirt_network, celery_worker_process
):
    import socket

    net = libvirt_network()
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    # The name the fixture gives its first worker: the node that "died" running this job.
    node = f"vnwt-{os.getpid()}-1@{socket.gethostname()}"
    job = Job.objects.create(
        username="oscar-operator",
        host=real_host,
        network=network,
        target=net.name,
        operation=Op.START,
        state=Job.State.RUNNING,
        started=timezone.now(),
        attempts=1,
        worker=node,
    )
    celery_worker_process(real_host.name)
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        timeout=30,
        message="the restarted worker did not take back its lost job (see var/test-worker-1.log)",
    )
    job.refresh_from_db()
    assert (job.state, job.attempts, job.worker) == (Job.State.SUCCEEDED, 2, node), job.message
    assert virsh_state(net.name)[0] == "active"
