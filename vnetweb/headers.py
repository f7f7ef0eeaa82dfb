"""Permissions-Policy: the pages use no camera, microphone, location or other powerful feature, so
the browser may refuse them to anything that gets into a page. (Django sets the other security
headers itself; django-csp the Content Security Policy.)"""

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "camera",
        "microphone",
        "geolocation",
        "payment",
        "usb",
        "serial",
        "bluetooth",
        "midi",
        "display-capture",
    )
)


class PermissionsPolicyMiddleware(MiddlewareMixin):
    # MiddlewareMixin: sync and async alike, so the live-update stream's async view stays async.
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response.setdefault("Permissions-Policy", POLICY)
        return response
