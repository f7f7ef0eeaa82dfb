"""The audit trail: the entries you see (networks.permissions.visible_audit), newest first, with
the audit page's filters (networks.views.audit.AuditQuery), each with the API token it was made
with and its definition's change as diff lines. Read only, as the page."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from networks import audit, permissions
from networks.api.errors import responses
from networks.api.paging import Page, PageQuery, paged
from networks.models import AuditEntry
from networks.views.audit import AuditQuery

router = Router()
# One literal, not Result | "": a wrong value is then one error under `result`.
Result = Literal[("", *AuditEntry.Result.values)]  # type: ignore[valid-type]


class AuditEntryOut(Schema):
    id: int
    created: datetime
    user: str  # who made the change ("" for one made outside vnetweb)
    token: str  # the API token's name it was made with ("" for the browser and the workers)
    address: str | None  # the client's address
    outside: bool  # seen by a worker, made with virsh or another tool
    action: str  # an operation key (networks.operations) or a word such as host-add
    host: str
    network: str
    guest: str
    job: str | None  # the job's resource, for a change made by a job
    result: str  # queued, running, succeeded, failed, done
    message: str
    diff: list[str]  # the definition's (or settings') change as unified diff lines


class AuditFilter(PageQuery):
    user: str = Field("", max_length=150, description="A user name, or `outside`.")
    host: str = Field("", max_length=64)
    network: str = Field("", max_length=255)
    action: str = Field("", max_length=64, description="Part of the action's word.")
    result: Result = ""
    since: date | None = Field(None, description="From this day on (YYYY-MM-DD).")
    until: date | None = Field(None, description="Up to this day, that day included.")


def entry_out(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "created": entry.created,
        "user": entry.username,
        "token": entry.token,
        "address": entry.address,
        "outside": entry.outside,
        "action": entry.action,
        "host": entry.host_name,
        "network": entry.network_name,
        "guest": entry.guest_name,
        "job": reverse("api-v1:job", args=[entry.job_id]) if entry.job_id else None,
        "result": entry.result,
        "message": entry.message,
        "diff": [line for _kind, line in audit.diff(entry)],
    }


def _query(filters: AuditFilter) -> AuditQuery:
    """The page's query from the API's filters (the days already read as dates)."""
    days = {
        name: day.isoformat() if (day := getattr(filters, name)) else ""
        for name in ("since", "until")
    }
    words = filters.dict(include={"user", "host", "network", "action", "result"})
    return AuditQuery(**{name: value.strip() for name, value in words.items()}, **days)


@router.get("", response=responses({200: Page[AuditEntryOut]}), url_name="audit")
def audit_list(request: HttpRequest, filters: Query[AuditFilter]):
    """The changes you may see, newest first, filtered as the audit page does."""
    entries = _query(filters).apply(permissions.visible_audit(request.user))
    return paged(entries, filters, lambda rows: [entry_out(e) for e in rows])
