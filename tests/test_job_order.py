"""Jobs on one switch run one at a time, in order (networks.jobs.claim): a job is not
claimed while an earlier job on the same host and target is queued or running, and asks again
with Celery's countdown. Jobs on other switches, and a host's own probes, do not wait; a job lost
with its worker or its message holds nobody up for ever.

On libvirt's test driver (test:///default, in this process); its "default" network is put back.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from networks import gateway, jobs
from networks.models import Host, Job, Network
from networks.operations import Op
from networks.worker import tasks

pytestmark = pytest.mark.postgres

URI = "test:///default"


@pytest.fixture
def default_net(test_host):
    """The test driver's "default" network, running and read into the database; put back after."""
    before = gateway.network_state(URI, "default")
    gateway.start_network(URI, "default")
    tasks.refresh(test_host)
    yield Network.objects.get(host=test_host, name="default")
    (gateway.start_network if before.active else gateway.stop_network)(URI, "default")


@pytest.fixture
def asked_again(monkeypatch) -> list[dict]:
    """run_job.apply_async calls, recorded instead of sent to Redis."""
    calls: list[dict] = []

    def apply_async(self, args=None, kwargs=None, **options):
        calls.append({"args": args, **options})

    monkeypatch.setattr(type(tasks.run_job._get_current_object()), "apply_async", apply_async)
    return calls


def job_on(host: Host, target: str = "default", operation=Op.STOP, **fields) -> Job:
    return Job.objects.create(
        username="oscar-operator", host=host, target=target, operation=operation, **fields
    )


def run(job: Job) -> Job:
    tasks.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_a_job_is_not_claimed_while_an_earlier_job_on_its_switch_is_queued(
    default_net, test_host, asked_again
):
    first, second = job_on(test_host), job_on(test_host, operation=Op.START)
    assert jobs.claim(second.pk, "w1") is None
    second = run(second)
    assert second.state == Job.State.QUEUED and second.attempts == 0
    assert second.message == (
        f"Waiting for job {first.pk} on default (Stop, asked by oscar-operator) to end: jobs on "
        "one target run one at a time, in order."
    )
    assert asked_again == [{"args": [second.pk], "queue": test_host.queue, "countdown": 1}]
    assert gateway.network_state(URI, "default").active is True, "the later start did not run"


def test_the_waiting_job_runs_once_the_earlier_one_ended_and_after_it(
    default_net, test_host, asked_again
):
    first, second = job_on(test_host), job_on(test_host, operation=Op.START)
    run(second)
    first = run(first)
    assert first.state == Job.State.SUCCEEDED
    second = run(second)  # the countdown's message
    assert (second.state, second.message) == (Job.State.SUCCEEDED, "Started default.")
    assert second.started >= first.finished
    assert gateway.network_state(URI, "default").active is True, "stop, then start: in order"


def test_a_job_is_not_claimed_while_an_earlier_job_on_its_switch_is_running(
    default_net, test_host, asked_again
):
    job_on(test_host, state=Job.State.RUNNING, started=timezone.now())
    later = run(job_on(test_host))
    assert later.state == Job.State.QUEUED and later.message.startswith("Waiting for job")
    assert gateway.network_state(URI, "default").active is True


def test_a_waiting_job_is_announced_once_not_at_every_look(
    default_net, test_host, asked_again, monkeypatch
):
    announced: list[int] = []
    monkeypatch.setattr(jobs, "announce", lambda job: announced.append(job.pk))
    job_on(test_host)
    later = job_on(test_host)
    run(later)
    run(later)
    run(later)
    assert announced == [later.pk], "open pages hear of the wait once"
    assert len(asked_again) == 3, "but it looks again each time"


def test_finished_jobs_hold_nobody_up(default_net, test_host):
    job_on(test_host, state=Job.State.SUCCEEDED, finished=timezone.now())
    job_on(test_host, state=Job.State.FAILED, finished=timezone.now())
    assert run(job_on(test_host)).state == Job.State.SUCCEEDED


def test_a_job_on_another_switch_is_not_held_up(default_net, test_host):
    job_on(test_host, target="vnwt-elsewhere", state=Job.State.RUNNING, started=timezone.now())
    job_on(test_host, target="vnwt-elsewhere")
    job = run(job_on(test_host))
    assert (job.state, job.message) == (Job.State.SUCCEEDED, "Stopped default.")


def test_a_switch_of_the_same_name_on_another_host_is_not_held_up(default_net, test_host):
    other = Host.objects.create(name="vnwt-other", uri="test:///default")
    job_on(other, state=Job.State.RUNNING, started=timezone.now())
    assert run(job_on(test_host)).state == Job.State.SUCCEEDED


def test_a_probe_of_the_host_waits_for_nothing(test_host):
    job_on(test_host, target="", operation=Op.PROBE)
    probe = run(job_on(test_host, target="", operation=Op.PROBE))
    assert probe.state == Job.State.SUCCEEDED


def test_a_job_lost_with_its_worker_does_not_hold_its_switch_for_ever(default_net, test_host):
    lost_at = timezone.now() - jobs.STALE_RUNNING - timedelta(seconds=1)
    job_on(test_host, state=Job.State.RUNNING, started=lost_at)
    assert run(job_on(test_host)).state == Job.State.SUCCEEDED


def test_a_job_whose_message_was_lost_does_not_hold_its_switch_for_ever(default_net, test_host):
    lost = job_on(test_host)
    Job.objects.filter(pk=lost.pk).update(
        created=timezone.now() - jobs.STALE_QUEUED - timedelta(seconds=1)
    )
    assert run(job_on(test_host)).state == Job.State.SUCCEEDED


def test_a_job_run_in_the_process_that_asked_does_not_wait(default_net, test_host):
    job_on(test_host, operation=Op.START)
    later = job_on(test_host)
    tasks.run_job.apply(args=[later.pk])  # eager, as with VNETWEB_CELERY_EAGER
    later.refresh_from_db()
    assert later.state == Job.State.SUCCEEDED


def test_a_job_already_taken_is_not_asked_again(default_net, test_host, asked_again):
    job = job_on(test_host, state=Job.State.RUNNING, started=timezone.now())
    assert run(job).state == Job.State.RUNNING
    assert asked_again == []
