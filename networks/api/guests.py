"""A host's guests and their NICs: the list, one guest, and the NIC changes of its page (attach,
move, detach, link up or down), each a job as from the page (networks.pages.nic_jobs).

Guests need a role on the whole host, as on the pages: a per-network grant sees none (404).
Mounted at /hosts/, beside the hosts' own router (networks/api/hosts.py).

A change may carry the `version` of the guest's NICs it was decided on (the guest's `version`):
a change made on an older one is refused (409) with what changed since, as from a stale page.
"""

from datetime import datetime
from uuid import UUID

from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from networks import operations, permissions
from networks.api.errors import Conflict, FieldErrors, responses
from networks.api.jobs import JobOut, WaitQuery, accepted
from networks.api.paging import Page, PageQuery, paged
from networks.api.text import Text
from networks.forms.nics import AttachForm, LinkForm, MoveForm
from networks.models import Guest, Host, Network
from networks.operations import Op
from networks.pages import nic_jobs
from networks.pages.guest_rows import lease_addresses, network_urls, nic_rows
from networks.stale import nics as versions

router = Router()  # mounted at /hosts/

VERSION = "The guest's NICs `version` this change was decided on; empty: as they are now."
CHANGE = responses({202: JobOut, 303: None}, 409)


class NicOut(Schema):
    mac: str
    type: str  # libvirt's: network, bridge, direct…
    source: str  # the network's name, the bridge or the host's NIC
    network: str  # the host's libvirt network it is on ("" for none)
    model: str
    device: str  # vnet3 while running
    link: str  # up or down
    config: bool  # False: plugged live only, gone at the next boot
    addresses: list[str]  # from the leases of its network, then the guest agent's
    from_agent: bool  # the guest agent told some of them


class GuestOut(Schema):
    host: str
    name: str
    url: str
    page: str  # the guest's page in the browser
    uuid: UUID
    state: str  # libvirt's words: running, paused, shut off…
    persistent: bool
    autostart: bool
    vcpus: int | None
    memory_kib: int | None
    agent: bool  # a guest agent answered at the last reading
    hotplug: bool  # it can take and drop NICs while running (ACPI)
    last_seen: datetime
    nics: list[NicOut]


class GuestDetailOut(GuestOut):
    version: str  # the NICs' version: send it with a change to refuse it if they changed since
    may_change: bool  # your role lets you change its NICs


class AttachIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"network": "default", "model": "virtio"}]}
    )

    network: Text = Field(description="The host's network the new NIC goes on.")
    model: Text = Field("", description="virtio (the default), e1000e, e1000 or rtl8139.")
    mac: Text = Field("", description="Empty: libvirt picks a free 52:54:00 address.")
    version: Text = Field("", description=VERSION)


class MoveIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"network": "default"}]})

    network: Text = Field(description="The host's network the NIC moves to.")
    version: Text = Field("", description=VERSION)


class LinkIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"state": "down"}]})

    state: Text = Field(description="up or down.")
    version: Text = Field("", description=VERSION)


class DetachQuery(WaitQuery):
    version: Text = Field("", description=VERSION)


def _nic_out(row: dict) -> dict:
    text = ("mac", "type", "source", "network", "model", "device")
    return {key: str(row.get(key) or "") for key in text} | {
        "link": "down" if row.get("link") == "down" else "up",
        "config": row.get("config", True) is not False,
        "addresses": row["addresses"],
        "from_agent": row["from_agent"],
    }


def guest_out(guest: Guest, nics: list[dict]) -> dict:
    """A guest and its NICs' rows (networks.pages.guest_rows.nic_rows)."""
    host = guest.host.name
    return {
        "host": host,
        "name": guest.name,
        "url": reverse("api-v1:guest", args=[host, guest.name]),
        "page": reverse("guest-detail", args=[host, guest.name]),
        "uuid": guest.uuid,
        "state": guest.state,
        "persistent": guest.persistent,
        "autostart": guest.autostart,
        "vcpus": guest.vcpus,
        "memory_kib": guest.memory_kib,
        "agent": guest.agent,
        "hotplug": guest.hotplug,
        "last_seen": guest.last_seen,
        "nics": [_nic_out(row) for row in nics],
    }


def _rows(host: Host, guests) -> list[dict]:
    """The guests with their NICs' addresses: the host's leases read once for all of them."""
    leases, urls = lease_addresses(host), network_urls(host)
    return [guest_out(guest, nic_rows(guest, leases, urls)) for guest in guests]


@router.get("{slug:host}/guests/", response=responses({200: Page[GuestOut]}), url_name="guests")
def guest_list(request: HttpRequest, host: str, query: Query[PageQuery]):
    """The host's guests by name, each with its NICs and their addresses."""
    host_obj = permissions.get_whole_host(request.user, host)
    guests = permissions.visible_guests(request.user).filter(host=host_obj)
    guests = guests.select_related("host").order_by("name").defer("xml")
    return paged(guests, query, lambda page: _rows(host_obj, page))


