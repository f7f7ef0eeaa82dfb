"""The login page's answer to a locked-out login (django-axes' AXES_LOCKOUT_CALLABLE): the same
page, saying in words why and for how long, with HTTP 429."""

import math

from axes.helpers import get_cool_off
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    # The cool-off, counted from the last failure that locked (refused tries do not restart it):
    # at most this long.
    minutes = math.ceil(get_cool_off(request).total_seconds() / 60)
    context = {
        "form": AuthenticationForm(request),
        "next": request.POST.get("next", ""),
        "locked_out": (
            "Too many failed logins for this account or address: "
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}."
        ),
    }
    return render(request, "registration/login.html", context, status=429)
