"""Deleting a switch (admins): stop and undefine, after a confirmation that names its guests."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from networks import permissions
from networks.jobs import create_job
from networks.operations import Op


@require_http_methods(["GET", "POST"])
def switch_delete(request: HttpRequest, host: str, name: str) -> HttpResponse:
    network = permissions.get_network(request.user, host, name)
    permissions.require_administer(request.user, network)
    guests = list(network.guests or [])
    if request.method == "POST":
        create_job(request.user, network.host, Op.UNDEFINE, network=network)
        messages.info(request, f"Deleting {network.name} from {network.host.name}…")
        return redirect(network.host)
    context = {
        "network": network,
        "running_guests": [g for g in guests if g.get("running")],
        "other_guests": [g for g in guests if not g.get("running")],
    }
    return render(request, "networks/delete.html", context)
