"""A switch's port forwards: the list (with what the host's firewall holds of each), the guests a
forward may reach, adding and removing one, and putting them all back. Each change is a job, as
from the switch's page (networks.forwards_jobs), refused with the page's words
(networks.port_forwards.refusals) keyed by this body's fields. Mounted at /networks/.
"""

from datetime import datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from networks import forwards_jobs, permissions, port_forwards
from networks.api.errors import Conflict, FieldErrors, responses
from networks.api.jobs import JobOut, WaitQuery, accepted
from networks.api.paging import Page, PageQuery, paged
from networks.api.switches import Strict
from networks.api.text import Text
from networks.models import Network, PortForward

router = Router()  # mounted at /networks/

CHANGE = responses({202: JobOut, 303: None})
# refusals' keys that are not this body's own field names.
FIELDS = {"": "__all__", "guest": "guest_ip"}


class ForwardOut(Schema):
    id: int
    url: str  # DELETE it here
    protocol: PortForward.Protocol
    listen: str | None  # the host address it listens on; None: every address of the host
    host_port: int
    host_port_end: int  # == host_port for one port
    guest_ip: str
    guest_port: int
    guest_port_end: int
    guest_name: str  # the guest's or the reservation's name, when known
    guest_mac: str  # the forward goes when this NIC leaves the switch
    text: str  # one line, as the page and the audit trail say it
    in_place: bool | None  # the host's firewall holds it (the worker's last look); None: unknown
    connections: int | None  # connections it has forwarded since written; None: unknown
    created: datetime
    username: str  # who added it


class ForwardGuestOut(Schema):
    ip: str
    name: str  # the guest's, the reservation's, or the lease's hostname ("" for none)
    mac: str
    static: bool  # False: only a dynamic lease holds it; make it permanent (…/leases/pin/) first


class ForwardIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"protocol": "tcp", "host_port": 8080, "guest_ip": "10.0.0.10", "guest_port": 80}
            ]
        }
    )

    protocol: PortForward.Protocol
    host_port: int = Field(description="The host's port, or the first of a range.")
    host_port_end: int | None = Field(None, description="The range's last port; none: one port.")
    listen: Text | None = Field(
        None, description="An IPv4 address of the host to listen on; none: every address."
    )
    guest_ip: Text = Field(description="A guest of the switch with a reserved address.")
    guest_port: int = Field(description="The guest's port, or the first of as many as the host's.")
    guest_port_end: int | None = Field(None, description="Optional: the guest range's last port.")


def _firewall(network: Network) -> dict[int, dict]:
    """What the worker last found in the host's firewall, by forward id."""
    found = (network.switch or {}).get("forwards") or []
    return {item["id"]: item for item in found if isinstance(item, dict) and "id" in item}


def forward_out(forward: PortForward, network: Network, seen: dict[int, dict]) -> dict:
    state = seen.get(forward.pk, {})
    fields = ("id", "protocol", "listen", "host_port", "host_port_end", "guest_ip", "guest_port")
    more = ("guest_port_end", "guest_name", "guest_mac", "text", "created", "username")
    return {name: getattr(forward, name) for name in (*fields, *more)} | {
        "url": reverse("api-v1:forward", args=[network.host.name, network.name, forward.pk]),
        "in_place": state.get("in_place"),
        "connections": state.get("connections"),
    }


@router.get(
    "{slug:host}/{str:name}/forwards/",
    response=responses({200: Page[ForwardOut]}),
    url_name="forwards",
)
def forward_list(request: HttpRequest, host: str, name: str, query: Query[PageQuery]):
    """The switch's port forwards, by protocol and port, each with whether the host's firewall
    holds it (`in_place`) as its worker last looked."""
    network = permissions.get_network(request.user, host, name)
    seen = _firewall(network)
    rows = network.forwards.all()
    return paged(rows, query, lambda page: [forward_out(f, network, seen) for f in page])


@router.get(
    "{slug:host}/{str:name}/forwards/guests/",
    response=responses({200: Page[ForwardGuestOut]}),
    url_name="forward-guests",
)
def forward_guests(request: HttpRequest, host: str, name: str, query: Query[PageQuery]):
    """The guests a forward may reach: the switch's reservations and leases, reserved ones
    first. A forward needs a reserved address (`static`)."""
    network = permissions.get_network(request.user, host, name)
    rows = port_forwards.candidates(network)
    return paged(rows, query, lambda page: [vars(c) for c in page])


@router.post("{slug:host}/{str:name}/forwards/", response=CHANGE, url_name="forward-add")
def forward_add(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    body: ForwardIn,
    query: Query[WaitQuery],
):
    """Add a forward (operators of the switch): a job writes it into the host's firewall at
    once, without a restart. Refused (422) with the page's words: a port another forward of the
    host or the host itself takes, ranges of different lengths, an address that is not a
    reserved guest of this switch, a switch that is not NAT or routed or whose host's worker
    cannot write its firewall."""
    network = permissions.get_network(request.user, host, name)
    job = forwards_jobs.queue_add(request.user, network, port_forwards.Wanted(**body.dict()))
    if isinstance(job, dict):
        raise FieldErrors({FIELDS.get(key, key): [message] for key, message in job.items()})
    return accepted(response, job, query.wait)


@router.delete(
    "{slug:host}/{str:name}/forwards/{int:forward_id}/", response=CHANGE, url_name="forward"
)
def forward_remove(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    forward_id: int,
    query: Query[WaitQuery],
):
    """Remove a forward (operators of the switch): a job takes it out of the host's firewall."""
    network = permissions.get_network(request.user, host, name)
    job = forwards_jobs.queue_remove(request.user, network, forward_id)
    if job is None:
        raise Http404(f"{network.name} has no port forward {forward_id}.")
    return accepted(response, job, query.wait)


@router.post(
    "{slug:host}/{str:name}/forwards/apply/",
    response=responses({202: JobOut, 303: None}, 409),
    url_name="forwards-apply",
)
def forwards_apply(
    request: HttpRequest, response: HttpResponse, host: str, name: str, query: Query[WaitQuery]
):
    """Put the host's forwards back into its firewall (the health verdict's Fix). 409 when
    the switch is not running."""
    network = permissions.get_network(request.user, host, name)
    job = forwards_jobs.queue_apply(request.user, network)
    if isinstance(job, str):
        raise Conflict(job)
    return accepted(response, job, query.wait)
