"""A network's DHCP lease table: sorted, filtered, its own live region of the network page, with
a Make permanent button on each dynamic lease for operators (networks/views/lease_pin.py)."""

import time
from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET
from markupsafe import escape

from networks import operations, permissions
from networks.models import Job, Lease, Network
from networks.operations import Op
from networks.pages.lease_table import KINDS, LeaseQuery, pinnable, time_left
from networks.versions import definition_version
from networks.views.gone import gone_is_empty
from networks.views.live import by_the_page, is_fragment, render_live

PIN = Op.PIN_LEASE
# A pin job shows above the table as long as a network's row shows its job.
PIN_JOB_SHOWN = timedelta(minutes=10)
COLUMNS = [
    ("ip", "IP address"),
    ("mac", "MAC"),
    ("hostname", "Hostname"),
    ("", "Client ID"),
    ("expires", "Expires"),
    ("", "Static"),
    ("guest", "Guest"),
]
# The default view's rows are kept per lease version as data (networks.pages.lease_table's
# dicts, with what a row shows worked out): the time left, the CSRF token and the definition's
# version are not in them but given to the template at each render.


class LeasePaths:
    """Where the network's page and its lease part are."""

    def __init__(self, network: Network) -> None:
        args = [network.host.name, network.name]
        self.page = network.get_absolute_url()
        self.leases = reverse("network-leases", args=args)
        self.csv = reverse("network-leases-csv", args=args)


def _with(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def may_pin(user, network: Network) -> bool:
    op = operations.get(PIN)
    return op.available(network) and permissions.allowed(user, op, network)


def _pin_job(network: Network, jobs: Iterable[Job] | None) -> Job | None:
    """The latest pin of the last minutes, from `jobs` (newest first) when the caller has them."""
    since = timezone.now() - PIN_JOB_SHOWN
    if jobs is None:
        jobs = network.jobs.filter(operation=PIN, created__gte=since).order_by("-created")[:1]
    return next((job for job in jobs if job.operation == PIN and job.created >= since), None)


def lease_context(
    request: HttpRequest,
    network: Network,
    jobs: Iterable[Job] | None = None,
    query: LeaseQuery | None = None,
    pin_job: Job | None = None,
) -> dict:
    """What the network page's lease part shows, as the request's parameters choose (q, kind,
    sort). `jobs`: the network's latest jobs, if the caller read them (the pin job is among them).
    """
    query = query or LeaseQuery.from_params(request.GET)
    paths = LeasePaths(network)
    pin = may_pin(request.user, network)
    leases = _rows(network, query)
    addresses = network.addresses or []
    return {
        "leases": _render(request, network, leases, pin),
        "lease_count": len(leases),
        "lease_query": query,
        "lease_kinds": KINDS,
        "lease_columns": _columns(paths, query, pin),
        "lease_filter": bool(network.leases_seen)
        or any(a.get("dhcp_ranges") or a.get("dhcp_hosts") for a in addresses),
        "leases_path": paths.leases,
        "leases_url": _with(paths.leases, query.params()),
        "leases_csv_url": _with(paths.csv, query.params()),
        "pin_job": pin_job or _pin_job(network, jobs),
    }


def _columns(paths: LeasePaths, query: LeaseQuery, pin: bool) -> list[dict]:
    """The header cells; a sortable one links to its order (the reverse one when it is sorted)."""
    zone = timezone.get_current_timezone_name()
    columns = []
    for key, label in COLUMNS:
        column = {"label": f"{label} ({zone})" if key == "expires" else label}
        if key:
            sorted_here = query.column == key
            params = query.params(sort=f"-{key}" if sorted_here and not query.descending else key)
            column["href"] = _with(paths.page, params)
            column["hx"] = _with(paths.leases, params)
            column["css"] = ("desc" if query.descending else "asc") if sorted_here else ""
        columns.append(column)
    if pin:
        columns.append({"label": "Actions"})
    return columns


def _rows(network: Network, query: LeaseQuery) -> list[dict]:
    """The rows the table shows, as data. The default view, which every live refresh of an open
    page asks for, is kept per lease version: a worker's refresh bumps it only when a lease
    changed."""
    if not query.is_default:
        return _read(network, query)
    zone = timezone.get_current_timezone_name()
    key = f"lease-rows:escaped:{network.pk}:{network.uuid}:{network.leases_version}:{zone}"
    rows = cache.get(key)
    if rows is None:
        rows = _read(network, query)
        cache.set(key, rows, timeout=3600)
    return rows


# The fields a row prints that come from outside (a DHCP client names its own host and client ID).
PRINTED = ("ip", "mac", "hostname", "client_id", "guest")


def _read(network: Network, query: LeaseQuery) -> list[dict]:
    """The rows as the template prints them: every printed field escaped here, once, when the rows
    are read (and cached), so that the hundreds of rows of a busy network are not escaped field by
    field at every request (lease_rows.html prints them as they are: autoescape is off there)."""
    leases = query.apply(Lease.objects.filter(network=network))
    here = timezone.get_current_timezone()
    for lease in leases:
        expires = lease["expires"]
        if expires:
            lease["expires_text"] = expires.astimezone(here).strftime("%Y-%m-%d %H:%M:%S")
            lease["expires_iso"] = expires.isoformat()
            lease["expires_at"] = expires.timestamp()
        lease["pinnable"] = pinnable(lease)
        for key in PRINTED:
            lease[key] = str(escape(lease[key])) if lease[key] else ""
    return leases


def _render(request: HttpRequest, network: Network, leases: list[dict], pin: bool) -> SafeString:
    """The rows with the time left as of now and, for the Make permanent forms, the CSRF token
    and the version of the saved definition a pin is asked on (networks.views.lease_pin)."""
    now = time.time()
    for lease in leases:
        if lease["expires"]:
            lease["left"] = time_left(lease["expires_at"] - now)
    context = {"leases": leases, "pin": pin}
    if pin:
        pin_url = reverse("lease-pin", args=[network.host.name, network.name])
        context["pin_url"] = str(escape(pin_url))
        context["version"] = str(escape(definition_version(network.saved_xml)))
    return render_to_string("networks/lease_rows.html", context, request)


def render_leases(request: HttpRequest, network: Network, context: dict) -> HttpResponse:
    """The lease part: its live region for htmx requests, else the section alone."""
    context = {"network": network, **context}
    template, live_template = "networks/_leases.html", "networks/_leases_live.html"
    return render_live(request, template, live_template, context)


@require_GET
@gone_is_empty
def network_leases(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    context = lease_context(request, network)
    response = render_leases(request, network, context)
    if is_fragment(request) and not by_the_page(request):
        # The filter and the column headers ask for this part; the address bar shows the page
        # with the same choice, which draws it the same way (not for a live refresh).
        response["HX-Push-Url"] = _with(LeasePaths(network).page, context["lease_query"].params())
    return response
