"""New switch from the networks list: which host first, when the person may create on several."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from networks import permissions


@require_GET
def switch_new(request: HttpRequest) -> HttpResponse:
    if not permissions.may_create_switches(request.user):
        raise PermissionDenied("Only admins of a host may create switches.")
    hosts = list(permissions.hosts_to_create_on(request.user).order_by("name"))
    if len(hosts) == 1:
        return redirect("switch-create", hosts[0].name)
    can_add_host = permissions.is_site_admin(request.user)
    return render(
        request, "networks/new_switch.html", {"hosts": hosts, "can_add_host": can_add_host}
    )
