"""A switch's port forwards as its page shows them, and as jobs: what each job asks of the worker.

One source for the page (networks.views.forwards) and whatever else queues forwards: the form
(networks.forms.forwards) and `port_forwards.refusals` decide whether a forward may be added,
these build the job's params and the rows the table shows.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from networks.jobs import create_job
from networks.models import Job, Network, PortForward
from networks.operations import Op
from networks.port_forwards import Wanted

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


def params(wanted: Wanted) -> dict:
    """A FORWARD_ADD job's params (networks.worker.forwards.forward_add reads them)."""
    found = {
        "protocol": wanted.protocol,
        "listen": wanted.listen or "",
        "host_port": wanted.host_port,
        "host_port_end": wanted.last_host_port,
        "guest_ip": wanted.guest_ip,
        "guest_port": wanted.guest_port,
    }
    if wanted.guest_port_end is not None:
        found["guest_port_end"] = wanted.guest_port_end
    return found


def queue_add(user, network: Network, wanted: Wanted) -> Job:
    """The caller has checked the role and `refusals`; the worker checks the rule again."""
    return create_job(user, network.host, Op.FORWARD_ADD, network=network, params=params(wanted))


def queue_remove(user, network: Network, forward: PortForward) -> Job:
    return create_job(
        user, network.host, Op.FORWARD_REMOVE, network=network, params={"forward": forward.pk}
    )


def queue_apply(user, network: Network) -> Job:
    return create_job(user, network.host, Op.FORWARDS_APPLY, network=network, params={})


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
