"""A job for a host that no worker serves says so at once, instead of staying "queued" forever.

Workers announce themselves in the tests' Redis database (networks.worker.presence); real worker
processes and a real beat, as in tests/test_worker_real.py, on libvirt's test driver. Host names
are the tests' own (vnwt-…), so the announcement of a worker of another test never covers them.
"""

import json
import os
import socket
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from networks import live, workers
from networks.jobs import create_job
from networks.models import Host, Job
from networks.operations import Op
from networks.worker import presence as announcing
from networks.worker import tasks
from networks.workers import broadcast_sync
from tests.real import wait_for

HTMX = {"HTTP_HX_REQUEST": "true"}
NOBODY = "vnwt-nobody"


def no_worker_for(name: str) -> str:
    return (
        f"No worker serves host {name} (queue host.{name}): nothing was done. Start a worker for "
        "it (make run starts one for every host; see docs/deployment.md) and try again."
    )


def node(number: int = 1) -> str:
    """The node name tests.real's celery_worker_process gives its `number`th worker."""
    return f"vnwt-{os.getpid()}-{number}@{socket.gethostname()}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def presence(settings):
    """The check is on (tests/settings.py turns it off for the rest of the suite)."""
    settings.VNETWEB_WORKER_PRESENCE = True


@pytest.fixture
def broker(settings):
    """The tests' Redis database."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    yield client
    client.close()


@pytest.fixture
def leftovers(broker) -> list[str]:
    """Host queues to empty afterwards: beat's refreshes for hosts whose worker has gone."""
    queues: list[str] = []
    yield queues
    if queues:
        broker.delete(*queues)


# --- the web side: create_job and the pages ----------------------------------------------------


def test_a_job_for_a_host_no_worker_serves_is_failed_at_once_and_never_queued(
    presence, operator, make_network, django_capture_on_commit_callbacks
):
    host = Host.objects.create(name=NOBODY, uri="test:///default")
    network = make_network(host, "net1")
    assert workers.serving(host.queue) is False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = create_job(operator, host, Op.START, network=network)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert job.message == no_worker_for(NOBODY)
    assert job.finished is not None
    assert job.attempts == 0
    # Once committed, only the announcement to open pages: nothing is sent to the host's queue.
    assert len(callbacks) == 1, "nothing is sent to a queue that nobody reads"
    assert redis.Redis.from_url(settings.REDIS_URL).llen(host.queue) == 0


def test_starting_a_network_of_a_host_no_worker_serves_shows_the_failure_in_its_row(
    presence, operator, client_as, make_network
):
    host = Host.objects.create(name=NOBODY, uri="test:///default")
    make_network(host, "net1")
    url = reverse("network-action-part", args=[NOBODY, "net1", "start", "row"])
    response = client_as(operator).post(url, **HTMX)
    content = response.content.decode()
    assert response.status_code == 200
    assert "hx-trigger" not in content
    assert "Start: failed" in content
    assert no_worker_for(NOBODY) in content
    assert Job.objects.get().state == Job.State.FAILED


def test_with_eager_tasks_there_is_no_worker_to_ask_about(presence, settings, operator):
    host = Host.objects.create(name=NOBODY, uri="test:///default")
    assert create_job(operator, host, Op.PROBE).state == Job.State.FAILED
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert create_job(operator, host, Op.PROBE).state == Job.State.QUEUED


def test_serving_cannot_tell_without_redis_and_the_job_is_queued_as_before(
    presence, settings, operator
):
    host = Host.objects.create(name=NOBODY, uri="test:///default")
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    began = time.monotonic()
    assert workers.serving(host.queue) is None
    # Queued: sending it fails after the commit and says why (tests/test_queue_failure.py).
    job = create_job(operator, host, Op.PROBE)
    assert (job.state, job.message) == (Job.State.QUEUED, "")
    assert time.monotonic() - began < 5, "an unreachable Redis held up the request"


def test_an_announcement_counts_until_it_runs_out_and_the_next_one_clears_it(presence, broker):
    stale, fresh, odd = "vnwt-stale@test", "vnwt-fresh@test", "vnwt-odd@test"
    entry = {"queues": ["host.vnwt-a"], "hosts": ["vnwt-b*"], "exclude": ["vnwt-b2"]}
    try:
        broker.hset(workers.KEY, stale, json.dumps({**entry, "until": time.time() - 1}))
        # An entry this release cannot read (another version's) counts as no worker at all.
        broker.hset(workers.KEY, odd, json.dumps({"until": time.time() + 60}))
        assert workers.serving("host.vnwt-a") is False
        announcing.announce(fresh, {**entry, "until": time.time() + 60})
        assert workers.serving("host.vnwt-a") is True  # a queue it reads
        assert workers.serving("host.vnwt-b1") is True  # a host its patterns take
        assert workers.serving("host.vnwt-b2") is False  # excluded
        assert workers.serving("host.vnwt-c") is False
        assert not broker.hexists(workers.KEY, stale), "a dead worker's entry stayed"
        assert not broker.hexists(workers.KEY, odd), "an unreadable entry stayed"
    finally:
        broker.hdel(workers.KEY, stale, fresh, odd)


