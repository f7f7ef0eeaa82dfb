"""A host's topology: its uplink, switches and guests drawn as one SVG that follows the host live;
operators connect a guest to a switch by dragging it there or from the keyboard
(static/vnetweb/topology.js). `?view=table` shows the same layout as tables, without script.

The drawing is read from the database in a fixed number of queries whatever the size of the host
(networks, guests, every lease and port forward of the host, the NIC jobs in progress), laid out by
networks.pages.topology and rendered with Jinja2 (a few hundred nodes and lines).
"""

from collections import Counter

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from networks import permissions
from networks.models import Host, Job, PortForward
from networks.operations import Op
from networks.pages import topology, topology_words
from networks.pages.guest_rows import lease_addresses
from networks.stale.nics import NIC_JOBS, last_job_of_each, nics_version
from networks.views.paths import segment

SWITCH_FIELDS = ("name", "mode", "active", "ipv4", "ipv6", "bridge", "forward_dev")
# The NIC jobs that change the drawing: a job's network is where an attach or a move takes the
# NIC; a detach names the switch the NIC leaves, which its line being marked already shows.
GOING_TO = (Op.NIC_ATTACH, Op.NIC_MOVE)
# Filled into reversed URLs in place of a name (by topology.js too): a slug cannot hold "~".
NAME, MAC = "~name~", "~mac~"


def _pending(host: Host) -> list[topology.Pending]:
    jobs = Job.objects.filter(
        host=host,
        guest__isnull=False,
        operation__in=NIC_JOBS,
        state__in=(Job.State.QUEUED, Job.State.RUNNING),
    ).order_by("pk")
    rows = jobs.values_list("pk", "operation", "guest__name", "network__name", "params")
    return [
        topology.Pending(
            guest,
            (network or "") if operation in GOING_TO else "",
            str((params or {}).get("mac", "")),
            pk,
        )
        for pk, operation, guest, network, params in rows
    ]


def _forwards(host: Host) -> Counter[tuple[str, str]]:
    """The host's port forwards counted by (switch, guest MAC), or (switch, guest address) for
    one that knew no MAC: one query, whatever the number of guests."""
    rows = PortForward.objects.filter(network__host=host).order_by()
    return Counter(
        (network, mac.lower() or ip)
        for network, mac, ip in rows.values_list("network__name", "guest_mac", "guest_ip")
    )


def drawing(host: Host, user) -> topology.Layout:
    """The host as this user sees it: its visible switches; guests only for a user who sees the
    host whole (a guest's role is its host's, networks.permissions)."""
    networks = permissions.visible_networks(user).filter(host=host)
    switches = [topology.SwitchIn(**row) for row in networks.values(*SWITCH_FIELDS)]
    guests, pending = [], []
    if permissions.sees_whole(user, host):
        leases, forwards = lease_addresses(host), _forwards(host)
        found = permissions.visible_guests(user).filter(host=host)
        found = found.annotate(last_nic_job=last_job_of_each())
        for name, state, nics, last_job in found.values_list(
            "name", "state", "nics", "last_nic_job"
        ):
            drawn = topology.nics_of(nics, leases)
            version = nics_version(nics, last_job)
            count = topology.forwards_to(drawn, forwards)
            guests.append(topology.GuestIn(name, state, drawn, version, count))
        pending = _pending(host)
    uplink = topology.uplink_of(host.interfaces, host.routes)
    return topology.layout(uplink, switches, guests, pending, host.interfaces)


def _as_table(request: HttpRequest) -> bool:
    return request.GET.get("view") == "table"


def _part(request: HttpRequest, host: Host, drawn: topology.Layout) -> SafeString:
    """The live part, in the element static/vnetweb/live.js refreshes: the SVG, or its table.
    Operators get guests they can pick up."""
    network_url = reverse("network-detail", args=[host.name, NAME])
    guest_url = reverse("guest-detail", args=[host.name, NAME])
    table = _as_table(request)
    part_url = reverse("host-topology-part", args=[host.name]) + ("?view=table" if table else "")
    return render_to_string(
        "hosts/topology_table.html" if table else "hosts/topology_svg.html",
        {
            "host": host,
            "drawn": drawn,
            "words": topology_words,
            "part_url": part_url,
            "edit": permissions.can_operate(request.user, host),
            "network_url": {
                s.switch.name: network_url.replace(NAME, segment(s.switch.name))
                for s in drawn.switches
            },
            "guest_url": {
                g.guest.name: guest_url.replace(NAME, segment(g.guest.name)) for g in drawn.guests
            },
        },
    )


@require_GET
def host_topology(request: HttpRequest, host: str) -> HttpResponse:
    host = permissions.get_host(request.user, host)
    drawn = drawing(host, request.user)
    context = {
        "host": host,
        "table": _as_table(request),
        "part": _part(request, host, drawn),
        "switch_names": [node.switch.name for node in drawn.switches],
        "guest_names": sorted(node.guest.name for node in drawn.guests),
        # The connect form names the guest in a field: it carries each guest's version.
        "guest_versions": sorted((node.guest.name, node.guest.version) for node in drawn.guests),
        "can_edit": permissions.can_operate(request.user, host),
        "can_administer": permissions.can_administer(request.user, host),
        "attach_url": reverse("guest-nic-attach", args=[host.name, NAME]),
        "detach_url": reverse("guest-nic-detach", args=[host.name, NAME, MAC]),
    }
    return render(request, "hosts/topology.html", context)


@require_GET
def host_topology_part(request: HttpRequest, host: str) -> HttpResponse:
    host = permissions.get_host(request.user, host)
    return HttpResponse(_part(request, host, drawing(host, request.user)))


@require_POST
def topology_connect(request: HttpRequest, host: str) -> HttpResponse:
    """The form that works without JavaScript ("Connect guest … to switch …"): its guest is a
    field, but the attach view takes it in its URL, so this sends the same POST on there (307
    keeps the method and the body, CSRF token and all)."""
    host = permissions.get_host(request.user, host)
    permissions.require_operate(request.user, host)
    guest = request.POST.get("guest", "")
    if not permissions.visible_guests(request.user).filter(host=host, name=guest).exists():
        return HttpResponse("No such guest on this host.", status=400)
    url = reverse("guest-nic-attach", args=[host.name, guest])
    return HttpResponseRedirect(url, preserve_request=True)
