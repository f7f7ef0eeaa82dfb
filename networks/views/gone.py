"""Answers for a network that went away while its page was open."""

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse


def gone_is_empty(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For htmx requests of a network that no longer exists, answer an empty 200, not a 404.

    A transient network vanishes when stopped: the row whose Stop removed it is swapped for
    nothing instead of an error.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404:
            if request.htmx:
                return HttpResponse("")
            raise

    return wrapper
