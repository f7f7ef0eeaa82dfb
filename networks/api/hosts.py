"""Hosts: the list and one host (what the host pages show, to whoever sees them), adding, editing
and removing them (global admins, the pages' own HostForm: a URI libvirt would run a program
with is refused in the form's words), and "Check now" (a probe job, operators).

The changes are the pages' own functions (networks.views.hosts): the same audit entries, the
same probe, the workers told of the new host list."""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from networks import permissions
from networks.api.errors import Conflict, FieldErrors, responses
from networks.api.jobs import JobOut, WaitQuery, accepted, job_out
from networks.api.paging import Page, PageQuery, paged
from networks.forms import HostForm
from networks.jobs import create_job
from networks.models import Host
from networks.operations import Op
from networks.stale.hosts import host_version
from networks.views.hosts import add_host, counted, edit_host, remove_host

router = Router()


class HostOut(Schema):
    name: str
    url: str  # this resource
    page: str  # the host's page in the browser
    uri: str
    description: str
    reachable: bool | None  # None: not checked yet
    last_error: str
    hostname: str
    libvirt_version: str
    hypervisor: str
    hypervisor_version: str
    cpu_model: str
    cpus: int | None
    memory_kib: int | None
    last_checked: datetime | None
    last_seen: datetime | None
    queue: str  # the host's worker queue
    unserved: bool  # no live worker serves it: what is shown is as of the last check
    networks: int  # the networks you see on it
    active_networks: int


class HostDetailOut(HostOut):
    version: str  # the settings' version: send it with an edit to refuse a stale one (409)
    actions: list[str]  # what you may do: probe, edit, delete
    probe_job: JobOut | None  # the last check asked for


class HostIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "kvm2", "uri": "qemu+ssh://root@kvm2/system?keyfile=/etc/vnetweb/ssh/kvm2"}
            ]
        }
    )

    name: str
    uri: str
    description: str = ""


class HostEditIn(Schema):
    """Only what is sent changes. The name is fixed: it names the host's worker queue."""

    uri: str | None = None
    description: str | None = None
    version: str = Field("", description="The version you saw; 409 when it is not current.")


# What an admin sets and what the last check found.
_FACTS = ("uri", "description", *Host.PROBED)


def host_out(host: Host) -> dict:
    """`host` as `counted` returned it (its counts and `unserved` set)."""
    return {
        "name": host.name,
        "url": reverse("api-v1:host", args=[host.name]),
        "page": host.get_absolute_url(),
        "networks": host.network_count,
        "active_networks": host.active_count,
        "unserved": host.unserved,
        "queue": host.queue,
        **{field: getattr(host, field) for field in _FACTS},
    }


def _actions(user, host: Host) -> list[str]:
    # The host page's buttons: Check now for operators, Edit and Remove for global admins.
    found = [Op.PROBE.value] if permissions.can_operate(user, host) else []
    return found + (["edit", "delete"] if permissions.is_site_admin(user) else [])


def detail_out(user, host: Host) -> dict:
    [host] = counted(user, [host])
    probe = permissions.visible_jobs(user).filter(host=host, operation=Op.PROBE).first()
    return {
        **host_out(host),
        "version": host_version(host),
        "actions": _actions(user, host),
        "probe_job": job_out(probe) if probe else None,
    }


@router.get("", response=responses({200: Page[HostOut]}), url_name="hosts")
def host_list(request: HttpRequest, query: Query[PageQuery]):
    """The hosts you see, by name; their network counts are of the networks you see."""
    hosts = permissions.visible_hosts(request.user)
    return paged(hosts, query, lambda rows: [host_out(h) for h in counted(request.user, rows)])


@router.post("", response=responses({201: HostDetailOut}), url_name="host-add")
def host_add(request: HttpRequest, response: HttpResponse, payload: HostIn):
    """Add a host (global admins). A worker checks it at once: `probe_job` is that check."""
    permissions.require_site_admin(request.user)
    form = HostForm(payload.dict())
    if not form.is_valid():
        raise FieldErrors.of_form(form)
    host = add_host(request.user, form)
    response["Location"] = reverse("api-v1:host", args=[host.name])
    return Status(201, detail_out(request.user, host))


@router.get("{slug:name}/", response=responses({200: HostDetailOut}), url_name="host")
def host_detail(request: HttpRequest, name: str):
    """One host: its facts as the last check found them, and the last check asked for."""
    return detail_out(request.user, permissions.get_host(request.user, name))


@router.patch("{slug:name}/", response=responses({200: HostDetailOut}, 409), url_name="host-edit")
def host_edit(request: HttpRequest, name: str, payload: HostEditIn):
    """Change a host's URI or description (global admins); a worker checks it again. With
    `version`, an edit made from settings that changed since is refused (409, saying what)."""
    host = permissions.get_host(request.user, name)
    permissions.require_site_admin(request.user)
    sent = payload.dict(exclude_none=True, exclude={"version"})
    data = {"uri": host.uri, "description": host.description, **sent}
    edit = edit_host(request.user, host, data, payload.version)
    if edit.stale:
        raise Conflict(edit.stale)
    if not edit.saved:
        raise FieldErrors.of_form(edit.form)
    return detail_out(request.user, edit.host)


@router.delete("{slug:name}/", response=responses({204: None}), url_name="host-delete")
def host_delete(request: HttpRequest, name: str):
    """Remove a host from vnetweb (global admins): its networks' rows and jobs go with it;
    nothing is changed on the host itself."""
    host = permissions.get_host(request.user, name)
    permissions.require_site_admin(request.user)
    remove_host(request.user, host)
    return Status(204, None)


@router.post(
    "{slug:name}/probe/", response=responses({202: JobOut, 303: None}), url_name="host-probe"
)
def host_probe(request: HttpRequest, response: HttpResponse, name: str, query: Query[WaitQuery]):
    """Check the host now (operators): its facts, networks and guests are read again."""
    host = permissions.get_host(request.user, name)
    permissions.require_operate(request.user, host)
    job = create_job(request.user, host, Op.PROBE)
    return accepted(response, job, query.wait)
