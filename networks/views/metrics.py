"""`/metrics`: the fleet in Prometheus' text format (networks.pages.metrics), for a scraper that
sends an API token (`Authorization: Bearer vnw_…`, any user's, read-only is enough) or asks from
an address of VNETWEB_METRICS_ALLOW. Anyone else is told in words what to send (401).

It shows every host and network whatever the token's user may see: a monitoring system watches
the whole fleet, and a token is only given to someone the site trusts. A wrong key counts towards
the same brake as the API's (networks.tokens): too many from one address are refused (429).
"""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import choose_encoder

from networks import tokens
from networks.pages.metrics import registry
from vnetweb.proxy import address_in, client_address

ASK = (
    "Send an API token (Authorization: Bearer vnw_…, made on the API tokens page), "
    "or scrape from an address listed in VNETWEB_METRICS_ALLOW.\n"
)


def _refused(status: int, words: str, **headers: str) -> HttpResponse:
    return HttpResponse(
        words, status=status, content_type="text/plain; charset=utf-8", headers=headers
    )


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Why the request is refused, or None when it may have the metrics."""
    address = client_address(request)
    if address_in(address, settings.VNETWEB_METRICS_ALLOW):
        return None
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return _refused(401, ASK, **{"WWW-Authenticate": 'Bearer realm="vnetweb"'})
    try:
        token = tokens.check(key.strip(), address)
    except tokens.TooManyFailures as exc:
        return _refused(429, f"{exc}\n", **{"Retry-After": str(tokens.retry_after())})
    if token is None:
        words = "That token is not valid: unknown, revoked or expired.\n" + ASK
        return _refused(401, words, **{"WWW-Authenticate": 'Bearer realm="vnetweb"'})
    return None


@login_not_required
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if refused := _refusal(request):
        return refused
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    return HttpResponse(encoder(registry()), content_type=content_type)
