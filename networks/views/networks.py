"""The network list, a network's page, and its buttons (start, stop, restart, autostart)."""

import ipaddress
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import wraps
from urllib.parse import quote

from django.core.paginator import Paginator
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.views.decorators.http import require_GET, require_POST

from networks import operations, permissions
from networks.forms.filters import PAGE_SIZES, NetworkFilter
from networks.jobs import create_job
from networks.models import Job, Lease, Network
from networks.templatetags.vnetweb import Button
from networks.views.live import render_live

COLUMNS = [
    ("name", "Name"),
    ("host", "Host"),
    ("mode", "Mode"),
    ("state", "State"),
    ("autostart", "Autostart"),
    ("bridge", "Bridge"),
    ("ipv4", "IPv4"),
    ("ipv6", "IPv6"),
    ("dhcp", "DHCP range"),
]
HOST_COLUMNS = [column for column in COLUMNS if column[0] != "host"]

# A row shows its network's latest job while it runs and for a while after it ends, so that
# whoever clicked sees how it went (a failure in words) without opening the network's page.
RECENT_JOB = timedelta(minutes=10)


def _recent() -> Q:
    return Q(finished__gte=timezone.now() - RECENT_JOB) | ~Q(state__in=Job.FINISHED)


def _latest(jobs: Iterable[Job]) -> Job | None:
    """Of jobs newest first: one still running comes first, else the latest to have ended."""
    jobs = list(jobs)
    return next((job for job in jobs if job.is_pending), jobs[0] if jobs else None)


def _recent_jobs() -> Prefetch:
    return Prefetch(
        "jobs", queryset=Job.objects.filter(_recent()).order_by("-created"), to_attr="recent_jobs"
    )


def rows(networks: Iterable[Network], user) -> list[Network]:
    """Networks made ready for the table: each row's links, buttons and pending job worked out
    here, once, so that rendering a row is plain attribute look-ups (no URL reversing, template
    tags or permission checks per row: at 1000 rows those were most of the page's time)."""
    paths = NetworkPaths()
    networks = list(networks)
    prefetch_related_objects(networks, _recent_jobs())
    for network in networks:
        network.url = paths.network(network.host.name, network.name)
        network.host_url = paths.host(network.host.name)
        network.buttons = [
            Button(op.slug, op.label, op.css, op.confirm_for(network))
            for op in operations.buttons(network, user)
        ]
        network.job = _latest(network.recent_jobs)
    return networks


class NetworkPaths:
    """URL paths of hosts and networks without a reverse() per row: each is reversed once, with
    placeholders, and filled in with the names quoted as reverse() quotes them."""

    def __init__(self) -> None:
        self._network = reverse("network-detail", args=["HOST", "NAME"])
        self._host = reverse("host-detail", args=["HOST"])

    def network(self, host: str, name: str) -> str:
        return self._network.replace("HOST", _quote(host), 1).replace("NAME", _quote(name), 1)

    def host(self, host: str) -> str:
        return self._host.replace("HOST", _quote(host), 1)


def _quote(segment: str) -> str:
    return quote(segment, safe=RFC3986_SUBDELIMS + "~:@")


@require_GET
def network_list(request: HttpRequest) -> HttpResponse:
    hosts = list(permissions.visible_hosts(request.user).only("pk", "name"))
    filters = NetworkFilter(request.GET, hosts=hosts)
    networks = filters.apply(permissions.visible_networks(request.user).select_related("host"))
    page = Paginator(networks, filters.page_size).get_page(request.GET.get("page"))
    context_rows = rows(page.object_list, request.user)
    context = {
        "page": page,
        "networks": context_rows,
        "filters": filters,
        "sort": filters.sort_key,
        "show_host": True,
        "columns": COLUMNS,
        "page_sizes": PAGE_SIZES,
        "pending": any(network.job and network.job.is_pending for network in context_rows),
        "query": _query(request, drop=("page",)),
        "sort_query": _query(request, drop=("page", "sort")),
    }
    return render_live(
        request, "networks/list.html", "networks/_list_live.html", context, "net-table"
    )


def _query(request: HttpRequest, drop: tuple[str, ...]) -> str:
    """The current query string without `drop`, ending in "&" when not empty (for links)."""
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    encoded = params.urlencode()
    return f"{encoded}&" if encoded else ""


def _job_for(network: Network, job_id: str | None) -> Job | None:
    """The job asked for, else the one a row would show (running, or recently ended)."""
    if job_id and job_id.isdigit():
        job = network.jobs.filter(pk=int(job_id)).first()
        if job is not None:
            return job
    return _latest(network.jobs.filter(_recent()).order_by("-created")[:20])


def _leases(network: Network) -> list[Lease]:
    # By address, not by text: 10.0.0.9 before 10.0.0.17.
    return sorted(network.leases.all(), key=lambda lease: ipaddress.ip_address(lease.ip))


def _status(request: HttpRequest, network: Network, part: str, job: Job | None) -> HttpResponse:
    """One network's row or panel, with `job` (e.g. the one just queued) shown in it."""
    show_host = request.GET.get("host_column", request.POST.get("host_column", "1")) == "1"
    if part == "row":
        network = rows([network], request.user)[0]
        network.job = job or network.job
        template = "networks/_row.html"
    else:
        template = "networks/_panel.html"
    return render(request, template, {"network": network, "job": job, "show_host": show_host})


@require_GET
def network_detail(request: HttpRequest, host: str, name: str) -> HttpResponse:
    try:
        network = permissions.get_network(request.user, host, name)
    except Http404:
        if request.htmx and request.htmx.target == "net-live":
            # The page is open and the network went away (undefined, or a transient one stopped).
            return render(request, "networks/_gone.html", {"host": host, "name": name})
        raise
    context = {
        "network": network,
        "job": _job_for(network, None),
        "leases": _leases(network),
        "recent_jobs": network.jobs.select_related("host")[:10],
    }
    return render_live(
        request, "networks/detail.html", "networks/_detail_live.html", context, "net-live"
    )


def gone_is_empty(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For htmx requests of a network that no longer exists, answer an empty 200, not a 404.

    A transient network vanishes when stopped: the row whose Stop removed it is swapped for
    nothing instead of an error.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if request.htmx:
                return HttpResponse("")
            raise

    return wrapper


@require_GET
@gone_is_empty
def network_status(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    part = request.GET.get("part", "row")
    return _status(request, network, part, _job_for(network, request.GET.get("job")))


@require_GET
@gone_is_empty
def network_leases(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    return render(
        request, "networks/_leases.html", {"network": network, "leases": _leases(network)}
    )


@require_POST
def network_action(request: HttpRequest, host: str, name: str, action: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    op = operations.by_slug(action)
    if op is None or not op.button:
        # Editing, creating and deleting have pages of their own.
        return HttpResponse("Unknown action.", status=400)
    operations.require(request.user, op)
    job = create_job(request.user, network.host, op.key, network=network)
    if request.htmx:
        return _status(request, network, request.POST.get("part", "row"), job)
    return redirect(network)
