"""The version of a guest's NICs: where each is (MAC, type, source, switch, model) as the
database holds them, and the last attach, move or detach asked for the guest.

The marker is that last NIC job, so a change asked for but not yet made (the row changes only
once the worker has read the guest again) already makes an older page stale. A link set up or
down changes no NIC's place and no version.
"""

from django.db.models import OuterRef, Subquery

from networks.models import AuditEntry, Guest, Job
from networks.operations import Op
from networks.stale.common import at, marker_of, sentence, version

NIC_JOBS = (Op.NIC_ATTACH, Op.NIC_MOVE, Op.NIC_DETACH)
_FIELDS = ("mac", "type", "source", "network", "model")


def _places(nics: list[dict]) -> list[list[str]]:
    return sorted([str(nic.get(field) or "").lower() for field in _FIELDS] for nic in nics)


def nics_version(nics: list[dict], last_job: int | None) -> str:
    return version(last_job, _places(nics))


def _nic_jobs():
    return Job.objects.filter(operation__in=NIC_JOBS).order_by("-pk").values("pk")


def last_job_of_each() -> Subquery:
    """For Guest querysets: `.annotate(last_nic_job=last_job_of_each())`, one query for all."""
    return Subquery(_nic_jobs().filter(guest=OuterRef("pk"))[:1])


def guest_version(guest: Guest) -> str:
    return nics_version(
        guest.nics, _nic_jobs().filter(guest=guest).values_list("pk", flat=True).first()
    )


def _place(nic: dict) -> str:
    where = nic.get("network") or f"{nic.get('type', '')} {nic.get('source', '')}".strip()
    return f"{nic.get('mac', '')} on {where or 'nothing'}"


def _what(action: str, params: dict, network: str) -> tuple[str, str, str]:
    """(infinitive, past tense, object) of a NIC job in words."""
    mac, to = params.get("mac") or "", params.get("network") or network
    if action == Op.NIC_ATTACH:
        return "attach", "attached", f"a NIC{' ' + mac if mac else ''} on {to}"
    if action == Op.NIC_MOVE:
        return "move", "moved", f"{mac} to {to}"
    return "detach", "detached", mac


def _event(entry: AuditEntry) -> str:
    params = entry.job.params if entry.job_id else {}
    infinitive, past, what = _what(entry.action, params or {}, entry.network_name)
    who, when = entry.username or "someone", at(entry.created)
    if entry.result == AuditEntry.Result.SUCCEEDED:
        return f"{who} {past} {what} at {when}"
    if entry.result == AuditEntry.Result.FAILED:
        return f"{who} tried to {infinitive} {what} at {when} (it failed)"
    return f"{who} asked at {when} to {infinitive} {what} (not done yet)"


def events_since(guest: Guest, marker: int) -> list[str]:
    """The NIC jobs asked for the guest after job `marker`, from their audit entries."""
    entries = AuditEntry.objects.filter(
        job__guest=guest, job_id__gt=marker, action__in=NIC_JOBS
    ).select_related("job")
    return [_event(entry) for entry in entries.order_by("pk")]


def refusal(guest: Guest, seen: str) -> str:
    """Why a change made from a page showing version `seen` is refused; "" when the page showed
    the guest's NICs as they are (or sent no version)."""
    if not seen or seen == guest_version(guest):
        return ""
    events = events_since(guest, marker_of(seen)) or [
        "its NICs were changed outside vnetweb (virsh or another tool)"
    ]
    now = ", ".join(_place(nic) for nic in guest.nics) or "no NIC"
    return (
        f"{guest.name}'s NICs changed since this page was drawn: {sentence(events)}. "
        f"It has now {now}. Look again: nothing was queued."
    )
