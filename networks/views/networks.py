"""The network list, a network's page, and its buttons (start, stop, restart, autostart)."""

import ipaddress
from collections.abc import Callable
from functools import wraps

from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from networks import operations, permissions
from networks.jobs import create_job
from networks.models import Job, Lease, Network

SORTS = {
    "name": ("name", "host__name"),
    "host": ("host__name", "name"),
    "mode": ("mode", "host__name", "name"),
    "state": ("-active", "host__name", "name"),
    "autostart": ("-autostart", "host__name", "name"),
    "bridge": ("bridge", "host__name", "name"),
    "ipv4": ("ipv4", "host__name", "name"),
    "ipv6": ("ipv6", "host__name", "name"),
    "dhcp": ("dhcp_ranges", "host__name", "name"),
}

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

PENDING = Prefetch(
    "jobs",
    queryset=Job.objects.exclude(state__in=Job.FINISHED).order_by("-created"),
    to_attr="pending_jobs",
)


def _sorted(networks: QuerySet[Network], sort: str) -> tuple[QuerySet[Network], str]:
    key = sort.lstrip("-")
    if key not in SORTS:
        key, sort = "host", "host"
    fields = SORTS[key]
    if sort.startswith("-"):
        fields = tuple(f[1:] if f.startswith("-") else f"-{f}" for f in fields)
    return networks.order_by(*fields), sort


@require_GET
def network_list(request: HttpRequest) -> HttpResponse:
    networks = (
        permissions.visible_networks(request.user).select_related("host").prefetch_related(PENDING)
    )
    networks, sort = _sorted(networks, request.GET.get("sort", "host"))
    context = {"networks": networks, "sort": sort, "show_host": True, "columns": COLUMNS}
    return render(request, "networks/list.html", context)


def _job_for(network: Network, job_id: str | None) -> Job | None:
    if job_id and job_id.isdigit():
        job = network.jobs.filter(pk=int(job_id)).first()
        if job is not None:
            return job
    pending = getattr(network, "pending_jobs", None)
    if pending is not None:
        return pending[0] if pending else None
    return network.jobs.exclude(state__in=Job.FINISHED).order_by("-created").first()


def _leases(network: Network) -> list[Lease]:
    # By address, not by text: 10.0.0.9 before 10.0.0.17.
    return sorted(network.leases.all(), key=lambda lease: ipaddress.ip_address(lease.ip))


def _status(request: HttpRequest, network: Network, part: str, job: Job | None) -> HttpResponse:
    template = "networks/_row.html" if part == "row" else "networks/_panel.html"
    show_host = request.GET.get("host_column", request.POST.get("host_column", "1")) == "1"
    context = {"network": network, "job": job, "show_host": show_host}
    response = render(request, template, context)
    if job is not None and job.is_finished and request.htmx:
        # 286 tells htmx to stop polling; the swapped-in fragment shows the outcome and new state.
        response.status_code = 286
    return response


@require_GET
def network_detail(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    context = {
        "network": network,
        "job": _job_for(network, None),
        "leases": _leases(network),
        "recent_jobs": network.jobs.all()[:10],
    }
    return render(request, "networks/detail.html", context)


def stop_polling_when_gone(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For htmx polls of a network that no longer exists, answer an empty 286 instead of 404.

    A transient network vanishes when stopped; without this its row or panel would poll a 404
    every second for as long as the page stays open. 286 stops the polling and swaps in nothing.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if request.htmx:
                return HttpResponse(status=286)
            raise

    return wrapper


@require_GET
@stop_polling_when_gone
def network_status(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    part = request.GET.get("part", "row")
    return _status(request, network, part, _job_for(network, request.GET.get("job")))


@require_GET
@stop_polling_when_gone
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
