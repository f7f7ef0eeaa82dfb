"""Leases: a network's DHCP lease table (its filter, sort and Make permanent), and the search
across every network the user sees. Two routers: the table's under /networks/ (beside
networks.py's, on the same prefix), the search at /leases/."""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from networks import operations, permissions
from networks.api.errors import Conflict, FieldErrors, responses
from networks.api.jobs import JobOut, WaitQuery, accepted
from networks.api.paging import Page, PageQuery, paged
from networks.api.text import Text
from networks.models import Lease
from networks.pages.lease_table import (
    DEFAULT_SORT,
    FIELDS,
    MAX_TEXT,
    SORTS,
    LeaseQuery,
    clean_text,
    pinnable,
)
from networks.views.lease_pin import lease_to_pin, queue_pin
from networks.views.lease_search import matching
from networks.views.leases import PIN, may_pin

network_router = Router()  # mounted at /networks/
router = Router()  # mounted at /leases/

# Any sort column of the page, "-" in front for the reverse order.
Sort = Literal[tuple(f"{way}{key}" for key in SORTS for way in ("", "-"))]  # type: ignore[valid-type]


class LeaseOut(Schema):
    ip: str
    prefix: int | None
    mac: str
    hostname: str  # as the DHCP client named itself
    client_id: str  # an IPv6 client's DUID
    expires: datetime | None  # None: never
    static: bool  # a reservation of the network's DHCP names it
    guest: str  # the guest whose NIC has this MAC ("" for none known)


class NetworkLeaseOut(LeaseOut):
    pinnable: bool  # you may make it permanent now: POST …/leases/pin/ with its mac and ip


class FoundLeaseOut(LeaseOut):
    host: str
    network: str


class LeaseFilter(PageQuery):
    q: str = Field("", max_length=MAX_TEXT, description="Words in the address, MAC, hostname…")
    kind: Literal["", "static", "dynamic"] = ""
    sort: Sort = Field(DEFAULT_SORT, description="A column; '-' first to reverse.")


class SearchQuery(PageQuery):
    q: str = Field(
        "",
        max_length=MAX_TEXT,
        description="Every word must match the address, MAC, hostname, client ID or guest; "
        "a whole address matches only itself. Empty finds nothing, as on the page.",
    )


class PinIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"mac": "52:54:00:12:34:56", "ip": "192.168.122.50"}]}
    )

    mac: Text
    ip: Text
    hostname: Text | None = Field(
        None, description="The reservation's name; the lease's by default."
    )
    version: Text = Field(
        "",
        description="The network's definition version the leases were read with (its `version`, "
        "or ETag); a pin asked on an older one is refused (409). Empty: the current one.",
    )


def _lease_out(row: dict) -> dict:
    return {key: row.get(key) or "" for key in ("ip", "mac", "hostname", "client_id", "guest")} | {
        "prefix": row["prefix"],
        "expires": row["expires"],
        "static": row["static"],
    }


@network_router.get(
    "{slug:host}/{str:name}/leases/",
    response=responses({200: Page[NetworkLeaseOut]}),
    url_name="network-leases",
)
def network_leases(request: HttpRequest, host: str, name: str, query: Query[LeaseFilter]):
    """The network's DHCP leases as its lease table shows them: filtered (`q`, `kind`) and
    sorted (`sort`, addresses as numbers by default)."""
    network = permissions.get_network(request.user, host, name)
    choice = LeaseQuery.from_params(query.dict())
    pin = may_pin(request.user, network)
    rows = choice.apply(network.leases.all())
    return paged(rows, query, lambda page: [_network_lease_out(r, pin) for r in page])


def _network_lease_out(row: dict, pin: bool) -> dict:
    return _lease_out(row) | {"pinnable": pin and pinnable(row)}


@network_router.post(
    "{slug:host}/{str:name}/leases/pin/",
    response=responses({202: JobOut, 303: None}, 409),
    url_name="lease-pin",
)
def lease_pin(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    payload: PinIn,
    query: Query[WaitQuery],
):
    """Make permanent: a job turns the lease (mac, ip) of the running network into a DHCP
    reservation. 409 when the network is not running or `version` is no longer its definition;
    422 when it has no such lease, or one that cannot be reserved."""
    network = permissions.get_network(request.user, host, name)
    permissions.require(request.user, operations.get(PIN), network)
    lease = lease_to_pin(network, payload.mac, payload.ip)
    if isinstance(lease, str):
        if not operations.get(PIN).available(network):
            raise Conflict(lease)
        raise FieldErrors({"__all__": [lease]})
    job = queue_pin(request.user, network, lease, payload.hostname, payload.version)
    if isinstance(job, str):
        raise Conflict(job)
    return accepted(response, job, query.wait)


@router.get("", response=responses({200: Page[FoundLeaseOut]}), url_name="leases")
def lease_search(request: HttpRequest, query: Query[SearchQuery]):
    """The leases of every network you see that match `q`, as the lease search page finds
    them, by host, network and address."""
    q = clean_text(query.q)
    leases = matching(request.user, q) if q else Lease.objects.none()
    rows = leases.values("network__host__name", "network__name", *FIELDS)
    return paged(rows, query, lambda page: [_found_out(row) for row in page])


def _found_out(row: dict) -> dict:
    return _lease_out(row) | {"host": row["network__host__name"], "network": row["network__name"]}
