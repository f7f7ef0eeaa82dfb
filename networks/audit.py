"""The audit trail: one AuditEntry per change made through vnetweb, and per change a worker
notices that nobody made through it (a network defined, changed, started, stopped or removed with
virsh or another tool).

- A job's entry is written when it is queued (who, from which address, what, on which object,
  the object's definition before) and completed when it ends (the result, libvirt's message, the
  definition after), and follows the job's state in between: networks.jobs, which alone moves
  a job, calls job_queued, job_running, job_requeued and job_ended.
- Host administration records its own entries (record), with the settings before and after.
- The request's client address reaches create_job through vnetweb.proxy.AddressMiddleware (a context
  variable), so no caller has to pass it along.
"""

import contextvars
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from networks import operations, port_forwards
from networks.models import AuditEntry, Guest, Host, Job, Network
from networks.spec_compare import same_xml
from networks.versions import diff_lines

# The address of the client whose request is being served (vnetweb.proxy.AddressMiddleware sets it).
request_address: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "address", default=None
)
# The name of the API token the request was authenticated with (networks.api.auth sets it; the
# same middleware resets it for every request), written on the request's entries.
request_token: contextvars.ContextVar[str] = contextvars.ContextVar("token", default="")
# A change seen within this long of a vnetweb job on the same object is the job's, not outside.
JOB_ECHO = timedelta(seconds=20)


def _who(user) -> tuple:
    if user is not None and user.is_authenticated:
        return user, user.get_username()
    return None, "system"


def record(user, action: str, *, host: Host | None = None, **fields) -> AuditEntry:
    """An entry for a change made now by `user` (who, the request's address, when)."""
    user, username = _who(user)
    return AuditEntry.objects.create(
        user=user,
        username=username,
        address=request_address.get(),
        token=request_token.get(),
        action=action,
        host=host,
        host_name=host.name if host else fields.pop("host_name", ""),
        **fields,
    )


def settings_text(host: Host) -> str:
    """What an admin sets of a host, as lines an entry's diff can show."""
    return "\n".join(f"{field}: {getattr(host, field)}" for field in ("name", "uri", "description"))


def nics_text(nics: list[dict], network: str) -> str:
    """A guest's NICs on `network` ("" for those on none), as lines an entry's diff can show.

    A NIC job's entry is shown to whoever sees its network; the guest's whole definition and its
    other NICs are for those who see the guest's host, so the entry holds only these lines."""
    return "\n".join(
        f"{nic.get('mac', '')} on {nic.get('type', '')} {nic.get('source', '')}: "
        f"model {nic.get('model') or 'default'}, link {nic.get('link') or 'up'}"
        for nic in nics
        if (nic.get("network") or "") == network
    )


def _nic_network(job: Job) -> str:
    return job.network.name if job.network_id else ""


# A port forward job's entry holds the switch's forwards before and after, a line each
# (networks.port_forwards.listing), not its definition: libvirt's XML has no place for them.
FORWARD_OPERATIONS = frozenset(
    op.key for op in operations.OPERATIONS if op.runner.startswith("networks.worker.forwards.")
)
# A guest's NIC left a switch, and its forwards went with it (networks.worker.sync).
FORWARDS_OUTSIDE = "outside-forwards"


def definition(job: Job) -> str:
    """What a job changes, as the database has it now: the guest's NICs on the job's network
    for a NIC job, else the network's saved definition; "" when there is none (not created
    yet, or removed)."""
    if job.guest_id:
        nics = Guest.objects.filter(pk=job.guest_id).values_list("nics", flat=True).first()
        return nics_text(nics or [], _nic_network(job))
    network = Network.objects.filter(host_id=job.host_id, name=job.target).first()
    if network is None or not job.target:
        return ""
    if job.operation in FORWARD_OPERATIONS:
        return port_forwards.listing(network)
    return network.saved_xml


