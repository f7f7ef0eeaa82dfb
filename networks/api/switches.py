"""A switch's definition: create one from a JSON form of the spec, read its spec, edit it (or its
raw XML) on the version read, delete it. The editor pages' rules, not copies of them: the same
review (networks.pages.review) with the same messages, the same roles, the same jobs
(networks.views.switch_edit); what the validator refuses, keyed by the spec's paths
("ipv4.dhcp_hosts.2"), is a 422 and nothing is queued.

An edit names the definition it was made on, as the editor's hidden field does: `If-Match:
"<version>"` (the ETag of GET …/spec/ and of the network). Without one: 428; with an older one:
412 with what changed since, by whom, and the difference.

The DELETE of `{host}/{name}/` is on the networks router (networks.api.networks): Django takes the
first route that matches a path, so a second route for the same path on this router would never
be reached (405 from the network's GET).
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import ConfigDict

from networks import permissions
from networks.api import networks as networks_api
from networks.api.errors import Conflict, FieldErrors, Stale, StaleOut, responses
from networks.api.jobs import JobOut, WaitQuery, accepted
from networks.forms.switch import operator_may_send
from networks.jobs import create_job
from networks.models import Host, Job, Network
from networks.operations import Op
from networks.pages.host_context import host_context
from networks.pages.review import Review, review
from networks.spec import HostContext, NetworkSpec, SpecXMLError, modes, parse
from networks.spec.defaults import free_bridge_name
from networks.spec_compare import DEFINE_FILLS
from networks.versions import definition_version, diff_lines
from networks.views import edit_base
from networks.views.switch_edit import (
    NOTHING_CHANGED,
    OPERATORS_ONLY_LIVE,
    queue_create,
    queue_edit,
    refusals,
)
from networks.views.switch_xml import XmlForm, review_xml

router = Router()

IF_MATCH = (
    'The definition\'s version the change was made on, as the ETag gives it: "<version>" '
    "(GET …/spec/ or the network)."
)
# What a new switch never brings along: libvirt gives each switch its own.
GIVEN_BY_LIBVIRT = ("uuid", "mac")


class Strict(Schema):
    """A request body: a key it does not know is refused (a typo must not go unnoticed)."""

    model_config = ConfigDict(extra="forbid")


class CreateIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "spec": {
                        "name": "lab-nat",
                        "mode": "nat",
                        "ips": [
                            {
                                "address": "192.168.150.1",
                                "prefix": 24,
                                "dhcp_ranges": [
                                    {"start": "192.168.150.100", "end": "192.168.150.199"}
                                ],
                            }
                        ],
                    },
                    "start": True,
                    "autostart": False,
                }
            ]
        }
    )

    spec: NetworkSpec
    start: bool = Field(True, description="Start it once defined.")
    autostart: bool = Field(True, description="Start it with the host.")


class EditIn(Strict):
    spec: NetworkSpec
    restart: bool = Field(
        False,
        description="Restart a running switch if the change needs it (its guests lose the "
        "network for a moment); without it, it runs the old settings until restarted.",
    )


class XmlIn(Strict):
    xml: str
    restart: bool = Field(False, description="As for the spec: restart if the change needs it.")


class SpecOut(Strict):
    version: str  # the definition's version: If-Match for an edit
    spec: NetworkSpec


class Done(Schema):
    detail: str


# --- helpers ---------------------------------------------------------------------------------


def _versions(if_match: str) -> list[str]:
    """The versions an If-Match names: quoted or not, weak (W/) or not, one or several."""
    found = []
    for part in if_match.split(","):
        part = part.strip()
        part = part[2:] if part[:2].upper() == "W/" else part
        found.append(part.strip('"'))
    return [version for version in found if version]


def _base(network: Network, if_match: str | None) -> str:
    """The saved definition the request was made on; 428 without an If-Match that names a
    version, 412 (what changed since) when it names an older one."""
    sent = _versions(if_match or "")
    if not sent or "*" in sent:
        raise HttpError(
            428,
            "Say which definition this change was made on: send If-Match with its version "
            '("<version>", the ETag of GET …/spec/); nothing was sent.',
        )
    current = network.saved_xml
    if definition_version(current) in sent:
        return current
    raise Stale(_stale_out(network, sent[0]))


def _stale_out(network: Network, sent: str) -> StaleOut:
    """What changed since version `sent`: by whom (the audit trail) and, when the trail still
    holds that definition, the difference from it to the current one."""
    current = definition_version(network.saved_xml)
    base_xml = edit_base.definition_of(network, sent)
    lines = [line.rstrip("\n") for _, line in diff_lines(base_xml, network.saved_xml)]
    theirs = [f"--- {sent[:40]}", f"+++ {current}", *lines] if base_xml and lines else []
    return StaleOut(
        detail=(
            f"{network.name} was changed since version {sent[:40]}; nothing was sent. Read it "
            "again, make your change on it and send it with its version."
        ),
        version=current,
        changes=edit_base.who_changed(network, sent, base_xml),
        theirs=theirs,
    )


def _spec_of(network: Network) -> NetworkSpec:
    try:
        return parse(network.saved_xml)
    except SpecXMLError as exc:
        raise Conflict(
            f"vnetweb cannot read this network's XML ({exc}); edit the XML itself (PUT …/xml/)."
        ) from exc


def _new(spec: NetworkSpec, context: HostContext) -> NetworkSpec:
    """`spec` as the create form makes it: a free bridge name when its mode has a bridge of
    its own and none is given; refused with a UUID or MAC (a copy of another switch's)."""
    given = [name for name in GIVEN_BY_LIBVIRT if getattr(spec, name)]
    if given:
        words = "libvirt gives a new switch its own; leave it out"
        raise FieldErrors({name: [words] for name in given})
    if spec.mode in modes.OWN_BRIDGE and not spec.bridge:
        spec.bridge = free_bridge_name(context)
    return spec


def _kept(spec: NetworkSpec, current: NetworkSpec) -> NetworkSpec:
    """`spec` with what an edit may leave out taken from `current`, as the editor keeps what its
    form does not show: the UUID, and while the mode stays, what libvirt would otherwise fill
    in anew (the MAC, bridge name, STP and delay)."""
    if spec.uuid is None:
        spec.uuid = current.uuid
    elif spec.uuid != current.uuid:
        raise FieldErrors({"uuid": [f"the UUID must stay {current.uuid}"]})
    if spec.mode == current.mode:
        for name in DEFINE_FILLS:
            if getattr(spec, name) in (None, ""):
                setattr(spec, name, getattr(current, name))
    return spec


def _refuse_unless_ok(result: Review) -> None:
    """422 with the review's problems by spec path and what else refuses it under __all__."""
    if result.ok:
        return
    errors = {path: list(messages) for path, messages in result.problems.errors.items()}
    errors.setdefault("__all__", []).extend(refusals(result))
    raise FieldErrors({key: messages for key, messages in errors.items() if messages})


def _queued(response: HttpResponse, job: Job | None, wait: float):
    if job is None:
        return Status(200, {"detail": NOTHING_CHANGED})
    return accepted(response, job, wait)


# --- endpoints -------------------------------------------------------------------------------


@router.post("{slug:host}/", response=responses({202: JobOut, 303: None}), url_name="switch-create")
def switch_create(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    body: CreateIn,
    query: Query[WaitQuery],
):
    """Create a switch on a host (admins of the host), reviewed as the create form does: the
    spec's problems are 422 under their paths ("ipv4.dhcp_ranges.0"), libvirt's schema and
    what vnetweb never sends under `__all__`. An own-bridge mode without a bridge name gets a
    free virbrN; `uuid` and `mac` are libvirt's to give. Then a define job (and start,
    autostart as asked)."""
    host_obj: Host = permissions.get_host(request.user, host)
    permissions.require_administer(request.user, host_obj)
    context = host_context(host_obj, visible=permissions.seen_network_ids(request.user))
    result = review(_new(body.spec, context), context)
    _refuse_unless_ok(result)
    job = queue_create(request.user, host_obj, result, start=body.start, autostart=body.autostart)
    return accepted(response, job, query.wait)


@router.get(
    "{slug:host}/{str:name}/spec/", response=responses({200: SpecOut}, 409), url_name="switch-spec"
)
def switch_spec(request: HttpRequest, response: HttpResponse, host: str, name: str):
    """A switch's saved definition as a spec, and its version (also the ETag): change it and
    PUT it back with `If-Match: "<version>"`. 409 when vnetweb cannot read the XML."""
    network = permissions.get_network(request.user, host, name)
    version = definition_version(network.saved_xml)
    response["ETag"] = f'"{version}"'
    return {"version": version, "spec": _spec_of(network)}


@router.put(
    "{slug:host}/{str:name}/spec/",
    response=responses({200: Done, 202: JobOut, 303: None}, 409, 412, 428),
    url_name="switch-spec-edit",
)
def switch_spec_edit(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    body: EditIn,
    query: Query[WaitQuery],
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH),
):
    """Edit a switch: the whole spec as it should be, made on the version in If-Match, reviewed
    as the editor does. Left out (null or ""): the UUID, and while the mode stays the MAC,
    bridge, STP and delay keep their values. Operators may change only static hosts and DNS
    records (403 otherwise). Live where libvirt allows it, else saved (and restarted with
    `restart`). 200 with "Nothing changed; nothing was sent." when it is the saved
    definition."""
    network = permissions.get_network(request.user, host, name)
    permissions.require_operate(request.user, network)
    base_xml = _base(network, if_match)
    current = _spec_of(network)
    spec = _kept(body.spec, current)
    operator_only = not permissions.can_administer(request.user, network)
    if operator_only and not operator_may_send(current, spec):
        raise PermissionDenied(OPERATORS_ONLY_LIVE)
    seen = permissions.seen_network_ids(request.user)
    context = host_context(network.host, editing=network, visible=seen)
    result = review(spec, context, original=current, base_xml=base_xml)
    _refuse_unless_ok(result)
    if operator_only and result.plan is not None and result.plan.needs_restart:
        raise PermissionDenied(OPERATORS_ONLY_LIVE)
    job = queue_edit(request.user, network, result, base_xml, restart=body.restart)
    return _queued(response, job, query.wait)


