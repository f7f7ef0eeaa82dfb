"""Make permanent: a lease of the running network becomes a DHCP reservation, by a job.

The button carries the version of the saved definition its table was drawn with: a pin asked
from a table older than a change of the definition is refused (409) with what changed since, and
the job carries that definition as `base_xml`, for the worker to compare with libvirt's. A POST
without a version is taken as asked on the current definition (the worker still checks).
"""

import ipaddress
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from networks import operations, permissions
from networks.jobs import create_job
from networks.models import Job, Lease, Network
from networks.pages.lease_table import LeaseQuery
from networks.views.edit_base import pin_refusal
from networks.views.leases import PIN, lease_context, render_leases


@require_POST
def lease_pin(request: HttpRequest, host: str, name: str) -> HttpResponse:
    """Make permanent: queue the job that turns a lease (mac, ip) into a reservation; the name
    is the lease's hostname unless `hostname` says otherwise."""
    network = permissions.get_network(request.user, host, name)
    op = operations.get(PIN)
    permissions.require(request.user, op, network)
    lease = lease_to_pin(network, request.POST.get("mac", ""), request.POST.get("ip", ""))
    if isinstance(lease, str):
        return HttpResponse(lease, status=400, content_type="text/plain; charset=utf-8")
    version, hostname = request.POST.get("version", ""), request.POST.get("hostname")
    job = queue_pin(request.user, network, lease, hostname, version)
    if isinstance(job, str):
        return _refused(request, network, job)
    if not request.htmx:
        return redirect(network)
    # The part comes back as the page shows it: with the filter and sort of the page's address.
    shown = QueryDict(urlsplit(request.htmx.current_url or "").query)
    context = lease_context(request, network, query=LeaseQuery.from_params(shown), pin_job=job)
    return render_leases(request, network, context)


def _refused(request: HttpRequest, network: Network, why: str) -> HttpResponse:
    """A pin from an outdated table: 409 saying why; htmx gets the lease part drawn again (with
    the current version) and the reason above it, for htmx swaps no error response."""
    if not request.htmx:
        return HttpResponse(why, status=409, content_type="text/plain; charset=utf-8")
    shown = QueryDict(urlsplit(request.htmx.current_url or "").query)
    context = lease_context(request, network, query=LeaseQuery.from_params(shown))
    return render_leases(request, network, {**context, "pin_refused": why})


def queue_pin(
    user, network: Network, lease: Lease, hostname: str | None, version: str
) -> Job | str:
    """The pin job of `lease` (named `hostname`, by default the lease's), or why a table drawn
    with definition `version` is too old for it (nothing is queued then). The job carries the
    definition it was asked on, for the worker to compare with libvirt's."""
    base_xml = network.saved_xml
    if why := pin_refusal(network, version):
        return why
    params = {
        "mac": lease.mac,
        "ip": lease.ip,
        "hostname": lease.hostname if hostname is None else hostname,
        "client_id": lease.client_id,
        "base_xml": base_xml,
    }
    return create_job(user, network.host, PIN, network=network, params=params)


def lease_to_pin(network: Network, mac: str, ip: str) -> Lease | str:
    """The lease (mac, ip) names, or why there is none to pin (nothing is queued then)."""
    if not operations.get(PIN).available(network):
        return f"{network.name} is not running, so it has no leases; nothing was queued."
    mac, ip = mac.strip(), ip.strip()
    try:
        ip = str(ipaddress.ip_address(ip))
    except ValueError:
        return f"{ip!r} is not an IP address; nothing was queued."
    lease = network.leases.filter(mac__iexact=mac, ip=ip).first()
    if lease is None:
        return f"{network.name} has no lease of {ip} for {mac!r}; nothing was queued."
    if Lease.was_cut(lease.mac, lease.client_id):
        return f"The lease of {ip} names its client by more than can be stored; nothing was queued."
    if ":" in lease.ip and not lease.client_id:
        return f"The lease of {ip} has no client ID (DUID) to reserve it by; nothing was queued."
    return lease
