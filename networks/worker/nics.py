"""What the worker does for the NIC operations (networks.operations names these functions).

The job's target is the guest's name; its params say which NIC (mac) and where to (network).
Each change is made live on a running guest and kept in a persistent guest's definition; each
says "nothing to do" when the guest already is as asked, so a job run twice is harmless.

A job asked from a page also says what the person saw (networks.views.guest_nics): where the NIC
was (`seen_type`, `seen_source`) or which NICs the guest had (`seen_macs`). Right before it acts,
the worker reads the guest from libvirt and refuses when that is no longer so: a change made
meanwhile with virsh, or by another job, is not undone without the person knowing.
"""

import time

from networks import gateway
from networks.models import Job
from networks.worker.ops import Refused

_LOOK_AGAIN = "Nothing was changed; look at the guest again."


def _on(kind: str, source: str) -> str:
    return source if kind == "network" else f"{kind} {source}".strip() or "nothing"


def _nics_now(job: Job) -> tuple[gateway.NicInfo, ...]:
    state = gateway.domain_state(job.host.uri, job.target)
    return state.nics if state is not None else ()


def check_place(job: Job, mac: str, going_to: str = "") -> None:
    """Refuse when the NIC is not where the person saw it (unless it already is where it goes:
    a job run twice). A NIC that is gone is left to the operation to say so."""
    if "seen_source" not in job.params:
        return
    nic = next((n for n in _nics_now(job) if n.mac == mac.lower()), None)
    if nic is None or (going_to and (nic.type, nic.source) == ("network", going_to)):
        return
    seen = (job.params.get("seen_type", ""), job.params["seen_source"])
    if (nic.type, nic.source) != seen:
        raise Refused(
            f"{job.target}'s NIC {mac} is on {_on(nic.type, nic.source)} now, not on "
            f"{_on(*seen)} where {job.username} saw it: it was changed since. {_LOOK_AGAIN}"
        )


def check_attach(job: Job, network: str) -> None:
    """Refuse when the guest has a NIC on `network` now that the person did not see (one
    attached meanwhile): a second NIC on the same switch is rarely what either person wanted."""
    if "seen_macs" not in job.params:
        return
    known = set(job.params["seen_macs"].split()) | {(job.params.get("mac") or "").lower()}
    new = [
        nic.mac
        for nic in _nics_now(job)
        if (nic.type, nic.source) == ("network", network) and nic.mac not in known
    ]
    if new:
        raise Refused(
            f"{job.target} has a NIC on {network} now that was not there when {job.username} "
            f"asked ({', '.join(new)}): it was attached since. {_LOOK_AGAIN}"
        )


def _where(job: Job, running: bool | None = None) -> str:
    guest = job.guest
    running = guest.running if running is None and guest is not None else running
    persistent = guest.persistent if guest is not None else True
    if running and persistent:
        return "live and in its definition"
    if running:
        return "live (a transient guest has no definition to keep it in)"
    return "in its definition; the guest is not running, so it has the NIC from its next start"


def nic_attach(job: Job) -> str:
    network = job.params["network"]
    model = job.params.get("model") or "virtio"
    check_attach(job, network)
    mac = gateway.attach_nic(
        job.host.uri, job.target, network, model=model, mac=job.params.get("mac", "")
    )
    Job.objects.filter(pk=job.pk).update(params={**job.params, "mac": mac})
    return f"Attached a {model} NIC {mac} on {network} to {job.target} ({_where(job)})."


def nic_move(job: Job) -> str:
    network, mac = job.params["network"], job.params["mac"]
    check_place(job, mac, going_to=network)
    if not gateway.move_nic(job.host.uri, job.target, mac, network):
        return f"{job.target}'s NIC {mac} was already on {network}; nothing to do."
    message = f"Moved {job.target}'s NIC {mac} to {network} ({_where(job)})."
    state = gateway.domain_state(job.host.uri, job.target)
    nic = next((n for n in state.nics if n.mac == mac.lower()), None) if state else None
    if job.params.get("renew", True) and state and state.running and nic and nic.link == "up":
        # A guest keeps the address it had on the old switch until it asks again; most ask
        # when their link comes back (systemd-networkd, NetworkManager, the test guests).
        gateway.set_nic_link(job.host.uri, job.target, mac, False)
        time.sleep(1.0)
        gateway.set_nic_link(job.host.uri, job.target, mac, True)
        message += " Its link went down and up, so that the guest asks for an address there."
    return message


def nic_detach(job: Job) -> str:
    mac = job.params["mac"]
    check_place(job, mac)
    if not gateway.detach_nic(job.host.uri, job.target, mac):
        return f"{job.target} has no NIC {mac}; nothing to do."
    return f"Detached the NIC {mac} from {job.target} ({_where(job)})."


def nic_link(job: Job) -> str:
    mac, up = job.params["mac"], bool(job.params["up"])
    word = "up" if up else "down"
    if not gateway.set_nic_link(job.host.uri, job.target, mac, up):
        return f"The link of {job.target}'s NIC {mac} was already {word}; nothing to do."
    return f"Set the link of {job.target}'s NIC {mac} {word} ({_where(job)})."