@router.get(
    "{slug:host}/guests/{str:name}/", response=responses({200: GuestDetailOut}), url_name="guest"
)
def guest_detail(request: HttpRequest, host: str, name: str):
    """One guest: its NICs with their networks and addresses, and their version."""
    guest = permissions.get_guest(request.user, host, name)
    [out] = _rows(guest.host, [guest])
    return out | {
        "version": versions.guest_version(guest),
        "may_change": permissions.can_operate(request.user, guest),
    }


def _guest(request: HttpRequest, host: str, name: str, key: Op, version: str) -> Guest:
    """The guest, if the user may make this change to it, and its NICs are still as `version`
    says (409 otherwise, before the request's values are looked at, as on the page)."""
    guest = permissions.get_guest(request.user, host, name)
    permissions.require(request.user, operations.get(key), guest)
    if why := versions.refusal(guest, version):
        raise Conflict(why)
    return guest


def _nic(guest: Guest, mac: str) -> dict:
    nic = guest.nic(mac)
    if nic is None:
        raise Http404(nic_jobs.no_nic(guest, mac))
    return nic


def _valid(form: Form) -> Form:
    """The form, valid, or its errors as the page shows them (422)."""
    if not form.is_valid():
        raise FieldErrors.of_form(form)
    return form


def _queue(
    request: HttpRequest,
    response: HttpResponse,
    guest: Guest,
    key: Op,
    switch: Network | None,
    params: dict,
    version: str,
    wait: float,
):
    job = nic_jobs.queue(request.user, guest, key, switch, version, params)
    if isinstance(job, str):
        raise Conflict(job)
    return accepted(response, job, wait)


@router.post("{slug:host}/guests/{str:name}/nics/", response=CHANGE, url_name="guest-nics")
def nic_attach(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    payload: AttachIn,
    query: Query[WaitQuery],
):
    """Attach a NIC on one of the host's networks (a running guest: only a running network)."""
    guest = _guest(request, host, name, Op.NIC_ATTACH, payload.version)
    networks = nic_jobs.switches(request.user, guest)
    form = AttachForm(payload.dict(exclude={"version"}), guest=guest, networks=networks)
    network, params = nic_jobs.attach(_valid(form))
    return _queue(
        request, response, guest, Op.NIC_ATTACH, network, params, payload.version, query.wait
    )


@router.post(
    "{slug:host}/guests/{str:name}/nics/{str:mac}/move/", response=CHANGE, url_name="guest-nic-move"
)
def nic_move(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    mac: str,
    payload: MoveIn,
    query: Query[WaitQuery],
):
    """Move the NIC to another of the host's networks."""
    guest = _guest(request, host, name, Op.NIC_MOVE, payload.version)
    _nic(guest, mac)
    networks = nic_jobs.switches(request.user, guest)
    form = MoveForm({"network": payload.network}, guest=guest, networks=networks, mac=mac)
    network, params = nic_jobs.move(_valid(form))
    return _queue(
        request, response, guest, Op.NIC_MOVE, network, params, payload.version, query.wait
    )


@router.delete(
    "{slug:host}/guests/{str:name}/nics/{str:mac}/", response=CHANGE, url_name="guest-nic"
)
def nic_detach(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    mac: str,
    query: Query[DetachQuery],
):
    """Detach the NIC (a running guest only if its machine can drop one: ACPI)."""
    guest = _guest(request, host, name, Op.NIC_DETACH, query.version)
    nic = _nic(guest, mac)
    if why := nic_jobs.detach_refusal(guest, mac):
        raise Conflict(why)
    network = nic_jobs.switch_of(request.user, guest, nic)
    params = {"mac": mac.lower()}
    return _queue(
        request, response, guest, Op.NIC_DETACH, network, params, query.version, query.wait
    )


@router.post(
    "{slug:host}/guests/{str:name}/nics/{str:mac}/link/", response=CHANGE, url_name="guest-nic-link"
)
def nic_link(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    mac: str,
    payload: LinkIn,
    query: Query[WaitQuery],
):
    """Set the NIC's link up or down (the cable plugged in or not)."""
    guest = _guest(request, host, name, Op.NIC_LINK, payload.version)
    nic = _nic(guest, mac)
    form = _valid(LinkForm({"state": payload.state}))
    network = nic_jobs.switch_of(request.user, guest, nic)
    params = {"mac": mac.lower(), "up": form.cleaned_data["state"] == "up"}
    return _queue(
        request, response, guest, Op.NIC_LINK, network, params, payload.version, query.wait
    )