@router.put(
    "{slug:host}/{str:name}/xml/",
    response=responses({200: Done, 202: JobOut, 303: None}, 412, 428),
    url_name="switch-xml-edit",
)
def switch_xml_edit(
    request: HttpRequest,
    response: HttpResponse,
    host: str,
    name: str,
    body: XmlIn,
    query: Query[WaitQuery],
    if_match: str | None = Header(None, alias="If-Match", description=IF_MATCH),
):
    """Replace a switch's XML (admins), made on the version in If-Match and reviewed as the XML
    editor does: what refuses it is under `xml`. 200 with "Nothing changed; nothing was sent."
    when it is the saved definition."""
    network = permissions.get_network(request.user, host, name)
    permissions.require_administer(request.user, network)
    base_xml = _base(network, if_match)
    form = XmlForm({"xml": body.xml})
    result = review_xml(form, network, base_xml, request.user) if form.is_valid() else None
    if result is None or not result.ok or form.errors:
        raise FieldErrors.of_form(form)
    job = queue_edit(request.user, network, result, base_xml, restart=body.restart)
    return _queued(response, job, query.wait)


@networks_api.router.delete(
    "{slug:host}/{str:name}/",
    response=responses({202: JobOut, 303: None}),
    url_name="switch-delete",
    tags=["switches"],
)
def switch_delete(
    request: HttpRequest, response: HttpResponse, host: str, name: str, query: Query[WaitQuery]
):
    """Delete a switch (admins): stop it and undefine it, as the delete page does. Its guests'
    NICs on it lose their network."""
    network = permissions.get_network(request.user, host, name)
    permissions.require_administer(request.user, network)
    job = create_job(request.user, network.host, Op.UNDEFINE, network=network)
    return accepted(response, job, query.wait)
