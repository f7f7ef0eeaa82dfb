"""A switch's port forwards: their live part of the network page, and adding, removing and
putting them back (each a job for the host's worker, networks.worker.forwards).

Operators of the network add and remove; viewers see the table only. An htmx form gets back the
part it swaps (the section with the form for Add, the table for Remove and Fix); a plain form the
network's page, or, refused, the forwards on a page of their own with the form's errors.
"""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from networks import forwards_jobs, operations, permissions, port_forwards
from networks.forms.forwards import ForwardForm
from networks.models import Network
from networks.operations import Op
from networks.pages import forwards
from networks.versions import definition_version
from networks.views.gone import gone_is_empty
from networks.views.leases import may_pin
from networks.views.live import is_fragment

INVALID = 422  # a form with field errors comes back with them, as the other forms do
# The page of their own (a refused form without JavaScript), the section, the live part.
PAGE = "networks/forwards.html"
SECTION, LIVE = "networks/_forwards.html", "networks/_forwards_live.html"


def forwards_context(
    request: HttpRequest,
    network: Network,
    form: ForwardForm | None = None,
    with_form: bool = True,
) -> dict:
    """What the forwards section shows this user: the table, the forward jobs of the last
    minutes, and for operators the form (`form`: the one just refused; none for the live part
    alone, `with_form` False, which a refresh asks for every few seconds)."""
    user, jobs = request.user, forwards.recent_jobs(network)
    may_add = permissions.allowed(user, operations.get(Op.FORWARD_ADD), network)
    # Why the form makes no sense here (port_forwards.refusals says it to whoever posts anyway).
    unavailable = port_forwards.unavailable(network)
    if form is None and with_form and may_add and not unavailable:
        form = ForwardForm(network=network)
    return {
        "network": network,
        "forward_rows": forwards.rows(network, jobs),
        "forwards_blocked": port_forwards.libvirt_own_tables(network.host),
        "forward_jobs": jobs,
        "forwards_pending": any(job.is_pending for job in jobs),
        "may_add": may_add,
        "may_remove": permissions.allowed(user, operations.get(Op.FORWARD_REMOVE), network),
        "forward_form": form,
        "forward_pin": _pin(request, network, form),
        "forward_unavailable": unavailable,
    }


def _pin(request: HttpRequest, network: Network, form: ForwardForm | None) -> dict | None:
    """The lease table's Make permanent for the guest a refused form chose by its dynamic lease."""
    guest = form.dynamic_guest() if form is not None and form.errors else None
    if guest is None or not may_pin(request.user, network):
        return None
    lease = network.leases.filter(ip=guest.ip, static=False).first()
    if lease is None:
        return None
    return {
        "name": guest.name,
        "mac": lease.mac,
        "ip": lease.ip,
        "url": reverse("lease-pin", args=[network.host.name, network.name]),
        "version": definition_version(network.saved_xml),
    }


def _network(request: HttpRequest, host: str, name: str, key: Op) -> Network:
    network = permissions.get_network(request.user, host, name)
    permissions.require(request.user, operations.get(key), network)
    return network


def _answer(request: HttpRequest, network: Network, template: str) -> HttpResponse:
    """After a job was queued: htmx gets `template` drawn again (with the job), a form the page."""
    if not request.htmx:
        return redirect(network)
    context = forwards_context(request, network, with_form=template == SECTION)
    return render(request, template, context)


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    # Alone on a page, without the lease table: Make permanent posts as a plain form (hx-disable)
    # and comes back to the network's page.
    return render(request, PAGE, {**context, "alone": True}, status=status)


@require_GET
@gone_is_empty
def network_forwards(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The live part (an htmx request), else the forwards on a page of their own."""
    network = permissions.get_network(request.user, host, name)
    if not is_fragment(request):
        return _page(request, forwards_context(request, network))
    response = render(request, LIVE, forwards_context(request, network, with_form=False))
    response["Vary"] = "HX-Request"
    return response


@require_POST
def forward_add(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = _network(request, host, name, Op.FORWARD_ADD)
    form = ForwardForm(request.POST, network=network)
    if not form.is_valid():
        return forward_add_refused(request, network, form)
    queued = forwards_jobs.queue_add(request.user, network, form.wanted)
    if isinstance(queued, dict):
        form.refused(queued)
        return forward_add_refused(request, network, form)
    return _answer(request, network, SECTION)


def forward_add_refused(request: HttpRequest, network: Network, form: ForwardForm) -> HttpResponse:
    context = forwards_context(request, network, form)
    if request.htmx:
        return render(request, SECTION, context, status=INVALID)
    return _page(request, context, status=INVALID)


@require_POST
def forward_remove(request: HttpRequest, host: str, name: str, forward: int) -> HttpResponse:
    network = _network(request, host, name, Op.FORWARD_REMOVE)
    if forwards_jobs.queue_remove(request.user, network, forward) is None:
        raise Http404("No such port forward on this switch")
    return _answer(request, network, LIVE)


@require_POST
def forwards_apply(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """The health verdict's Fix: the worker writes the host's forwards again."""
    network = _network(request, host, name, Op.FORWARDS_APPLY)
    queued = forwards_jobs.queue_apply(request.user, network)
    if isinstance(queued, str):
        return HttpResponse(queued, status=400, content_type="text/plain; charset=utf-8")
    return _answer(request, network, LIVE)
