"""The API as one object: its routers, its error answers, its URLs.

The site's LoginRequiredMiddleware would send an API client to the login page: the API's views
are marked `login_not_required` here, and ninja's auth (networks.api.auth) answers 401 instead.
"""

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI

from networks.api import auth, errors
from networks.api import guests as guests_api
from networks.api import jobs as jobs_api
from networks.api import leases as leases_api
from networks.api import networks as networks_api

api = NinjaAPI(
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
api.add_router("/networks/", leases_api.network_router, tags=["leases"])
api.add_router("/leases/", leases_api.router, tags=["leases"])
api.add_router("/hosts/", guests_api.router, tags=["guests"])


def _open(patterns: list) -> list:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _open(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(pattern.callback)
    return patterns


def urls() -> tuple:
    patterns, app_name, namespace = api.urls
    return _open(patterns), app_name, namespace
