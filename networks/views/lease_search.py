"""Finding a lease on any network of any host the user may see, by address, MAC or hostname."""

import time

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET

from networks import permissions
from networks.models import Lease
from networks.pages.lease_table import clean_text, ip_key, text_match, time_left
from networks.views.live import render_live
from networks.views.paths import NetworkPaths

LIMIT = 200
FIELDS = (
    "network__host__name",
    "network__name",
    "ip",
    "prefix",
    "mac",
    "hostname",
    "expires",
    "static",
    "guest",
)


@require_GET
def lease_search(request: HttpRequest) -> HttpResponse:
    q = clean_text(request.GET.get("q", ""))
    found, more = _search(request.user, q) if q else ([], False)
    context = {
        "q": q,
        "rows": _render(found),
        "count": len(found),
        "more": more,
        "limit": LIMIT,
        "zone": timezone.get_current_timezone_name(),
    }
    return render_live(
        request, "networks/lease_search.html", "networks/_lease_search_live.html", context
    )


def matching(user, q: str) -> QuerySet[Lease]:
    """The leases of the networks `user` sees that match every word of `q`, by host, network and
    address (the API's lease search pages through them)."""
    return (
        permissions.visible_leases(user)
        .filter(text_match(q))
        .order_by("network__host__name", "network__name", "ip")
    )


def _search(user, q: str) -> tuple[list[dict], bool]:
    """Up to LIMIT matching leases (one query), and whether there are more. Past the limit the
    SQL order (addresses as text) picks which ones are shown."""
    found = list(matching(user, q).values(*FIELDS)[: LIMIT + 1])
    found, more = found[:LIMIT], len(found) > LIMIT
    found.sort(
        key=lambda row: (row["network__host__name"], row["network__name"], ip_key(row["ip"]))
    )
    return found, more


def _render(found: list[dict]) -> SafeString:
    paths = NetworkPaths()
    here, now = timezone.get_current_timezone(), time.time()
    for row in found:
        row["host"], row["network"] = row.pop("network__host__name"), row.pop("network__name")
        row["url"] = paths.network(row["host"], row["network"])
        row["host_url"] = paths.host(row["host"])
        if expires := row["expires"]:
            row["expires_text"] = expires.astimezone(here).strftime("%Y-%m-%d %H:%M:%S")
            row["left"] = time_left(expires.timestamp() - now)
    return render_to_string("networks/lease_search_rows.html", {"rows": found})
