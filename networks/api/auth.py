"""Who asks: an API token (`Authorization: Bearer vnw_…`), or the browser's session (with its
CSRF token for changes, as the pages). A token acts as its user, with the user's roles; a
read-only token may only read. An address that keeps sending wrong tokens is refused (429) for
a while (networks.tokens), and every change asked with a token names it in the audit trail.
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from networks import audit, tokens
from vnetweb.proxy import client_address

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class TokenAuth(HttpBearer):
    openapi_description = "An API token made on the Tokens page: `Authorization: Bearer vnw_…`."

    def authenticate(self, request: HttpRequest, key: str):
        # Too many wrong keys from this address: tokens.TooManyFailures, a 429 (api.errors).
        token = tokens.check(key, client_address(request))
        if token is None:
            return None
        if token.read_only and request.method not in SAFE_METHODS:
            raise PermissionDenied(
                f"The token {token.name!r} is read-only; it may not change anything."
            )
        request.user = token.user
        audit.request_token.set(token.name)
        return token


# Tokens first: a script's token wins over a session cookie it may carry along.
AUTH = [TokenAuth(), django_auth]
