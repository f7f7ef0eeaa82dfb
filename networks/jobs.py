"""The job lifecycle: every change of a Job's state, and only here.

    create_job ─▶ queued ──claim──▶ running ──finish──▶ succeeded
                  │  ▲ wait          │
                  │  └────requeue────┤
                  ▼                  ▼
                failed ◀────fail─────┘

fail from queued: the queue refused it, or no live worker serves its host (create_job writes it
failed at once then); claim also takes a job lost while running (past STALE_RUNNING).

A request writes a Job row (`create_job`) and, once its transaction commits, queues `run_job` on
the host's own queue; the worker claims, runs and ends it (networks.worker.tasks), beat fails the
jobs nobody will run. Each transition writes the row, the job's audit entry (networks.audit) and
one live update (networks.live, sent once the transaction commits) together, so the job, its
entry and the open pages never disagree. Each is conditional on the state it expects: two
processes cannot both move a job, and a move from any other state does nothing (False / None).

The task is sent by name, so the web process never imports the worker's code (nor libvirt, which
only the worker loads). A job for a host that no live worker serves (networks.workers) is written
failed instead, saying so, and never queued.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from networks import audit, live, operations, workers
from networks.models import Host, Job, Network
from networks.operations import Op

log = logging.getLogger(__name__)

RUN_JOB = "networks.tasks.run_job"

# A job left "running" this long was lost with its worker; a redelivered task may take it over.
STALE_RUNNING = timedelta(minutes=5)
# A job still queued this long after it was asked for lost its message: later jobs on its target
# stop waiting for it (see _ahead).
STALE_QUEUED = timedelta(minutes=15)

QUEUED, RUNNING = Job.State.QUEUED, Job.State.RUNNING
# The worker that claimed a job ends it while it runs, or after beat declared it lost (it had
# run past STALE_RUNNING): a job that was only slow ends with what really happened.
CLAIMED = (RUNNING, Job.State.FAILED)


def announce(job: Job) -> None:
    """Tell open pages that the job (and so its network's row) changed: once the transaction
    commits, so that a page reading on this message sees the change."""
    networks = [job.network_id] if job.network_id else []
    live.publish(job.host_id, networks=networks, jobs=[job.pk], jobs_only=True)


def _move(job: Job, only_from: tuple[str, ...], **fields) -> bool:
    """Write `fields` on the job if it still is in one of the states `only_from`, with the worker
    it was read with (a job another worker took over meanwhile is that worker's to move); the
    in-memory job follows. Returns whether it moved."""
    still = Job.objects.filter(pk=job.pk, state__in=only_from, worker=job.worker)
    if not still.update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    return True


# --- the web: a job asked for -------------------------------------------------------------------


def unserved(host: Host) -> str:
    """Why a job for `host` cannot be queued ("" when it can): no live worker serves the host.

    Queued, such a job would wait for a worker forever. When Redis cannot be asked, the job is
    queued as before: sending it fails too, and says so. Eager tasks run here and need no worker.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.VNETWEB_WORKER_PRESENCE:
        return ""
    if workers.serving(host.queue) is not False:
        return ""
    return workers.unserved_message(host)


def enqueue(job: Job) -> None:
    """Send the job to its host's queue once the transaction commits; a queue that refuses it
    fails it, saying so."""
    queue = job.host.queue

    def send() -> None:
        try:
            current_app.send_task(RUN_JOB, args=[job.pk], queue=queue)
        except Exception as exc:  # kombu/redis errors vary by transport; all mean "not queued"
            log.warning("could not queue job %s: %s", job.pk, exc)
            message = f"The job could not be queued (is Redis running?): {exc}"
            fail(job, message, only_from=(QUEUED,))

    transaction.on_commit(send)


def create_job(
    user,
    host: Host,
    operation: Op,
    network: Network | None = None,
    target: str = "",
    params: dict | None = None,
    guest=None,
) -> Job:
    """Record `operation` (a key of networks.operations) and queue it once the request commits.

    `target` is the network's name; it defaults to `network.name` and is needed on its own only
    for a network that does not exist yet (define). A guest's NIC job names the guest (`guest`,
    whose name is the target) and the network the NIC goes to, if any. The caller has checked
    the user's role.
    """
    refusal = unserved(host)
    ended = {"state": Job.State.FAILED, "message": refusal, "finished": timezone.now()}
    with transaction.atomic():
        job = Job.objects.create(
            user=user if user.is_authenticated else None,
            username=user.get_username() if user.is_authenticated else "system",
            host=host,
            network=network,
            guest=guest,
            target=target or (guest.name if guest else network.name if network else ""),
            operation=operations.get(operation).key,
            params=params or {},
            **(ended if refusal else {}),
        )
        audit.job_queued(job)
        if not refusal:
            enqueue(job)
        announce(job)
    return job


# --- the worker: claimed, run, ended ------------------------------------------------------------


def _ahead(now, *, host, target, pk) -> QuerySet:
    """Jobs asked for before job `pk` on the same host and target that are still to run or
    running: that job waits for them. A job lost with its worker (running past STALE_RUNNING) or
    with its message (queued past STALE_QUEUED) holds nobody up for ever."""
    unfinished = Q(state=QUEUED, created__gte=now - STALE_QUEUED) | Q(
        state=RUNNING, started__gte=now - STALE_RUNNING
    )
    return Job.objects.filter(unfinished, host=host, target=target, pk__lt=pk)


def first_ahead(job: Job) -> Job | None:
    """The earliest unfinished job that `job` waits for, if any."""
    ahead = _ahead(timezone.now(), host=job.host_id, target=job.target, pk=job.pk)
    return ahead.order_by("pk").first()


def claim(job_id: int, worker: str, *, in_order: bool = True) -> Job | None:
    """queued (or running past STALE_RUNNING: lost) → running on `worker`. The job, or None when
    it is not to be run now (done, taken, gone, or, `in_order`, while an earlier job on its
    target is unfinished: one at a time, in order)."""
    now = timezone.now()
    claimable = Q(state=QUEUED) | Q(state=RUNNING, started__lt=now - STALE_RUNNING)
    if in_order:
        earlier = _ahead(now, host=OuterRef("host"), target=OuterRef("target"), pk=OuterRef("pk"))
        claimable &= Q(target="") | ~Exists(earlier)  # a host's own job (a probe) waits for none
    with transaction.atomic():
        claimed = Job.objects.filter(claimable, pk=job_id).update(
            state=RUNNING, started=now, attempts=F("attempts") + 1, worker=worker
        )
        if not claimed:
            return None
        job = Job.objects.select_related("host", "guest").get(pk=job_id)
        audit.job_running(job)
        announce(job)
    return job


def wait(job: Job, message: str) -> bool:
    """A queued job says what it waits for (no change of state); pages hear of it once, not at
    every look. Returns whether the message changed."""
    if job.message == message:
        return False
    with transaction.atomic():
        if not _move(job, (QUEUED,), message=message):
            return False
        announce(job)
    return True


def requeue(job: Job, message: str) -> bool:
    """running → queued, to be run again (a transient error, or its worker restarted); the
    caller sends it. The audit entry says queued again."""
    with transaction.atomic():
        if not _move(job, (RUNNING,), state=QUEUED, message=message):
            return False
        audit.job_requeued(job)
        announce(job)
    return True


def _end(job: Job, state: Job.State, message: str, only_from: tuple[str, ...]) -> bool:
    with transaction.atomic():
        if not _move(job, only_from, state=state, message=message, finished=timezone.now()):
            return False
        audit.job_ended(job, state, message)
        announce(job)
    return True


def finish(job: Job, message: str) -> bool:
    """The claimed job succeeded, saying `message`."""
    return _end(job, Job.State.SUCCEEDED, message, CLAIMED)


def fail(job: Job, message: str, *, only_from: tuple[str, ...]) -> bool:
    """The job failed, saying why: refused by the queue or unserved (from queued), lost or given
    up (from running), or its run failed (CLAIMED)."""
    return _end(job, Job.State.FAILED, message, only_from)
