"""The API as one object: its routers, its error answers, its URLs.

The site's LoginRequiredMiddleware would send an API client to the login page: the API's views
are marked `login_not_required` here, and ninja's auth (networks.api.auth) answers 401 instead.
"""

import functools

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from networks.api import audit as audit_api
from networks.api import auth, errors, links
from networks.api import forwards as forwards_api
from networks.api import guests as guests_api
from networks.api import hosts as hosts_api
from networks.api import jobs as jobs_api
from networks.api import leases as leases_api
from networks.api import networks as networks_api
from networks.api import switches as switches_api
from networks.api import users as users_api


class _Api(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return links.with_links(super().get_openapi_schema(*args, **kwargs))


api = _Api(
    title="vnetweb",
    version="1",
    description=(
        "libvirt virtual networks on many hosts. Changes are jobs: they answer 202 with the job; "
        "`?wait=N` waits up to N seconds for it to end. See docs/api.md for examples."
    ),
    auth=auth.AUTH,
    urls_namespace="api-v1",
    openapi_url="/schema/",
    docs_url="/docs/",
)
errors.install(api)
api.add_router("/networks/", networks_api.router, tags=["networks"])
api.add_router("/jobs/", jobs_api.router, tags=["jobs"])
api.add_router("/networks/", switches_api.router, tags=["switches"])
api.add_router("/hosts/", hosts_api.router, tags=["hosts"])
api.add_router("/audit/", audit_api.router, tags=["audit"])
api.add_router("/users/", users_api.router, tags=["users"])
api.add_router("/networks/", leases_api.network_router, tags=["leases"])
api.add_router("/leases/", leases_api.router, tags=["leases"])
api.add_router("/hosts/", guests_api.router, tags=["guests"])
api.add_router("/networks/", forwards_api.router, tags=["forwards"])


def _nul_refusal(request: HttpRequest, kwargs: dict) -> JsonResponse | None:
    """A name in the path with a NUL character in it names nothing (PostgreSQL refuses such a
    string outright: the query would fail, a 500), and one in the query string is a field error.
    Bodies are typed: their text fields say so themselves (see leases.Text)."""
    if any("\x00" in str(value) for value in kwargs.values()):
        return JsonResponse({"detail": "No such resource in the API."}, status=404)
    if fields := [key for key, value in request.GET.lists() if "\x00" in "".join(value)]:
        errors = {key: ["A NUL character is not allowed here."] for key in fields}
        return JsonResponse({"detail": "The request has errors.", "errors": errors}, status=422)
    return None


def _no_nul(view):
    if iscoroutinefunction(view):

        @functools.wraps(view)
        async def checked_async(request: HttpRequest, *args, **kwargs):
            return _nul_refusal(request, kwargs) or await view(request, *args, **kwargs)

        return markcoroutinefunction(checked_async)

    @functools.wraps(view)
    def checked(request: HttpRequest, *args, **kwargs):
        return _nul_refusal(request, kwargs) or view(request, *args, **kwargs)

    return checked


def _open(patterns: list) -> list:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _open(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(_no_nul(pattern.callback))
    return patterns


@csrf_exempt  # it changes nothing; Django's CSRF refusal would be an HTML page
@login_not_required
def unknown(request: HttpRequest, rest: str) -> JsonResponse:
    """Any other path under the API: a JSON 404 (a name that no path converter takes, such as
    a host name with a space, would otherwise get the site's HTML page)."""
    return JsonResponse({"detail": "No such resource in the API."}, status=404)


def urls() -> tuple:
    patterns, app_name, namespace = api.urls
    # Any character, a newline too (path converters stop at one).
    return [*_open(patterns), re_path(r"^(?P<rest>[\s\S]*)\Z", unknown)], app_name, namespace
