"""Asking for a switch's port forwards to change: the jobs that the switch's page and the API
both queue, with the same checks. What may be added is networks.port_forwards' to say; the
params written here are what the worker reads back (networks.worker.forwards).

Not in networks.port_forwards itself: that module is read by the audit trail, which the jobs
module imports, so creating jobs there would close a cycle.
"""

from networks import operations, permissions
from networks.jobs import create_job
from networks.models import Job, Network
from networks.operations import Op
from networks.port_forwards import Wanted, refusals


def add_params(wanted: Wanted) -> dict:
    """A FORWARD_ADD job's params: "listen" "" for every address, the host's range closed."""
    params = {
        "protocol": wanted.protocol,
        "listen": wanted.listen or "",
        "host_port": wanted.host_port,
        "host_port_end": wanted.last_host_port,
        "guest_ip": wanted.guest_ip,
        "guest_port": wanted.guest_port,
    }
    if wanted.guest_port_end is not None:
        params["guest_port_end"] = wanted.guest_port_end
    return params


def queue_add(user, network: Network, wanted: Wanted) -> Job | dict[str, str]:
    """A job adding `wanted` to the switch, or why it may not be added, by field (refusals'
    keys; nothing queued). PermissionDenied unless the user operates the switch."""
    permissions.require(user, operations.get(Op.FORWARD_ADD), network)
    if errors := refusals(network, wanted):
        return errors
    params = add_params(wanted)
    return create_job(user, network.host, Op.FORWARD_ADD, network=network, params=params)


def queue_remove(user, network: Network, forward_id: int) -> Job | None:
    """A job removing one of the switch's forwards (from the firewall, then the row); None when
    the switch has no forward `forward_id`. The role is checked first (403 before 404, as the
    pages answer)."""
    permissions.require(user, operations.get(Op.FORWARD_REMOVE), network)
    forward = network.forwards.filter(pk=forward_id).first()
    if forward is None:
        return None
    params = {"forward": forward.pk}
    return create_job(user, network.host, Op.FORWARD_REMOVE, network=network, params=params)


def queue_apply(user, network: Network) -> Job | str:
    """A job writing the host's forwards again (the health verdict's Fix), or why not now."""
    op = operations.get(Op.FORWARDS_APPLY)
    permissions.require(user, op, network)
    if not op.available(network):
        return (
            f"{network.name} is not running: its port forwards are put back when it starts; "
            "nothing was sent."
        )
    return create_job(user, network.host, Op.FORWARDS_APPLY, network=network)
