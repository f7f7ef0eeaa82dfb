"""Networks: the list (the page's filters and paging), one network with its status and host
side, and its buttons (start, stop, restart, autostart on and off)."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from networks import operations, permissions
from networks.api.errors import FieldErrors, responses
from networks.api.jobs import JobOut, WaitQuery, accepted
from networks.api.paging import Page, PageQuery, paged
from networks.forms.filters import SORTS, NetworkFilter
from networks.jobs import create_job
from networks.models import Network
from networks.versions import definition_version

router = Router()

# The buttons, by their URL word (networks.operations: start, stop, restart, autostart-on, …).
Action = Literal[tuple(op.slug for op in operations.OPERATIONS if op.button)]  # type: ignore[valid-type]


class NetworkOut(Schema):
    host: str
    name: str
    url: str
    page: str  # the network's page in the browser
    uuid: UUID
    mode: str
    active: bool
    persistent: bool
    autostart: bool
    bridge: str
    forward_dev: str
    ipv4: str
    ipv6: str
    dhcp_ranges: str


class NetworkDetailOut(NetworkOut):
    version: str  # the saved definition's version: the ETag, and If-Match for an edit
    xml: str  # the saved (persistent) definition; the running one for a transient network
    running_xml: str  # what libvirt runs now ("" when stopped)
    addresses: list
    guests: list
    switch: dict  # the host side: bridge state, counters, firewall (networks.worker.survey)
    switch_seen: datetime | None
    traffic: dict
    leases: int
    leases_seen: datetime | None
    last_seen: datetime
    actions: list[str]  # the buttons you may press now (POST …/actions/<word>/)


def network_out(network: Network, host: str | None = None) -> dict:
    host = host or network.host.name
    return {
        "host": host,
        "name": network.name,
        "url": reverse("api-v1:network", args=[host, network.name]),
        "page": reverse("network-detail", args=[host, network.name]),
        "uuid": network.uuid,
        "mode": network.mode,
        "active": network.active,
        "persistent": network.persistent,
        "autostart": network.autostart,
        "bridge": network.bridge,
        "forward_dev": network.forward_dev,
        "ipv4": network.ipv4,
        "ipv6": network.ipv6,
        "dhcp_ranges": network.dhcp_ranges,
    }


def detail_out(network: Network, user) -> dict:
    return {
        **network_out(network),
        "version": definition_version(network.saved_xml),
        "xml": network.saved_xml,
        "running_xml": network.xml if network.active else "",
        "addresses": network.addresses,
        "guests": network.guests,
        "switch": network.switch,
        "switch_seen": network.switch_seen,
        "traffic": network.traffic,
        "leases": network.leases.count(),
        "leases_seen": network.leases_seen,
        "last_seen": network.last_seen,
        "actions": [op.slug for op in permissions.buttons(network, user)],
    }


class NetworkQuery(PageQuery):
    q: str = Field("", max_length=200, description="Words in names, bridges, addresses, hosts.")
    host: str = Field("", max_length=64)
    mode: Network.Mode | Literal[""] = ""
    state: Literal["", "active", "inactive", "autostart", "transient"] = ""
    subnet: str = Field("", max_length=64, description="The networks overlapping it.")
    sort: str = Field("host", description=f"One of {', '.join(SORTS)}; '-' first to reverse.")


@router.get("", response=responses({200: Page[NetworkOut]}), url_name="networks")
def network_list(request: HttpRequest, query: Query[NetworkQuery]):
    """The networks you see, filtered and sorted as the network list page does."""
    filters = NetworkFilter(
        {**query.dict(exclude={"page", "per"}), "per": ""},
        hosts=permissions.visible_hosts(request.user),
    )
    if not filters.is_valid():
        raise FieldErrors.of_form(filters)
    networks = filters.apply(permissions.visible_networks(request.user)).select_related("host")
    return paged(networks, query, lambda rows: [network_out(n) for n in rows])


def _etag(response: HttpResponse, network: Network) -> None:
    response["ETag"] = f'"{definition_version(network.saved_xml)}"'


@router.get(
    "{slug:host}/{str:name}/", response=responses({200: NetworkDetailOut}), url_name="network"
)
def network_detail(request: HttpRequest, response: HttpResponse, host: str, name: str):
    """One network: its settings, definition (ETag: its version), host side and leases count."""
    network = permissions.get_network(request.user, host, name)
    _etag(response, network)
    return detail_out(network, request.user)


@router.post(
    "{slug:host}/{str:name}/actions/{action}/",
    response=responses({202: JobOut, 303: None}),
    url_name="network-action",
)
def network_action(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    action: Action,
    query: Query[WaitQuery],
):
    """Press a button: start, stop, restart, autostart-on, autostart-off. As the page's button,
    it is asked for whatever the network's state: the worker does nothing if it already holds."""
    network = permissions.get_network(request.user, host, name)
    op = operations.by_slug(action)
    permissions.require(request.user, op, network)
    job = create_job(request.user, network.host, op.key, network=network)
    return accepted(response, job, query.wait)
