"""Permissions-Policy: the pages use no camera, microphone, location or other powerful feature, so
the browser may refuse them to anything that gets into a page. (Django sets the other security
headers itself; django-csp the Content Security Policy.)"""

from django.http import HttpRequest, HttpResponse

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


class PermissionsPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", POLICY)
        return response
