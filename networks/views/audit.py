"""The audit trail: every change made through vnetweb, and what workers saw changed outside it.

A page with filters (user, host, network, action, result, time) whose rows open the definition's
diff, the same rows as CSV, and each network's own history on its page. Read only: no view edits
or deletes an entry.
"""

import csv
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from networks import audit, permissions
from networks.models import AuditEntry
from networks.views.lease_export import _cell

PER_PAGE = 100
# The export's last line when there were more entries (VNETWEB_AUDIT_CSV_ROWS) than it holds.
CUT = "# Only the newest {limit} entries: narrow the filters (since, until) for the others."
CSV_COLUMNS = (
    "created",
    "username",
    "address",
    "outside",
    "action",
    "host_name",
    "network_name",
    "guest_name",
    "result",
    "message",
)


def _day(text: str, end: bool = False) -> datetime | None:
    try:
        day = datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return timezone.make_aware(datetime.combine(day, time.max if end else time.min))


@dataclass(frozen=True)
class AuditQuery:
    user: str = ""
    host: str = ""
    network: str = ""
    action: str = ""
    result: str = ""
    since: str = ""
    until: str = ""

    @classmethod
    def from_params(cls, params: QueryDict) -> "AuditQuery":
        return cls(**{name: params.get(name, "").strip() for name in cls.__dataclass_fields__})

    def apply(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        if self.user:
            entries = (
                entries.filter(username__iexact=self.user)
                if self.user != "outside"
                else (entries.filter(outside=True))
            )
        if self.host:
            entries = entries.filter(host_name=self.host)
        if self.network:
            entries = entries.filter(network_name=self.network)
        if self.action:
            entries = entries.filter(action__icontains=self.action)
        if self.result:
            entries = entries.filter(result=self.result)
        if since := _day(self.since):
            entries = entries.filter(created__gte=since)
        if until := _day(self.until, end=True):
            entries = entries.filter(created__lte=until)
        return entries

    def query_string(self) -> str:
        params = QueryDict(mutable=True)
        for name, value in self.__dict__.items():
            if value:
                params[name] = value
        return params.urlencode()


def with_diffs(entries) -> list[tuple[AuditEntry, str]]:
    return [(entry, audit.diff(entry)) for entry in entries]


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    query = AuditQuery.from_params(request.GET)
    entries = query.apply(permissions.visible_audit(request.user))
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "query": query,
        "page": page,
        "rows": with_diffs(page.object_list),
        "results": AuditEntry.Result.choices,
        "query_string": query.query_string(),
    }
    return render(request, "audit/list.html", context)


@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse:
    query = AuditQuery.from_params(request.GET)
    entries = query.apply(permissions.visible_audit(request.user))
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, "vnetweb-audit.csv")},
    )
    writer = csv.writer(response)
    writer.writerow([*CSV_COLUMNS, "diff"])
    limit = settings.VNETWEB_AUDIT_CSV_ROWS
    for count, entry in enumerate(entries[: limit + 1].iterator()):
        if count == limit:
            writer.writerow([CUT.format(limit=limit)])
            break
        row = {column: getattr(entry, column) for column in CSV_COLUMNS}
        row["created"] = entry.created.isoformat()
        row["outside"] = "true" if entry.outside else "false"
        changes = "\n".join(line for _kind, line in audit.diff(entry))
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS] + [_cell(changes)])
    return response
