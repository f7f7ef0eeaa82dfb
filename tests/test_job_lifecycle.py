"""The job lifecycle (networks.jobs): every transition moves the job, its audit entry and the open
pages together, only from the state it expects; and no other code assigns a job's state.

No worker and no libvirt: the transitions are called as the worker and beat call them, the queue
is a recorder (or refuses), and what would go to open pages is caught at networks.live.send.
"""

import ast
from collections.abc import Callable
from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone
from kombu.exceptions import OperationalError

from networks import jobs, live, workers
from networks.jobs import create_job
from networks.models import AuditEntry, Job
from networks.operations import Op
from networks.worker import tasks
from tests.sources import REPO, python_files, relative

pytestmark = pytest.mark.postgres

WORKER = "hosts@kvm1"


@pytest.fixture
def sent(monkeypatch) -> list[list]:
    """run_job messages sent to a queue (by name or by the task), recorded instead."""
    calls: list[list] = []

    def send_task(name, args=None, **options):
        calls.append(args)

    def apply_async(self, args=None, kwargs=None, **options):
        calls.append(args)

    monkeypatch.setattr(current_app._get_current_object(), "send_task", send_task)
    monkeypatch.setattr(type(tasks.run_job._get_current_object()), "apply_async", apply_async)
    return calls


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    """Live updates as they leave for Redis (after the commit)."""
    calls: list[dict] = []

    def send(host, networks=(), jobs=(), jobs_only=False, topic=""):
        calls.append({"host": host, "networks": list(networks), "jobs": list(jobs)})

    monkeypatch.setattr(live, "send", send)
    return calls


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run `step` and commit: its on-commit callbacks (the queue, the live update) run."""

    def commit(step: Callable):
        with django_capture_on_commit_callbacks(execute=True):
            return step()

    return commit


@pytest.fixture
def queued(operator, test_host, make_network, sent, committed) -> Job:
    """A job asked for as a page asks: queued, with its audit entry."""
    network = make_network(test_host, "net1")
    return committed(lambda: create_job(operator, test_host, Op.START, network=network))


@pytest.fixture
def running(queued, committed) -> Job:
    """The queued job, claimed by WORKER."""
    return committed(lambda: jobs.claim(queued.pk, WORKER))


def entry_of(job: Job) -> AuditEntry:
    return AuditEntry.objects.get(job_id=job.pk)


def assert_they_agree(job: Job) -> None:
    """The job's row and its audit entry say the same: its state, and how it ended."""
    job.refresh_from_db()
    entry = entry_of(job)
    assert entry.result == job.state
    if job.is_finished:
        assert entry.message == job.message
        assert job.finished is not None


# --- the two bugs --------------------------------------------------------------------------------