def job_queued(job: Job) -> AuditEntry:
    params = job.params or {}
    return record(
        job.user,
        job.operation,
        host=job.host,
        network_name=job.network.name if job.network_id else ("" if job.guest_id else job.target),
        guest_name=job.target if job.guest_id else "",
        job=job,
        result=AuditEntry.Result.FAILED if job.state == Job.State.FAILED else job.state,
        message=job.message or _params_text(params),
        before=_before(job),
    )


def _before(job: Job) -> str:
    # The objects create_job was given: no need to read them again.
    if job.guest_id:
        return nics_text(job.guest.nics, _nic_network(job))
    if job.network_id and job.operation in FORWARD_OPERATIONS:
        return port_forwards.listing(job.network)
    return job.network.saved_xml if job.network_id else ""


def _params_text(params: dict) -> str:
    # The definitions themselves are the entry's before and after, not its message.
    shown = {
        k: v for k, v in params.items() if k not in ("xml", "base_xml") and v not in ("", None)
    }
    return ", ".join(f"{k}={v}" for k, v in sorted(shown.items()))


def job_ended(job: Job, state: str, message: str) -> None:
    """The job's entry gets its result, libvirt's message and the definition after."""
    AuditEntry.objects.filter(job_id=job.pk).update(
        result=state, message=message, after=definition(job)
    )


def job_running(job: Job) -> None:
    AuditEntry.objects.filter(job_id=job.pk, result=AuditEntry.Result.QUEUED).update(
        result=AuditEntry.Result.RUNNING
    )


def job_requeued(job: Job) -> None:
    """The job waits to run again (a transient error, its worker restarted): so does its entry."""
    AuditEntry.objects.filter(job_id=job.pk, result=AuditEntry.Result.RUNNING).update(
        result=AuditEntry.Result.QUEUED
    )


# --- changes seen, made outside vnetweb ----------------------------------------------------------


def _by_vnetweb(host: Host, name: str) -> bool:
    recent = timezone.now() - JOB_ECHO
    return Job.objects.filter(
        Q(state__in=(Job.State.QUEUED, Job.State.RUNNING)) | Q(finished__gte=recent),
        host=host,
        target=name,
    ).exists()


def noticed(host: Host, name: str, old: dict | None, new: dict | None) -> None:
    """Compare a network as the database had it (`old`: {"saved", "active"}) with what a worker
    read now (`new`), and record what changed outside vnetweb. Nothing for a host read for the
    first time, nor for what a vnetweb job of the last moments did."""
    if host.last_seen is None or old == new:
        return
    changes = []
    if old is None and new is not None:
        changes.append(("defined", "Defined outside vnetweb.", "", new["saved"]))
    elif new is None and old is not None:
        changes.append(("undefined", "Removed outside vnetweb.", old["saved"], ""))
    else:
        if not same_xml(old["saved"], new["saved"]):
            changes.append(
                ("changed", "Definition changed outside vnetweb.", old["saved"], new["saved"])
            )
        if old["active"] != new["active"]:
            word = "started" if new["active"] else "stopped"
            changes.append((word, f"{word.capitalize()} outside vnetweb.", "", ""))
    if not changes or _by_vnetweb(host, name):
        return
    for action, message, before, after in changes:
        AuditEntry.objects.create(
            outside=True,
            action=f"outside-{action}",
            host=host,
            host_name=host.name,
            network_name=name,
            message=message,
            before=before,
            after=after,
        )


def network_state(net: Network | None) -> dict | None:
    return None if net is None else {"saved": net.saved_xml, "active": net.active}


# --- reading ---------------------------------------------------------------------------------


def diff(entry: AuditEntry) -> list[tuple[str, str]]:
    """The definition's change as (css class, line) of a unified diff ([] when nothing to
    compare), as the switch editor's review shows one."""
    if entry.before == entry.after:
        return []
    return diff_lines(entry.before, entry.after)


def prune() -> int:
    """Delete the entries older than VNETWEB_AUDIT_DAYS; returns how many."""
    limit = timezone.now() - timedelta(days=settings.VNETWEB_AUDIT_DAYS)
    deleted, _ = AuditEntry.objects.filter(created__lt=limit).delete()
    return deleted
