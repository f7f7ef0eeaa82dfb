"""Creating jobs: the web side of every libvirt operation.

A request writes a Job row and, once its transaction commits, queues `run_job` on the host's own
queue. The page then polls the row; the worker does the rest.
"""

import logging

from django.db import transaction
from django.utils import timezone

from networks.models import Host, Job, Network

log = logging.getLogger(__name__)


def enqueue(job: Job) -> None:
    from networks.tasks import run_job  # tasks import this module's callers; avoid a cycle

    queue = job.host.queue

    def send() -> None:
        try:
            run_job.apply_async(args=[job.pk], queue=queue)
        except Exception as exc:  # kombu/redis errors vary by transport; all mean "not queued"
            log.warning("could not queue job %s: %s", job.pk, exc)
            Job.objects.filter(pk=job.pk, state=Job.State.QUEUED).update(
                state=Job.State.FAILED,
                message=f"The job could not be queued (is Redis running?): {exc}",
                finished=timezone.now(),
            )

    transaction.on_commit(send)


def create_job(
    user,
    host: Host,
    operation: Job.Operation,
    network: Network | None = None,
    params: dict | None = None,
) -> Job:
    job = Job.objects.create(
        user=user if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "system",
        host=host,
        network=network,
        target=network.name if network else "",
        operation=operation,
        params=params or {},
    )
    enqueue(job)
    return job
