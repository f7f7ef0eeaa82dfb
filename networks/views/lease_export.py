"""A network's lease table as CSV, with the filter and sort of the page (viewers may export)."""

import csv
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from networks import permissions
from networks.pages.lease_table import LeaseQuery

COLUMNS = ("ip", "prefix", "mac", "hostname", "client_id", "expires", "static", "guest")
# A cell starting with one of these is a formula to a spreadsheet; guests choose their hostnames.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _expires(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


@require_GET
def network_leases_csv(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    leases = LeaseQuery.from_params(request.GET).apply(network.leases.all())
    filename = f"{network.host.name}-{network.name}-leases.csv"
    response = HttpResponse(
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": content_disposition_header(True, filename)},
    )
    writer = csv.writer(response)
    writer.writerow(COLUMNS)
    for lease in leases:
        lease["expires"] = _expires(lease["expires"])
        lease["static"] = "true" if lease["static"] else "false"
        writer.writerow([_cell(lease[column]) for column in COLUMNS])
    return response
