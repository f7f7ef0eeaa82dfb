"""The network list, a network's page, and its buttons (start, stop, restart, autostart)."""

from collections.abc import Iterable
from datetime import timedelta
from types import SimpleNamespace

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from networks import operations, permissions
from networks.forms.filters import PAGE_SIZES, NetworkFilter
from networks.jobs import create_job
from networks.models import Job, Network
from networks.pages.buttons import Button
from networks.views.audit import with_diffs
from networks.views.forwards import forwards_context
from networks.views.gone import gone_is_empty
from networks.views.leases import lease_context
from networks.views.live import render_live
from networks.views.paths import NetworkPaths
from networks.views.switch_status import switch_context

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

# A row shows its network's latest job of the last minutes, running or ended, so that whoever
# clicked sees how it went (a failure in words) without opening the network's page.
RECENT_JOB = timedelta(minutes=10)


def _recent() -> Q:
    return Q(created__gte=timezone.now() - RECENT_JOB)


def _latest(jobs: Iterable[Job]) -> Job | None:
    """Of jobs newest first: one still running comes first, else the latest to have ended."""
    jobs = list(jobs)
    return next((job for job in jobs if job.is_pending), jobs[0] if jobs else None)


# What a row shows, and all that is read for it (the XML, leases and guests stay in the database).
ROW_FIELDS = (
    "pk",
    "name",
    "host_id",
    "host__name",
    "mode",
    "forward_dev",
    "active",
    "persistent",
    "autostart",
    "bridge",
    "ipv4",
    "ipv6",
    "dhcp_ranges",
)


def rows(networks: QuerySet[Network], user, show_host: bool = True) -> list[dict]:
    """The table's rows as plain dicts: each row's links, buttons and job worked out here once.
    `show_host`: the rows of the network list (else of a host's page, without the host column);
    their buttons ask for the row back as that table draws it.

    Profiled at 100 rows, the page's time went to: Django's template engine (about 0.3 ms a row:
    every variable is a failed item look-up then a getattr, localized and escaped), a reverse()
    and a CSRF token per link and per button form, a template tag per row asking for the buttons,
    and building model instances (with their XML) for rows that show a dozen fields. Now rows are
    values() dicts, links are filled into one reversed pattern, the buttons share one form, and
    the rows render with Jinja2 (render_rows).
    """
    paths = NetworkPaths()
    table = list(networks.values(*ROW_FIELDS))
    jobs = _recent_jobs_of([row["pk"] for row in table])
    mode_labels = dict(Network.Mode.choices)
    # The buttons depend only on the user's role on the network and on three flags: they are
    # worked out once per combination (the template fills in each row's link).
    buttons_for: dict[tuple, list[operations.Operation]] = {}
    # The fragment a row's buttons ask back (networks.urls): the row as this table draws it.
    fragment = "row" if show_host else "host-row"
    for row in table:
        role = permissions.role_on_network(user, SimpleNamespace(**row))
        flags = (role, row["active"], row["persistent"], row["autostart"])
        if flags not in buttons_for:
            buttons_for[flags] = permissions.buttons(SimpleNamespace(**row), user)
        row["buttons"] = [Button.of(op, row["name"]) for op in buttons_for[flags]]
        row["url"] = paths.network(row["host__name"], row["name"])
        row["host"] = row.pop("host__name")
        row["host_url"] = paths.host(row["host"])
        row["mode"] = mode_labels.get(row["mode"], row["mode"])
        row["job"] = _latest(jobs.get(row["pk"], ()))
        row["busy"] = bool(row["job"] and row["job"].is_pending)
        row["fragment"] = fragment
    return table


def _recent_jobs_of(network_ids: list[int]) -> dict[int, list[Job]]:
    """Each network's jobs that a row shows (running, or of the last minutes), newest first.

    One query for the page's networks only. A job older than the window is no longer pending
    either: beat fails jobs left running or unserved.
    """
    jobs: dict[int, list[Job]] = {}
    if network_ids:
        recent = Job.objects.filter(_recent(), network__in=network_ids)
        for job in recent.order_by("-created"):
            jobs.setdefault(job.network_id, []).append(job)
    return jobs


def render_rows(request: HttpRequest, table: list[dict], show_host: bool) -> SafeString:
    """The rows' HTML; the few rows with a job get its status from the shared job template."""
    for row in table:
        job = row["job"]
        row["job_html"] = (
            render_to_string("jobs/_inline.html", {"job": job}, request) if job else ""
        )
    return render_to_string("networks/rows.html", {"rows": table, "show_host": show_host})


@require_GET
def network_list(request: HttpRequest) -> HttpResponse:
    filters = NetworkFilter(request.GET, hosts=permissions.visible_hosts(request.user))
    networks = filters.apply(permissions.visible_networks(request.user))
    page = Paginator(networks, filters.page_size).get_page(request.GET.get("page"))
    table = rows(page.object_list, request.user)
    context = {
        "page": page,
        "rows": render_rows(request, table, show_host=True),
        "count": len(table),
        "filters": filters,
        "sort": filters.sort_key,
        "show_host": True,
        "may_create": permissions.may_create_switches(request.user),
        "columns": COLUMNS,
        "page_sizes": PAGE_SIZES,
        "pending": any(row["busy"] for row in table),
        "query": _query(request, drop=("page",)),
        "sort_query": _query(request, drop=("page", "sort")),
    }
    return render_live(request, "networks/list.html", "networks/_list_live.html", context)