def test_the_host_pages_say_when_no_live_worker_serves_the_host(
    presence, broker, viewer, client_as
):
    """A host whose worker stopped or lost Redis keeps the row its last check wrote ("reachable"):
    its page and the list say that no worker serves it, and stop saying so once one does."""
    host = Host.objects.create(name=NOBODY, uri="test:///default", reachable=True)
    client = client_as(viewer)
    page = client.get(reverse("host-detail", args=[host.name])).content.decode()
    assert f"No live worker serves {NOBODY}" in page
    assert "jobs asked for now fail" in page
    assert "no worker</span>" in client.get(reverse("host-list")).content.decode()
    fresh = "vnwt-serving@test"
    entry = {"queues": [host.queue], "hosts": [], "exclude": [], "until": time.time() + 60}
    try:
        announcing.announce(fresh, entry)
        page = client.get(reverse("host-detail", args=[host.name])).content.decode()
        assert "No live worker serves" not in page
        assert "no worker</span>" not in client.get(reverse("host-list")).content.decode()
    finally:
        broker.hdel(workers.KEY, fresh)


def test_open_pages_hear_when_a_host_loses_or_regains_its_worker(presence, broker, db):
    """Beat's look every 5 s (tell_unserved_hosts): a host whose worker's announcement ran out, or
    came back, is published on the live channel, once per change."""
    host = Host.objects.create(name=NOBODY, uri="test:///default", reachable=True)
    broker.delete(workers.UNSERVED_KEY)
    pubsub = broker.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.channel())
    fresh = "vnwt-serving@test"
    entry = {"queues": [host.queue], "hosts": [], "exclude": [], "until": time.time() + 60}

    def heard() -> list[int]:
        found, until = [], time.monotonic() + 0.5
        while time.monotonic() < until:
            # None also for the subscription's own confirmation: read on until the time is up.
            if message := pubsub.get_message(timeout=0.1):
                found.append(json.loads(message["data"])["host"])
        return found

    try:
        assert tasks.tell_unserved_hosts() == 0  # the first look: nothing to compare with
        announcing.announce(fresh, entry)
        assert tasks.tell_unserved_hosts() == 1
        assert heard() == [host.pk]
        assert tasks.tell_unserved_hosts() == 0, "told again without a change"
        broker.hdel(workers.KEY, fresh)  # the worker went away
        assert tasks.tell_unserved_hosts() == 1
        assert heard() == [host.pk]
    finally:
        broker.hdel(workers.KEY, fresh)
        broker.delete(workers.UNSERVED_KEY)
        pubsub.close()


# --- real workers ------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.parametrize("pool", ["solo", "threads"])
def test_a_worker_announces_its_host_and_that_hosts_jobs_still_run(
    presence, test_host, make_network, operator, celery_worker_process, pool
):
    network = make_network(test_host, "default", active=True)
    celery_worker_process(test_host.name, pool=pool)
    wait_for(
        lambda: workers.serving(test_host.queue),
        timeout=30,
        message="the worker did not announce itself (see var/test-worker-1.log)",
    )
    assert workers.serving(f"host.{NOBODY}") is False
    # The test driver's "default" network runs in the worker's own process.
    job = create_job(operator, test_host, Op.STOP, network=network)
    wait_for(lambda: Job.objects.get(pk=job.pk).is_finished, timeout=30)
    job.refresh_from_db()
    assert (job.state, job.message) == (Job.State.SUCCEEDED, "Stopped default."), job.message


@pytest.mark.worker
def test_the_announcement_follows_hosts_added_and_removed_while_the_worker_runs(
    presence, celery_worker_process
):
    Host.objects.create(name="vnwt-p-first", uri="test:///default")
    celery_worker_process("vnwt-p-*")

    def queues() -> list[str] | None:
        return (workers.live() or {}).get(node(), {}).get("queues")

    wait_for(lambda: queues() == ["host.vnwt-p-first"], timeout=30, message=f"got {queues()}")
    # Its patterns take a host it has not subscribed to yet (one just added); others they do not.
    assert workers.serving("host.vnwt-p-next") is True
    assert workers.serving("host.vnwt-q") is False
    late = Host.objects.create(name="vnwt-p-late", uri="test:///default")
    broadcast_sync()  # what the host pages do once the request commits
    expected = ["host.vnwt-p-first", "host.vnwt-p-late"]
    wait_for(lambda: queues() == expected, timeout=15, message=f"got {queues()}")
    late.delete()
    broadcast_sync()
    wait_for(lambda: queues() == ["host.vnwt-p-first"], timeout=15, message=f"got {queues()}")


