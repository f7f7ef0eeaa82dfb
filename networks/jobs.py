"""Creating jobs: the web side of every libvirt operation.

A request writes a Job row and, once its transaction commits, queues `run_job` on the host's own
queue. The page then polls the row; the worker does the rest. The task is sent by name, so the
web process never imports the worker's code (nor libvirt, which only the worker loads). A job for
a host that no live worker serves (networks.workers) is written failed instead, saying so,
and never queued.
"""

import logging

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from networks import audit, live, operations, workers
from networks.models import Host, Job, Network
from networks.operations import Op

log = logging.getLogger(__name__)

RUN_JOB = "networks.tasks.run_job"


def enqueue(job: Job) -> None:
    queue = job.host.queue

    def send() -> None:
        try:
            current_app.send_task(RUN_JOB, args=[job.pk], queue=queue)
        except Exception as exc:  # kombu/redis errors vary by transport; all mean "not queued"
            log.warning("could not queue job %s: %s", job.pk, exc)
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
                state=Job.State.FAILED,
                message=f"The job could not be queued (is Redis running?): {exc}",
                finished=timezone.now(),
            )

    transaction.on_commit(send)


def unserved(host: Host) -> dict:
    """The fields of a failed job when no live worker serves `host`, else {}.

    Queued, such a job would wait for a worker forever. When Redis cannot be asked, the job is
    queued as before: sending it fails too, and says so. Eager tasks run here and need no worker.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.VNETWEB_WORKER_PRESENCE:
        return {}
    if workers.serving(host.queue) is not False:
        return {}
    message = workers.unserved_message(host)
    return {"state": Job.State.FAILED, "message": message, "finished": timezone.now()}


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
    op = operations.get(operation)
    failed = unserved(host)
    job = Job.objects.create(
        user=user if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "system",
        host=host,
        network=network,
        guest=guest,
        target=target or (guest.name if guest else network.name if network else ""),
        operation=op.key,
        params=params or {},
        **failed,
    )
    audit.job_queued(job)
    if not failed:
        enqueue(job)
    live.publish(host.pk, networks=[network.pk] if network else [], jobs=[job.pk], jobs_only=True)
    return job
