"""A network's DHCP lease table: sorted, filtered, its own live region of the network page, with
a Make permanent button on each dynamic lease for operators (networks/views/lease_pin.py)."""

import re
import time
from collections.abc import Iterable
from datetime import timedelta

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from networks import operations, permissions
from networks.models import Job, Lease, Network
from networks.pages.lease_table import KINDS, LeaseQuery, time_left
from networks.versions import definition_version
from networks.views import jinja
from networks.views.gone import gone_is_empty
from networks.views.live import by_the_page, is_fragment, render_live

PIN = "pin_lease"
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
# The rendered rows are kept per lease version, so they hold no time left, no CSRF token and no
# definition version: these markers stand for them and are filled in at each render (user data
# cannot forge one: Jinja2 escapes every "<" it is given).
_LEFT = re.compile(r"<!--left:(-?\d+)-->")
_CSRF = "<!--csrf-->"
_VERSION = "<!--version-->"


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
    html, count = _rows(network, query, pin)
    addresses = network.addresses or []
    return {
        "leases": _fill(html, request, network),
        "lease_count": count,
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


def _rows(network: Network, query: LeaseQuery, pin: bool) -> tuple[str, int]:
    """The rows' HTML (with markers) and their number. The default view, which every live
    refresh of an open page asks for, is kept per lease version: a worker's refresh bumps it only
    when a lease changed."""
    if not query.is_default:
        return _render(network, query, pin)
    zone = timezone.get_current_timezone_name()
    key = f"leases:{network.pk}:{network.uuid}:{network.leases_version}:{zone}:{int(pin)}"
    rows = cache.get(key)
    if rows is None:
        rows = _render(network, query, pin)
        cache.set(key, rows, timeout=3600)
    return rows


def _render(network: Network, query: LeaseQuery, pin: bool) -> tuple[str, int]:
    leases = query.apply(Lease.objects.filter(network=network))
    here = timezone.get_current_timezone()
    for lease in leases:
        expires = lease["expires"]
        if expires:
            lease["expires_text"] = expires.astimezone(here).strftime("%Y-%m-%d %H:%M:%S")
            lease["expires_iso"] = expires.isoformat()
            lease["expires_at"] = int(expires.timestamp())
        # An IPv6 reservation names the client by its DUID, which dnsmasq gives as client ID.
        lease["pinnable"] = (
            not lease["static"]
            and (":" not in lease["ip"] or lease["client_id"])
            and not Lease.was_cut(lease["mac"], lease["client_id"])
        )
    pin_url = reverse("lease-pin", args=[network.host.name, network.name]) if pin else ""
    html = jinja.render(
        "networks/lease_rows.html", {"leases": leases, "pin": pin, "pin_url": pin_url}
    )
    return str(html), len(leases)


def _fill(html: str, request: HttpRequest, network: Network) -> SafeString:
    """The rows with the time left as of now and, for the Make permanent forms, the CSRF token
    and the version of the saved definition a pin is asked on (networks.views.lease_pin)."""
    now = time.time()
    html = _LEFT.sub(lambda match: time_left(int(match[1]) - now), html)
    if _CSRF in html:
        token = escape(get_token(request))
        html = html.replace(
            _CSRF, f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
        )
    if _VERSION in html:
        version = escape(definition_version(network.saved_xml))
        html = html.replace(_VERSION, f'<input type="hidden" name="version" value="{version}">')
    return mark_safe(html)  # the rows were escaped by Jinja2; the fillings are ours


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