def test_a_job_the_queue_refuses_is_failed_and_so_is_its_audit_entry(
    operator, test_host, make_network, monkeypatch, committed
):
    def refuse(*_args, **_kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(current_app._get_current_object(), "send_task", refuse)
    network = make_network(test_host, "net1")
    job = committed(lambda: create_job(operator, test_host, Op.START, network=network))
    job.refresh_from_db()
    assert job.state == Job.State.FAILED and "could not be queued" in job.message
    entry = entry_of(job)
    assert (entry.result, entry.message) == (AuditEntry.Result.FAILED, job.message)


def test_a_job_a_restarted_worker_gives_up_is_failed_and_so_is_its_audit_entry(
    running, settings, committed
):
    Job.objects.filter(pk=running.pk).update(attempts=settings.VNETWEB_JOB_MAX_RETRIES + 1)
    assert committed(lambda: tasks.recover_lost_jobs(WORKER)) == (0, 1)
    running.refresh_from_db()
    assert running.state == Job.State.FAILED and "given up" in running.message
    entry = entry_of(running)
    assert (entry.result, entry.message) == (AuditEntry.Result.FAILED, running.message)


# --- every transition: the job and its entry agree, and pages hear once -------------------------


def queue(operator, test_host, make_network, **_) -> Job:
    network = make_network(test_host, "net2")
    return create_job(operator, test_host, Op.STOP, network=network)


def unserved_at_creation(operator, test_host, settings, monkeypatch, **_) -> Job:
    settings.VNETWEB_WORKER_PRESENCE = True
    monkeypatch.setattr(workers, "serving", lambda queue: False)
    return create_job(operator, test_host, Op.PROBE)


def refused_by_queue(queued, monkeypatch, **_) -> Job:
    def refuse(*_args, **_kwargs):
        raise OperationalError("Connection refused.")

    monkeypatch.setattr(current_app._get_current_object(), "send_task", refuse)
    jobs.enqueue(queued)  # sent again, say: the queue's refusal alone
    return queued


def claim(queued, **_) -> Job:
    return jobs.claim(queued.pk, WORKER)


def wait(queued, **_) -> Job:
    assert jobs.wait(queued, "Waiting for job 1 on net1 (Stop, asked by someone) to end.")
    return queued


def requeue(running, **_) -> Job:
    assert jobs.requeue(running, "Host unreachable — trying again in 2 s (attempt 1 of 3).")
    return running


def requeue_after_restart(running, **_) -> Job:
    assert tasks.recover_lost_jobs(WORKER) == (1, 0)
    return running


def finish(running, **_) -> Job:
    assert jobs.finish(running, "Started net1.")
    return running


def fail_lost(running, **_) -> Job:
    Job.objects.filter(pk=running.pk).update(started=timezone.now() - timedelta(minutes=10))
    assert tasks.fail_lost_jobs() == 1
    return running


def fail_unserved(queued, settings, monkeypatch, **_) -> Job:
    settings.VNETWEB_WORKER_PRESENCE = True
    monkeypatch.setattr(workers, "live", lambda: {})
    Job.objects.filter(pk=queued.pk).update(created=timezone.now() - timedelta(minutes=1))
    assert tasks.fail_unserved_jobs() == 1
    return queued


def give_up(running, settings, **_) -> Job:
    Job.objects.filter(pk=running.pk).update(attempts=settings.VNETWEB_JOB_MAX_RETRIES + 1)
    assert tasks.recover_lost_jobs(WORKER) == (0, 1)
    return running


# Each transition, the job it starts from (a fixture, or None: it makes its own), where it leads.
TRANSITIONS = {
    queue: (None, Job.State.QUEUED),
    unserved_at_creation: (None, Job.State.FAILED),
    refused_by_queue: ("queued", Job.State.FAILED),
    claim: ("queued", Job.State.RUNNING),
    wait: ("queued", Job.State.QUEUED),
    requeue: ("running", Job.State.QUEUED),
    requeue_after_restart: ("running", Job.State.QUEUED),
    finish: ("running", Job.State.SUCCEEDED),
    fail_lost: ("running", Job.State.FAILED),
    fail_unserved: ("queued", Job.State.FAILED),
    give_up: ("running", Job.State.FAILED),
}


@pytest.mark.parametrize("transition", TRANSITIONS, ids=lambda t: t.__name__)
def test_every_transition_leaves_the_job_and_its_entry_agreeing_and_tells_pages_once(
    transition, request, operator, test_host, make_network, settings, monkeypatch, sent, committed
):
    start, leads_to = TRANSITIONS[transition]
    given = {"operator": operator, "test_host": test_host, "make_network": make_network}
    given |= {"settings": settings, "monkeypatch": monkeypatch}
    if start is not None:
        given[start] = request.getfixturevalue(start)
    published = request.getfixturevalue("published")  # from here on: the transition's own
    job = committed(lambda: transition(**given))
    assert_they_agree(job)
    assert job.state == leads_to
    network = [job.network_id] if job.network_id else []
    assert published == [{"host": test_host.pk, "networks": network, "jobs": [job.pk]}]


def test_a_live_update_leaves_only_once_the_transition_commits(running, published, committed):
    def finish_and_look() -> None:
        jobs.finish(running, "Started net1.")
        assert published == [], "sent before the commit"

    committed(finish_and_look)
    assert len(published) == 1


def test_a_waiting_job_that_already_says_so_is_not_announced_again(queued, published, committed):
    message = "Waiting for job 1 on net1 (Stop, asked by someone) to end."
    assert committed(lambda: jobs.wait(queued, message))
    assert not committed(lambda: jobs.wait(queued, message))
    assert len(published) == 1


# --- from the wrong state, nothing ---------------------------------------------------------------


def snapshot(job: Job) -> tuple:
    row = Job.objects.filter(pk=job.pk).values().get()
    return row, list(AuditEntry.objects.filter(job_id=job.pk).values())


def finished(job: Job) -> Job:
    assert jobs.finish(job, "Started net1.")
    return job


WRONG = {
    "claim a finished job": ("running", finished, lambda job: jobs.claim(job.pk, WORKER)),
    "requeue a queued job": ("queued", None, lambda job: jobs.requeue(job, "again")),
    "requeue a finished job": ("running", finished, lambda job: jobs.requeue(job, "again")),
    "finish a queued job": ("queued", None, lambda job: jobs.finish(job, "done")),
    "finish a finished job": ("running", finished, lambda job: jobs.finish(job, "twice")),
    "wait while running": ("running", None, lambda job: jobs.wait(job, "Waiting for job 1")),
    "fail from queued a running job": (
        "running",
        None,
        lambda job: jobs.fail(job, "unserved", only_from=(Job.State.QUEUED,)),
    ),
    "fail from running a queued job": (
        "queued",
        None,
        lambda job: jobs.fail(job, "lost", only_from=(Job.State.RUNNING,)),
    ),
}


@pytest.mark.parametrize("case", WRONG)
def test_a_transition_from_the_wrong_state_does_nothing(case, request, committed):
    fixture, before, move = WRONG[case]
    job = request.getfixturevalue(fixture)
    if before is not None:
        committed(lambda: before(job))
    published = request.getfixturevalue("published")
    was = snapshot(job)
    assert committed(lambda: move(job)) in (False, None)
    assert snapshot(job) == was, "no change to the job or its audit entry"
    assert published == [], "and nothing told to open pages"


def test_a_job_another_worker_took_over_is_not_moved_by_the_first(running, committed):
    Job.objects.filter(pk=running.pk).update(started=timezone.now() - jobs.STALE_RUNNING * 2)
    taken = committed(lambda: jobs.claim(running.pk, "hosts@kvm1-again"))
    assert taken is not None and taken.worker == "hosts@kvm1-again"
    assert not committed(lambda: jobs.requeue(running, "again"))
    assert not committed(lambda: jobs.finish(running, "done by the first"))
    assert Job.objects.get(pk=running.pk).state == Job.State.RUNNING


def test_a_slow_job_declared_lost_still_ends_with_what_its_worker_did(running, committed):
    Job.objects.filter(pk=running.pk).update(started=timezone.now() - timedelta(minutes=10))
    assert committed(tasks.fail_lost_jobs) == 1
    assert committed(lambda: jobs.finish(running, "Started net1."))
    assert_they_agree(running)
    assert (running.state, running.message) == (Job.State.SUCCEEDED, "Started net1.")


# --- nothing else assigns a job's state ----------------------------------------------------------

MOVES = ("update", "create", "get_or_create", "update_or_create")


def _root(node: ast.expr) -> str:
    """The name an expression starts from: `Job` in Job.objects.filter(...), `mine` in mine."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def _about_a_job(node: ast.expr) -> bool:
    """A job, a job's queryset, or a queryset held in a variable (a model of another name, e.g.
    Guest.objects, has a state of its own)."""
    root = _root(node)
    return root == "Job" or "job" in root.lower() or (root != "" and not root[0].isupper())


def _assigns_in_a_call(node: ast.Call) -> bool:
    """`state=` in Job(...) or in a .update(/.create( of a job's queryset, or
    `setattr(job, "state", ...)`."""
    func, keywords = node.func, {k.arg for k in node.keywords}
    if "state" in keywords:
        if isinstance(func, ast.Name) and func.id == "Job":
            return True
        if isinstance(func, ast.Attribute) and func.attr in MOVES:
            return _about_a_job(func.value)
    if _root(func) == "setattr" and len(node.args) > 1:
        target, name = node.args[:2]
        return isinstance(name, ast.Constant) and name.value == "state" and _about_a_job(target)
    return False


def _assigns_an_attribute(node: ast.AST) -> bool:
    """`job.state = ...` (or +=, or annotated)."""
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    return any(
        isinstance(target, ast.Attribute)
        and target.attr == "state"
        and "job" in ast.unparse(target.value).lower()
        for target in targets
    )


def state_assignments(source: str) -> list[int]:
    """The lines of `source` that assign a Job's state."""
    return [
        node.lineno
        for node in ast.walk(ast.parse(source))
        if (isinstance(node, ast.Call) and _assigns_in_a_call(node)) or _assigns_an_attribute(node)
    ]


def test_nothing_outside_networks_jobs_assigns_a_jobs_state():
    offenders = []
    for path in python_files():
        if relative(path) == "networks/jobs.py":
            continue
        for line in state_assignments(path.read_text()):
            offenders.append(f"{relative(path)}:{line}")
    assert offenders == [], "a job's state moves through networks.jobs only: " + ", ".join(
        offenders
    )


@pytest.mark.parametrize(
    "source",
    [
        "Job.objects.filter(pk=1).update(state=Job.State.FAILED)",
        "mine = Job.objects.filter(pk=1)\nmine.update(state='failed', message='')",
        "Job.objects.create(username='x', state=Job.State.FAILED)",
        "job = Job(state='queued')",
        "job.state = Job.State.SUCCEEDED",
        "self.job.state = 'failed'",
        "setattr(job, 'state', 'failed')",
    ],
)
def test_the_check_above_catches_a_state_assigned_by_hand(source):
    assert state_assignments(source) == [source.count("\n") + 1]


def test_the_check_above_leaves_other_models_states_alone():
    source = "Guest.objects.create(host=h, state='running')\nguest.state = 'shut off'"
    assert state_assignments(source) == []
    assert state_assignments((REPO / "networks" / "jobs.py").read_text()) != []
