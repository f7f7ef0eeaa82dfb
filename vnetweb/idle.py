"""Sessions that end after a time without activity, without a session write on every request.

Django counts SESSION_COOKIE_AGE from the session's last save. SESSION_SAVE_EVERY_REQUEST would
save it on every request, and an open page makes many by itself (its live-update stream, and the
parts of the page that stream has re-fetched). Here a request the user made saves the session at
most once a minute, so it ends between SESSION_COOKIE_AGE minus a minute and SESSION_COOKIE_AGE
after the user's last click; the page's own refreshes (networks.live.EVENTS_PATH, and the
fetches of static/vnetweb/live.js, which say `X-Live-Refresh`) do not keep it going.
"""

import time

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

from networks.live import EVENTS_PATH

SEEN = "vnetweb_seen"
SAVE_EVERY = 60  # seconds


def by_the_user(request: HttpRequest) -> bool:
    return request.path != EVENTS_PATH and "HTTP_X_LIVE_REFRESH" not in request.META


def note_login(sender, request, user, **kwargs) -> None:
    """A login is activity, saved with the new session: the next minute's requests write none."""
    if hasattr(request, "session"):
        request.session[SEEN] = int(time.time())


class SessionActivityMiddleware(MiddlewareMixin):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # After the view: a login has just made the session, a logout has just flushed it.
        if not by_the_user(request):
            return response
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            if now - request.session.get(SEEN, 0) >= SAVE_EVERY:
                request.session[SEEN] = now  # saved by SessionMiddleware, expiry renewed
        return response
