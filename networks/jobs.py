"""Creating jobs: the web side of every libvirt operation.

A request writes a Job row and, once its transaction commits, queues `run_job` on the host's own
queue. The page then polls the row; the worker does the rest.
"""

from django.db import transaction

from networks.models import Host, Job, Network


def enqueue(job: Job) -> None:
    from networks.tasks import run_job  # tasks import this module's callers; avoid a cycle

    queue = job.host.queue
    transaction.on_commit(lambda: run_job.apply_async(args=[job.pk], queue=queue))


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


def pending_job(network: Network) -> Job | None:
    """The newest unfinished job on a network, so a page reload keeps showing its progress."""
    return (
        network.jobs.exclude(state__in=Job.FINISHED).order_by("-created").first()
        if network.pk
        else None
    )