@pytest.mark.worker
def test_a_stopped_worker_withdraws_and_beat_fails_the_job_it_left_queued(
    presence, celery_worker_process, celery_beat_process, leftovers
):
    gone = Host.objects.create(name="vnwt-gone", uri="test:///default")
    kept = Host.objects.create(name="vnwt-kept", uri="test:///default")
    leftovers += [gone.queue, kept.queue]
    leaving = celery_worker_process(gone.name)
    # The worker that stays also runs beat's tasks (every worker reads the control queue).
    celery_worker_process(kept.name, VNETWEB_WORKER_PRESENCE="true")
    wait_for(
        lambda: workers.serving(gone.queue) and workers.serving(kept.queue),
        timeout=30,
        message="the workers did not announce themselves (see var/test-worker-*.log)",
    )
    leaving.terminate()
    assert leaving.wait(20) == 0
    assert workers.serving(gone.queue) is False, "the stopped worker is still announced"
    assert workers.serving(kept.queue) is True

    # Jobs queued while their workers were alive, and never taken (their messages lost or
    # waiting): one for the host whose worker stopped, one for the host whose worker runs. The
    # second is the older, so the beat run that fails the first has seen it old enough too.
    waiting = Job.objects.create(username="oscar-operator", host=kept, operation="probe")
    stranded = Job.objects.create(username="oscar-operator", host=gone, operation="probe")
    celery_beat_process(seconds=5)
    wait_for(
        lambda: Job.objects.get(pk=stranded.pk).is_finished,
        timeout=40,
        message="beat did not fail the job of the stopped worker (see var/test-beat.log)",
    )
    stranded.refresh_from_db()
    assert stranded.state == Job.State.FAILED
    assert stranded.message == (
        "No worker serves host vnwt-gone (queue host.vnwt-gone) any more: its worker stopped "
        "before running it, so nothing was done. Start a worker for it (make run starts one for "
        "every host; see docs/deployment.md) and try again."
    )
    assert Job.objects.get(pk=waiting.pk).state == Job.State.QUEUED


@pytest.mark.worker
def test_a_worker_busy_with_a_long_job_still_counts_as_serving_its_host(
    presence, operator, celery_worker_process
):
    # A "libvirtd" that accepts the connection and never answers: the job hangs in libvirt.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(30)
    port = server.getsockname()[1]
    host = Host.objects.create(name="vnwt-busy", uri=f"qemu+tcp://127.0.0.1:{port}/system")
    # Solo pool: the job holds the worker's main thread. The connect gives up only after two
    # minutes here (VNETWEB_CONNECT_SECONDS, 10 s by default), longer than this test. No monitor:
    # its own connect to the host would be the one waiting, and the job's, refused at once as
    # "an earlier attempt is still waiting", would be retried instead of hanging.
    celery_worker_process(host.name, VNETWEB_CONNECT_SECONDS="120", VNETWEB_MONITOR="false")
    wait_for(lambda: workers.serving(host.queue), timeout=30)
    hanging = create_job(operator, host, Op.PROBE)
    connection, _ = server.accept()
    try:
        wait_for(lambda: Job.objects.get(pk=hanging.pk).state == Job.State.RUNNING, timeout=10)
        until = workers.live()[node()]["until"]
        wait_for(
            lambda: workers.live()[node()]["until"] > until,
            timeout=workers.EVERY * 2,
            message="the busy worker stopped announcing itself",
        )
        # A job of its host queued a minute ago is not failed: the worker is only busy.
        waiting = Job.objects.create(username="oscar-operator", host=host, operation="probe")
        Job.objects.filter(pk=waiting.pk).update(created=timezone.now() - timedelta(minutes=1))
        assert tasks.fail_unserved_jobs() == 0
        assert Job.objects.get(pk=waiting.pk).state == Job.State.QUEUED
        assert Job.objects.get(pk=hanging.pk).state == Job.State.RUNNING, "it was not busy"
    finally:
        connection.close()
        server.close()
    # Unblocked, the job fails (the "host" is gone) and the worker can stop.
    wait_for(lambda: Job.objects.get(pk=hanging.pk).is_finished, timeout=40)
