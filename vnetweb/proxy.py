"""Who may speak for a client: the site's reverse proxies, and only they.

Behind a proxy (VNETWEB_BEHIND_PROXY) the client's address comes from X-Forwarded-For and TLS from
X-Forwarded-Proto, but only on a connection from one of VNETWEB_TRUSTED_PROXIES: a client that
reaches the app port directly is taken at its connection's address, and the forwarded headers it
made up are dropped before any other middleware reads them. uvicorn's own reading of these headers
is off (gunicorn.conf.py: forwarded_allow_ips), so that this is the one judge.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin

from networks import audit

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")


def address_in(address: str | None, networks) -> bool:
    """Whether `address` is in one of `networks` (an IPv4-mapped IPv6 address as its IPv4 one;
    no address, or one that is not an address, is in none)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return any(ip in network for network in networks)


def from_trusted_proxy(request: HttpRequest) -> bool:
    if not settings.VNETWEB_BEHIND_PROXY:
        return False
    return address_in(request.META.get("REMOTE_ADDR", ""), settings.VNETWEB_TRUSTED_PROXIES)


class ForwardedHeadersMiddleware(MiddlewareMixin):
    # MiddlewareMixin: sync and async alike, so the live-update stream's async view stays async.
    def process_request(self, request: HttpRequest) -> None:
        if not from_trusted_proxy(request):
            for key in FORWARDED:
                request.META.pop(key, None)


def client_address(request) -> str | None:
    """The client's address: REMOTE_ADDR, or on a connection from the site's reverse proxy the
    address it forwarded (the last one, which the proxy itself appended)."""
    if from_trusted_proxy(request):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class AddressMiddleware:
    """Makes the client's address known to the audit trail while its request is served (and no
    API token's name until networks.api.auth has checked one)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        address = audit.request_address.set(client_address(request))
        token = audit.request_token.set("")
        try:
            return self.get_response(request)
        finally:
            audit.request_token.reset(token)
            audit.request_address.reset(address)
