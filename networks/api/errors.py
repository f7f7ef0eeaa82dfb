"""How the API refuses: always JSON with a `detail` sentence, and field errors under `errors`
(keyed by the request's field, or by the spec's path such as `ips.0.dhcp_hosts.2`, with the
forms' own messages).

Views raise; `install` turns what they raise into answers: Django's Http404 and PermissionDenied
(from networks.permissions), ninja's own validation errors (a body that is not the schema's) and
the exceptions below.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from networks import tokens


class Error(Schema):
    detail: str


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class StaleOut(Schema):
    """An edit made on a definition that is no longer the saved one (412)."""

    detail: str
    version: str  # the current definition's version (send it as If-Match to edit that)
    changes: list[str]  # what changed since, by whom and when
    theirs: list[str]  # the difference from the version sent to the current one, as diff lines


class FieldErrors(Exception):
    """422: the request's values are refused, field by field (nothing was changed)."""

    def __init__(self, errors: dict[str, list[str]], detail: str = "") -> None:
        self.errors = {key or "__all__": list(messages) for key, messages in errors.items()}
        self.detail = detail or "The request has errors; nothing was changed."
        super().__init__(self.detail)

    @classmethod
    def of_form(cls, form) -> "FieldErrors":
        """A Django form's errors, with the messages the page shows."""
        return cls({field: [str(m) for m in messages] for field, messages in form.errors.items()})


class Conflict(Exception):
    """409: the change cannot be made in the state things are in (said in words)."""


class Stale(Exception):
    """412: the If-Match version is not the network's current definition."""

    def __init__(self, out: StaleOut) -> None:
        self.out = out
        super().__init__(out.detail)


# Error answers every endpoint may give (documented in the schema, so a client, and
# schemathesis, know them). Views add their own codes (202, 409, 412, 422).
# 400: a body that is not JSON at all.
COMMON = {400: Error, 401: Error, 403: Error, 404: Error, 422: FieldErrorsOut, 429: Error}


def responses(ok: dict, *extra: int) -> dict:
    """An endpoint's responses: `ok` ({200: Schema}) and the common errors, plus `extra` codes
    of the ones above (409 Conflict, 412 Stale, 428 precondition required)."""
    own = {409: Error, 412: StaleOut, 428: Error}
    return {**ok, **COMMON, **{code: own[code] for code in extra}}


def _field_of(loc) -> str:
    # ninja's location: ("body", "spec", "ips", 0, "address") -> "ips.0.address"
    parts = [str(part) for part in loc if part not in ("body", "query", "path", "header")]
    if parts and parts[0] in ("payload", "spec", "data", "filters"):
        parts = parts[1:]
    return ".".join(parts) or "__all__"


def install(api: NinjaAPI) -> None:
    def answer(request: HttpRequest, status: int, data: dict, **headers):
        response = api.create_response(request, data, status=status)
        for name, value in headers.items():
            response[name.replace("_", "-")] = value
        return response

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return answer(request, 404, {"detail": str(exc) or "Not found."})

    @api.exception_handler(PermissionDenied)
    def denied(request, exc):
        return answer(request, 403, {"detail": str(exc) or "Your role may not do this."})

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return answer(
            request,
            401,
            {"detail": "Log in, or send a token: Authorization: Bearer <token>."},
            WWW_Authenticate='Bearer realm="vnetweb"',
        )

    @api.exception_handler(NinjaValidationError)
    def invalid(request, exc):
        errors: dict[str, list[str]] = {}
        for error in exc.errors:
            errors.setdefault(_field_of(error.get("loc", ())), []).append(error.get("msg", ""))
        return answer(
            request,
            422,
            {"detail": "The request has errors; nothing was changed.", "errors": errors},
        )

    @api.exception_handler(FieldErrors)
    def field_errors(request, exc):
        return answer(request, 422, {"detail": exc.detail, "errors": exc.errors})

    @api.exception_handler(Conflict)
    def conflict(request, exc):
        return answer(request, 409, {"detail": str(exc)})

    @api.exception_handler(Stale)
    def stale(request, exc):
        return answer(request, 412, exc.out.dict(), ETag=f'"{exc.out.version}"')

    @api.exception_handler(tokens.TooManyFailures)
    def too_many(request, exc):
        return answer(request, 429, {"detail": str(exc)}, Retry_After=str(tokens.retry_after()))

    @api.exception_handler(HttpError)
    def http_error(request, exc):
        return answer(request, exc.status_code, {"detail": str(exc)})
