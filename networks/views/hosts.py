"""Hosts: the list, a host's page, and the admin-only add/edit/remove.

The changes themselves (add_host, edit_host, remove_host) and the list's counts (counted) are
plain functions that the API (networks.api.hosts) calls too.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from networks import audit, live, permissions, workers
from networks.forms import HostEditForm, HostForm
from networks.jobs import create_job
from networks.models import Host
from networks.operations import Op
from networks.stale import hosts as host_versions
from networks.views.live import render_live
from networks.views.networks import HOST_COLUMNS, render_rows, rows, some_rows
from networks.workers import broadcast_sync


def mark_unserved(hosts: list[Host]) -> None:
    """Set `host.unserved` on each host that no live worker serves (networks.workers): its row
    then still says what the last check found, and no worker will say otherwise, so the page says
    that it is as of that check and that jobs asked for now fail. One Redis round trip for all;
    nothing is marked when that cannot be told."""
    found = workers.unserved(hosts) if hosts else None
    for host in hosts:
        host.unserved = found is not None and host.pk in found


def counted(user, hosts: Iterable[Host]) -> list[Host]:
    """The hosts with `network_count` and `active_count` set, counted over the networks the user
    sees (a host seen partly counts only those), and `unserved` (mark_unserved)."""
    hosts = list(hosts)
    counts = {
        row["host_id"]: row
        for row in permissions.visible_networks(user)
        .filter(host__in=hosts)
        .values("host_id")
        .annotate(total=Count("pk"), active=Count("pk", filter=Q(active=True)))
    }
    for host in hosts:
        row = counts.get(host.pk, {})
        host.network_count, host.active_count = row.get("total", 0), row.get("active", 0)
    mark_unserved(hosts)
    return hosts


@require_GET
def host_list(request: HttpRequest) -> HttpResponse:
    hosts = counted(request.user, permissions.visible_hosts(request.user))
    return render_live(request, "hosts/list.html", "hosts/_list_live.html", {"hosts": hosts})


@require_GET
def host_detail(request: HttpRequest, name: str) -> HttpResponse:
    host = permissions.get_host(request.user, name)
    mark_unserved([host])
    networks = permissions.visible_networks(request.user).filter(host=host)
    table = rows(networks.order_by("name"), request.user, show_host=False)
    probe_job = permissions.visible_jobs(request.user).filter(host=host, operation=Op.PROBE).first()
    context = {
        "host": host,
        "rows": render_rows(request, table, show_host=False),
        "count": len(table),
        "columns": HOST_COLUMNS,
        "show_host": False,
        "probe_job": probe_job,
        "whole": permissions.sees_whole(request.user, host),
        "can_operate": permissions.can_operate(request.user, host),
        "can_administer": permissions.can_administer(request.user, host),
        "pending": any(row["busy"] for row in table) or (probe_job and probe_job.is_pending),
    }
    return render_live(request, "hosts/detail.html", "hosts/_detail_live.html", context)


@require_GET
def host_network_rows(request: HttpRequest, name: str) -> HttpResponse:
    """Just some rows of the host page's table (?id=…&id=…), for a page whose rows' jobs moved
    on."""
    host = permissions.get_host(request.user, name)
    networks = permissions.visible_networks(request.user).filter(host=host)
    return some_rows(request, networks, show_host=False)


def _host_changed(user, host: Host) -> None:
    # Workers learn about the new or changed host, and a probe fills in its facts and networks.
    create_job(user, host, Op.PROBE)
    transaction.on_commit(broadcast_sync)
    live.publish(host.pk)


def add_host(user, form: HostForm) -> Host:
    """Save a valid HostForm: the host, its audit entry, a probe, and the workers told."""
    with transaction.atomic():
        host = form.save()
        audit.record(user, "host-add", host=host, after=audit.settings_text(host))
        _host_changed(user, host)
    return host


@dataclass(frozen=True)
class HostEdit:
    """What edit_host did: `stale` says why nothing was saved when the settings changed since
    `version` was shown; else the form tells whether the edit was valid (and so saved)."""

    host: Host  # the row as locked (as saved, when saved)
    version: str  # the version of the settings before this edit
    form: HostEditForm
    stale: str = ""

    @property
    def saved(self) -> bool:
        return not self.stale and self.form.is_valid()


def edit_host(user, host: Host, data, seen: str) -> HostEdit:
    """Edit the host's settings with `data` unless they changed since version `seen` was shown
    (networks.stale.hosts; no version: no check). The row is locked: of two saves made at once
    from the same version, the second is refused."""
    with transaction.atomic():
        host = Host.objects.select_for_update().get(pk=host.pk)
        version = host_versions.host_version(host)
        stale = host_versions.refusal(host, seen)
        if stale:
            return HostEdit(host, version, HostEditForm(instance=host), stale)
        before = audit.settings_text(host)
        form = HostEditForm(data, instance=host)
        if form.is_valid():
            host = form.save()
            after = audit.settings_text(host)
            audit.record(user, "host-edit", host=host, before=before, after=after)
            _host_changed(user, host)
    return HostEdit(host, version, form)


def remove_host(user, host: Host) -> None:
    """Remove the host from vnetweb (nothing is changed on it) and tell the workers."""
    with transaction.atomic():
        host_id = host.pk
        # The entry keeps the host's name: its history (jobs aside) outlives it.
        audit.record(user, "host-delete", host=host, before=audit.settings_text(host))
        host.delete()
        transaction.on_commit(broadcast_sync)
        live.publish(host_id)


@require_http_methods(["GET", "POST"])
def host_add(request: HttpRequest) -> HttpResponse:
    permissions.require_site_admin(request.user)
    form = HostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        host = add_host(request.user, form)
        messages.success(request, f"Host {host.name} added; a worker is checking it now.")
        return redirect(host)
    return render(request, "hosts/form.html", {"form": form, "host": None})


@require_http_methods(["GET", "POST"])
def host_edit(request: HttpRequest, name: str) -> HttpResponse:
    """The form carries the version of the settings it showed (networks.stale.hosts): a save
    from a page drawn before another admin's save is refused (409), saying what changed."""
    host = permissions.get_host(request.user, name)
    permissions.require_site_admin(request.user)
    if request.method != "POST":
        version = host_versions.host_version(host)
        context = {"form": HostEditForm(instance=host), "host": host, "version": version}
        return render(request, "hosts/form.html", context)
    edit = edit_host(request.user, host, request.POST, request.POST.get("version", ""))
    context = {"form": edit.form, "host": edit.host, "version": edit.version}
    if edit.stale:
        # As if loaded again: the current settings, what changed, and what was typed.
        context["stale"] = f"{edit.stale} {host_versions.typed(request.POST)}"
        return render(request, "hosts/form.html", context, status=409)
    if edit.saved:
        messages.success(request, f"Host {edit.host.name} saved; a worker is checking it now.")
        return redirect(edit.host)
    return render(request, "hosts/form.html", context)


@require_http_methods(["GET", "POST"])
def host_delete(request: HttpRequest, name: str) -> HttpResponse:
    host = permissions.get_host(request.user, name)
    permissions.require_site_admin(request.user)
    if request.method == "POST":
        remove_host(request.user, host)
        messages.success(request, f"Host {name} removed from vnetweb; nothing was changed on it.")
        return redirect("host-list")
    return render(request, "hosts/delete.html", {"host": host})


@require_POST
def host_probe(request: HttpRequest, name: str) -> HttpResponse:
    host = permissions.get_host(request.user, name)
    permissions.require_operate(request.user, host)
    create_job(request.user, host, Op.PROBE)
    messages.info(request, f"Checking {host.name}…")
    return redirect(host)
