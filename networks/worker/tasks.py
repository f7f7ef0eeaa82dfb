"""Celery tasks: the only code that acts on libvirt, always on the queue of the host concerned.

Every task is safe to run twice: a job is claimed with a conditional update before anything is
done, and each operation first checks whether libvirt already is in the wanted state. A job's
state moves only through networks.jobs (claim, wait, requeue, finish, fail), which also writes its
audit entry and tells open pages; these tasks decide when, and send the messages.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from networks import audit, gateway, jobs, live, operations, workers
from networks.models import Host, Job
from networks.worker import queues
from networks.worker.ops import Refused
from networks.worker.sync import record_network, record_snapshot, record_unreachable

log = logging.getLogger(__name__)

# How soon a job that waits for an earlier one on its target asks again (Celery's countdown).
WAIT_SECONDS = 1
# Beat leaves queued jobs younger than this alone: create_job has just checked them, and a worker
# that restarts (gracefully, so it withdrew its announcement) is back within a few seconds.
UNSERVED_AFTER = timedelta(seconds=5)


def refresh(host: Host) -> gateway.GatewayError | None:
    """Read the host into the database; returns the error instead of raising when unreachable."""
    try:
        snap = gateway.snapshot(host.uri)
    except gateway.GatewayError as exc:
        record_unreachable(host, exc)
        return exc
    record_snapshot(host, snap)
    return None


def reread(job: Job) -> gateway.GatewayError | None:
    """After a job: read the network it concerned (a probe, which has none, reads the host)."""
    if not job.target or operations.get(job.operation).target == "guest":
        # A host operation (probe), or a guest's NIC: the guest and the networks it left and
        # joined (their lists of guests, their leases) are read with the whole host.
        return refresh(job.host)
    try:
        info = gateway.find_network(job.host.uri, job.target)
    except gateway.GatewayError as exc:
        record_unreachable(job.host, exc)
        return exc
    network = record_network(job.host, job.target, info)
    if network is not None and job.network_id is None:
        # A network the job created: link them, so its page lists the job.
        Job.objects.filter(pk=job.pk).update(network=network)
        job.network_id = network.pk
    return None


def _run(job: Job) -> str:
    try:
        runner = import_string(operations.get(job.operation).runner)
    except KeyError:
        raise Refused(f"vnetweb does not know the operation {job.operation!r}.") from None
    return runner(job)


def _wait_for_turn(job_id: int) -> None:
    """A job left queued by its claim waits for an earlier job on its target: it asks again in
    WAIT_SECONDS, and its page says what it waits for."""
    job = Job.objects.filter(pk=job_id, state=Job.State.QUEUED).select_related("host").first()
    if job is None:
        return  # Already done, taken by another worker, or deleted.
    first = jobs.first_ahead(job)
    if first is not None:
        jobs.wait(
            job,
            f"Waiting for job {first.pk} on {job.target} ({first.get_operation_display()}, asked "
            f"by {first.username}) to end: jobs on one target run one at a time, in order.",
        )
    # Asked again even when the earlier job ended meanwhile: the claim then takes it.
    run_job.apply_async(args=[job.pk], queue=job.host.queue, countdown=WAIT_SECONDS)


@shared_task(name="networks.tasks.run_job")
def run_job(job_id: int) -> None:
    # Run eagerly (in the process that asked), a job cannot wait: it runs when asked.
    eager = bool(run_job.request.is_eager)
    job = jobs.claim(job_id, run_job.request.hostname or "", in_order=not eager)
    if job is None:
        if not eager:
            _wait_for_turn(job_id)
        return
    try:
        message = _run(job)
    except Refused as exc:
        reread(job)
        jobs.fail(job, str(exc), only_from=jobs.CLAIMED)
        return
    except gateway.GatewayError as exc:
        if exc.transient and job.attempts <= settings.VNETWEB_JOB_MAX_RETRIES:
            delay = 2**job.attempts
            message = (
                f"{exc.message} — trying again in {delay} s "
                f"(attempt {job.attempts} of {settings.VNETWEB_JOB_MAX_RETRIES + 1})."
            )
            if jobs.requeue(job, message):
                run_job.apply_async(args=[job.pk], queue=job.host.queue, countdown=delay)
            return
        reread(job)
        jobs.fail(job, exc.message, only_from=jobs.CLAIMED)
        return
    except Exception as exc:
        jobs.fail(job, f"Internal error: {exc}", only_from=jobs.CLAIMED)
        raise
    # Re-read before finishing, so that the page, seeing the job end, also sees the new state.
    # The operation is done whatever happens here: the job ends, never left running.
    try:
        error = reread(job)
    except Exception as exc:
        jobs.finish(job, f"{message} (Could not record the host's new state: {exc})")
        raise
    if error is not None:
        message += f" (Could not re-read the host afterwards: {error.message})"
    jobs.finish(job, message)


@shared_task(name="networks.tasks.prune_audit")
def prune_audit() -> int:
    """Entries older than VNETWEB_AUDIT_DAYS go (networks.audit.prune)."""
    return audit.prune()


@shared_task(name="networks.tasks.refresh_host")
def refresh_host(host_id: int) -> None:
    host = Host.objects.filter(pk=host_id).first()
    if host is not None:
        refresh(host)


@shared_task(name="networks.tasks.schedule_refreshes")
def schedule_refreshes() -> None:
    """Beat's sweep: one refresh per host, on that host's queue, dropped if not run in time.

    Spread over the period (host i of n waits i/n of it), so that a fleet's workers, database and
    Redis see a steady trickle rather than every host at once. A safety net: changes arrive
    through the monitor (networks.worker.monitor) within seconds."""
    period = settings.VNETWEB_REFRESH_SECONDS
    hosts = list(Host.objects.only("name").order_by("pk"))
    for index, host in enumerate(hosts):
        countdown = period * index / len(hosts)
        refresh_host.apply_async(
            args=[host.pk],
            queue=host.queue,
            countdown=countdown,
            expires=countdown + max(period, 10),
        )


@shared_task(name="networks.tasks.broadcast_queue_sync")
def broadcast_queue_sync() -> None:
    workers.broadcast_sync()


@shared_task(name="networks.tasks.fail_lost_jobs")
def fail_lost_jobs() -> int:
    """Jobs left "running" by a worker that died say so, instead of spinning on the page forever."""
    since = timezone.now() - jobs.STALE_RUNNING
    lost = Job.objects.filter(state=Job.State.RUNNING, started__lt=since)
    message = "Its worker stopped while running it. Check the network's state and try again."
    return sum(jobs.fail(job, message, only_from=(Job.State.RUNNING,)) for job in lost)


@shared_task(name="networks.tasks.tell_unserved_hosts")
def tell_unserved_hosts() -> int:
    """Open pages hear of a host whose worker went away (or came back): its announcement ran out
    (networks.workers), which nothing else would tell them. Returns how many hosts changed."""
    found = workers.unserved(Host.objects.only("name"))
    if found is None:
        return 0
    changed = workers.note_unserved(found)
    for host_id in sorted(changed):
        live.send(host_id)
    return len(changed)


@shared_task(name="networks.tasks.fail_unserved_jobs")
def fail_unserved_jobs() -> int:
    """Queued jobs of hosts that no live worker serves say so, instead of waiting forever.

    create_job already fails a job for a host nobody serves; this catches the worker that stopped
    after the job was queued. A worker busy with a long job keeps announcing itself from a thread,
    so its hosts' jobs are left queued. Returns how many were failed.
    """
    if not settings.VNETWEB_WORKER_PRESENCE:
        return 0
    now = timezone.now()
    old = Job.objects.filter(state=Job.State.QUEUED, created__lt=now - UNSERVED_AFTER)
    queued = list(old.select_related("host"))
    alive = workers.live() if queued else None
    if alive is None:  # nothing to look at, or Redis away: nothing can be told
        return 0
    failed = 0
    for job in queued:
        if any(workers.takes(entry, job.host.queue) for entry in alive.values()):
            continue
        message = workers.unserved_message(job.host, any_more=True)
        failed += jobs.fail(job, message, only_from=(Job.State.QUEUED,))
    if failed:
        log.warning("failed %d queued job(s) that no live worker serves", failed)
    return failed


def recover_lost_jobs(worker: str) -> tuple[int, int]:
    """Jobs that this Celery node left "running" when its process died: mark them queued again.

    Called when the node (same name, e.g. restarted by supervisord) is ready; the caller then sends
    them. Nothing else can be running them: a node name is one process. Running a job again is
    safe because every operation first compares with libvirt's real state. A job that keeps
    killing its worker is failed once it has used its attempts. Returns (queued again, failed).
    """
    requeued = failed = 0
    if not worker:
        return requeued, failed
    for job in Job.objects.filter(state=Job.State.RUNNING, worker=worker):
        if job.attempts <= settings.VNETWEB_JOB_MAX_RETRIES:
            requeued += jobs.requeue(
                job,
                f"Its worker {worker} stopped while running it; running it again "
                f"(attempt {job.attempts + 1} of {settings.VNETWEB_JOB_MAX_RETRIES + 1}).",
            )
        else:
            failed += jobs.fail(
                job,
                f"Its worker {worker} stopped while running it, {job.attempts} times; "
                "given up. Check the network's state and the worker's log.",
                only_from=(Job.State.RUNNING,),
            )
    return requeued, failed


def resend_queued_jobs(worker: str) -> int:
    """Send again every queued job of the hosts this worker serves; returns how many.

    A message pushed to Redis in the instant a worker is killed can be handed to the dead
    worker's blocking pop and vanish, so a job asked for during a crash would wait forever.
    Sending it again is harmless: a job is claimed once, and a second message finds it taken.
    """
    queued = Job.objects.filter(state=Job.State.QUEUED).select_related("host")
    mine = [job for job in queued if queues.serves(job.host.name)]
    for job in mine:
        run_job.apply_async(args=[job.pk], queue=job.host.queue)
    if mine:
        log.warning("%s sent %d queued job(s) again", worker, len(mine))
    return len(mine)


def take_back_jobs(worker: str) -> None:
    """When a worker is ready: the jobs its previous process left running, and every queued job
    of its hosts, sent again."""
    requeued, failed = recover_lost_jobs(worker)
    if requeued or failed:
        log.warning("jobs lost by %s: %d queued again, %d failed", worker, requeued, failed)
    resend_queued_jobs(worker)
