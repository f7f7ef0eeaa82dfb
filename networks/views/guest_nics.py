"""Attach, move, detach a guest's NIC and set its link: each a job for the host's worker.

From the guest's page (plain forms: the page comes back with field errors, or the job queued)
and from the canvas (htmx: 202 with a line saying the job is queued, or 400 saying why not).

Each form carries the version of the guest's NICs its page showed (networks.stale.nics): a change
made from a page drawn before someone else's is refused (409) with what changed since, and the
job says where the person saw the NIC, for the worker to check again against libvirt.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from networks import operations, permissions
from networks.forms.nics import AttachForm, LinkForm, MoveForm
from networks.models import Guest, Network
from networks.operations import Op
from networks.pages import nic_jobs
from networks.stale import nics as versions
from networks.views.guests import guest_context

CONFLICT = 409


def _guest(request: HttpRequest, host: str, name: str, key: Op) -> Guest:
    guest = permissions.get_guest(request.user, host, name)
    permissions.require(request.user, operations.get(key), guest)
    return guest


def _refused(
    request: HttpRequest, guest: Guest, errors: list[str], status: int = 400, **forms
) -> HttpResponse:
    if request.htmx:
        return render(request, "guests/_errors.html", {"errors": errors}, status=status)
    # A form's errors are shown at its fields; the others at the top of the page.
    context = guest_context(request, guest, errors=[] if forms else errors, **forms)
    return render(request, "guests/detail.html", context, status=status)


def _seen(request: HttpRequest, guest: Guest) -> str:
    """The version the page showed: its form's, or the topology's connect form's for this guest
    (that form names the guest in a field, so it carries one version per guest)."""
    return request.POST.get("version") or request.POST.get(f"version:{guest.name}", "")


def _stale(request: HttpRequest, guest: Guest) -> HttpResponse | None:
    why = versions.refusal(guest, _seen(request, guest))
    return _refused(request, guest, [why], CONFLICT) if why else None


def _queued(
    request: HttpRequest, guest: Guest, key: Op, switch: Network | None, **params
) -> HttpResponse:
    """Queue the job (networks.pages.nic_jobs), or refuse it if the page is stale by now."""
    job = nic_jobs.queue(request.user, guest, key, switch, _seen(request, guest), params)
    if isinstance(job, str):
        return _refused(request, guest, [job], CONFLICT)
    if request.htmx:
        return render(request, "jobs/_followed.html", {"job": job}, status=202)
    return redirect(guest)


def _errors(form) -> list[str]:
    """The form's errors as sentences, each led by its field's label."""
    found = []
    for field, errors in form.errors.items():
        label = form.fields[field].label or field if field != "__all__" else ""
        found += [f"{label}: {error}" if label else error for error in errors]
    return found


@require_POST
def nic_attach(request: HttpRequest, host: str, name: str) -> HttpResponse:
    guest = _guest(request, host, name, Op.NIC_ATTACH)
    if stale := _stale(request, guest):
        return stale
    networks = nic_jobs.switches(request.user, guest)
    form = AttachForm(request.POST, guest=guest, networks=networks)
    if not form.is_valid():
        return _refused(request, guest, _errors(form), attach_form=form)
    network, params = nic_jobs.attach(form)
    return _queued(request, guest, Op.NIC_ATTACH, network, **params)


@require_POST
def nic_move(request: HttpRequest, host: str, name: str, mac: str) -> HttpResponse:
    guest = _guest(request, host, name, Op.NIC_MOVE)
    if stale := _stale(request, guest):
        return stale
    networks = nic_jobs.switches(request.user, guest)
    form = MoveForm(request.POST, guest=guest, networks=networks, mac=mac)
    if not form.is_valid():
        return _refused(request, guest, _errors(form), move_errors={mac.lower(): _errors(form)})
    network, params = nic_jobs.move(form)
    return _queued(request, guest, Op.NIC_MOVE, network, **params)


@require_POST
def nic_detach(request: HttpRequest, host: str, name: str, mac: str) -> HttpResponse:
    guest = _guest(request, host, name, Op.NIC_DETACH)
    if stale := _stale(request, guest):
        return stale
    if why := nic_jobs.detach_refusal(guest, mac):
        return _refused(request, guest, [why])
    network = nic_jobs.switch_of(request.user, guest, guest.nic(mac))
    return _queued(request, guest, Op.NIC_DETACH, network, mac=mac.lower())


@require_POST
def nic_link(request: HttpRequest, host: str, name: str, mac: str) -> HttpResponse:
    guest = _guest(request, host, name, Op.NIC_LINK)
    form = LinkForm(request.POST)
    nic = guest.nic(mac)
    if nic is None:
        return _refused(request, guest, [nic_jobs.no_nic(guest, mac)])
    if not form.is_valid():
        return _refused(request, guest, ["Say up or down for the link; nothing was queued."])
    network = nic_jobs.switch_of(request.user, guest, nic)
    up = form.cleaned_data["state"] == "up"
    return _queued(request, guest, Op.NIC_LINK, network, mac=mac.lower(), up=up)
