"""A host's guests, and one guest's page: its NICs with their switches and addresses, and the
forms that attach, move, detach them and set their link (networks.views.guest_nics).

Both read the rows the host's worker keeps (networks.worker.sync.record_guests); no libvirt call.
Their live parts follow the live channel's "guests" topic (and the host's jobs and networks).
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from networks import permissions
from networks.forms.nics import AttachForm
from networks.models import Guest
from networks.pages.guest_rows import lease_addresses, network_urls, nic_rows
from networks.stale.nics import guest_version
from networks.views.live import render_live


@require_GET
def guest_list(request: HttpRequest, host: str) -> HttpResponse:
    host_obj = permissions.get_whole_host(request.user, host)
    guests = list(
        permissions.visible_guests(request.user).filter(host=host_obj).order_by("name").defer("xml")
    )
    leases, urls = lease_addresses(host_obj), network_urls(host_obj)
    rows = [(guest, nic_rows(guest, leases, urls)) for guest in guests]
    context = {"host": host_obj, "rows": rows}
    return render_live(request, "guests/list.html", "guests/_list_live.html", context)


def guest_context(request: HttpRequest, guest: Guest, **forms) -> dict:
    host = guest.host
    networks = list(permissions.visible_networks(request.user).filter(host=host).order_by("name"))
    can_operate = permissions.can_operate(request.user, guest)
    nics = nic_rows(guest, lease_addresses(host), network_urls(host))
    return {
        "host": host,
        "guest": guest,
        "nics": nics,
        "networks": networks,
        "can_operate": can_operate,
        "attach_form": forms.get("attach_form") or AttachForm(guest=guest, networks=networks),
        "move_errors": forms.get("move_errors", {}),
        # Why the last change was refused, for a page sent back to a plain form.
        "errors": forms.get("errors", []),
        # What every NIC form of the page sends back (networks.stale.nics): the live part
        # carries it, so it follows the NICs the page shows.
        "nics_version": guest_version(guest),
        "recent_jobs": list(guest.jobs.select_related("host").order_by("-created")[:10]),
    }


@require_GET
def guest_detail(request: HttpRequest, host: str, name: str) -> HttpResponse:
    guest = permissions.get_guest(request.user, host, name)
    context = guest_context(request, guest)
    return render_live(request, "guests/detail.html", "guests/_detail_live.html", context)
