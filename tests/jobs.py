"""Running a job in the test process, as a worker would: the task claims it, runs it, re-reads."""

from networks.models import Host, Job, Network
from networks.worker import tasks


def run(host: Host, operation: str, target: str, **params) -> Job:
    """A job made as a page would make it, run here; its row afterwards."""
    job = Job.objects.create(
        username="alice-admin",
        host=host,
        network=Network.objects.filter(host=host, name=target).first(),
        target=target,
        operation=operation,
        params=params,
    )
    tasks.run_job(job.pk)
    job.refresh_from_db()
    return job
