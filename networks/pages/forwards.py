"""A switch's port forwards as its page shows them: the rows of the table (with what the
worker's last survey found of each) and the forward jobs shown above it. The jobs themselves are
queued by networks.forwards_jobs, for the page and the API alike."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from networks.models import Job, Network, PortForward
from networks.operations import Op

OPERATIONS = (Op.FORWARD_ADD, Op.FORWARD_REMOVE, Op.FORWARDS_APPLY)
# A forward job shows above the table as long as a network's row shows its job: a refusal the
# worker answered (a port taken meanwhile) is read where the forward was asked for.
SHOWN = timedelta(minutes=10)


@dataclass(frozen=True)
class Row:
    forward: PortForward
    in_place: bool | None  # as the host's worker last found its firewall; None: not read yet
    connections: int | None
    removing: bool  # a remove job of it is queued or running


def recent_jobs(network: Network) -> list[Job]:
    """The switch's forward jobs of the last minutes, newest first: running, or how they ended."""
    since = timezone.now() - SHOWN
    jobs = network.jobs.filter(operation__in=OPERATIONS, created__gte=since)
    return list(jobs.order_by("-created")[:5])


def rows(network: Network, jobs: list[Job]) -> list[Row]:
    """Each forward of the switch with what the worker's last survey found of it (by id)."""
    found = {f.get("id"): f for f in (network.switch or {}).get("forwards", [])}
    removing = {
        job.params.get("forward")
        for job in jobs
        if job.operation == Op.FORWARD_REMOVE and job.is_pending
    }
    rows = []
    for forward in network.forwards.all():
        seen = found.get(forward.pk, {})  # none yet: added since the last survey
        rows.append(
            Row(forward, seen.get("in_place"), seen.get("connections"), forward.pk in removing)
        )
    return rows