@require_GET
def network_rows(request: HttpRequest) -> HttpResponse:
    """Just some rows of the network list (?id=…&id=…), for a page whose rows' jobs moved on."""
    return some_rows(request, permissions.visible_networks(request.user), show_host=True)


def some_rows(request: HttpRequest, networks: QuerySet[Network], show_host: bool) -> HttpResponse:
    """Of `networks`, the rows ?id=…&id=… names, as the list (`show_host`) or a host page draws
    them."""
    ids = [int(value) for value in request.GET.getlist("id") if value.isdigit()][: PAGE_SIZES[-1]]
    table = rows(networks.filter(pk__in=ids), request.user, show_host)
    return HttpResponse(render_rows(request, table, show_host))


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


def _row(request: HttpRequest, network: Network, job: Job | None, show_host: bool) -> HttpResponse:
    """One network's row of the list (`show_host`) or of its host's page, with `job` (e.g. the
    one just queued) shown in it."""
    visible = permissions.visible_networks(request.user).filter(pk=network.pk)
    [row] = rows(visible, request.user, show_host)
    if job is not None:
        row["job"], row["busy"] = job, job.is_pending
    return HttpResponse(render_rows(request, [row], show_host))


def _panel(request: HttpRequest, network: Network, job: Job | None) -> HttpResponse:
    """The network page's panel: its facts and buttons, with `job` shown in it."""
    context = {"network": network, "job": job, **_may(request.user, network)}
    return render(request, "networks/_panel.html", context)


# What an action's htmx button swaps back, by the name its URL gives (networks.urls).
FRAGMENTS = {
    "row": lambda request, network, job: _row(request, network, job, show_host=True),
    "host-row": lambda request, network, job: _row(request, network, job, show_host=False),
    "panel": _panel,
}


def _may(user, network: Network) -> dict:
    """What the network's page offers this user (its role on this network, not its global one)."""
    return {
        "can_operate": permissions.can_operate(user, network),
        "can_administer": permissions.can_administer(user, network),
    }


def _detail_context(request: HttpRequest, network: Network, history: bool) -> dict:
    """What the network page's own parts show: its latest jobs and, with `history`, the audit
    trail's last entries about it (through vnetweb or outside)."""
    recent_jobs = list(network.jobs.select_related("host")[:10])
    since = timezone.now() - RECENT_JOB
    context = {
        "network": network,
        # The panel's job, as a row would show it: taken from the recent jobs, not asked again.
        "job": _latest(job for job in recent_jobs if job.created >= since),
        "recent_jobs": recent_jobs,
        **_may(request.user, network),
    }
    if history:
        entries = permissions.visible_audit(request.user).filter(
            host_name=network.host.name, network_name=network.name
        )
        context["history"] = with_diffs(entries[:10])
    return context


@require_GET
def network_detail(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The whole page; each of its live parts also has a URL of its own (networks.urls), which
    static/vnetweb/live.js asks when the live channel says the part changed."""
    network = permissions.get_network(request.user, host, name)
    context = _detail_context(request, network, history=True)
    context.update(switch_context(network, request.user))
    context.update(lease_context(request, network, context["recent_jobs"]))
    if network.mode_info.forwards:
        context.update(forwards_context(request, network))
    return render(request, "networks/detail.html", context)


@require_GET
def network_summary(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The page's top part (#net-live): its toolbar, the running-differs notice and the panel."""
    try:
        network = permissions.get_network(request.user, host, name)
    except Http404:
        if request.htmx:
            # The page is open and the network went away (undefined, or a transient one stopped).
            return render(request, "networks/_gone.html", {"host": host, "name": name})
        raise
    context = _detail_context(request, network, history=False)
    return render(request, "networks/_detail_live.html", context)


@require_GET
def network_more(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The page's guests, XML, recent jobs and history (#net-more)."""
    network = permissions.get_network(request.user, host, name)
    context = _detail_context(request, network, history=True)
    return render(request, "networks/_detail_more.html", context)


def _fragment(request: HttpRequest, host: str, name: str, fragment: str) -> HttpResponse:
    """One network's fragment, with the job ?job= names (e.g. the one just queued) in it."""
    network = permissions.get_network(request.user, host, name)
    return FRAGMENTS[fragment](request, network, _job_for(network, request.GET.get("job")))


@require_GET
@gone_is_empty
def network_row(request: HttpRequest, host: str, name: str) -> HttpResponse:
    return _fragment(request, host, name, "row")


@require_GET
@gone_is_empty
def network_host_row(request: HttpRequest, host: str, name: str) -> HttpResponse:
    return _fragment(request, host, name, "host-row")


@require_GET
@gone_is_empty
def network_panel(request: HttpRequest, host: str, name: str) -> HttpResponse:
    return _fragment(request, host, name, "panel")


@require_POST
def network_action(
    request: HttpRequest, host: str, name: str, action: str, fragment: str = "row"
) -> HttpResponse:
    """Queue the action; an htmx button gets back the fragment its URL names (networks.urls),
    a plain form the network's page."""
    network = permissions.get_network(request.user, host, name)
    op = operations.by_slug(action)
    if op is None or not op.button:
        # Editing, creating and deleting have pages of their own.
        return HttpResponse("Unknown action.", status=400)
    permissions.require(request.user, op, network)
    job = create_job(request.user, network.host, op.key, network=network)
    if request.htmx:
        return FRAGMENTS[fragment](request, network, job)
    return redirect(network)
