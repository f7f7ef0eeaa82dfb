"""The live-update stream: one server-sent-events connection per open page.

Served by an async view under ASGI (`make run`: gunicorn with uvicorn workers), an open page costs
no request thread: it waits on its Redis pub/sub subscription. Each message names the host, the
networks and the jobs that changed (networks.live); the page's script (static/vnetweb/live.js)
re-fetches the parts of the page that show them. Under a WSGI server (Django's test server) the
same stream is served from a thread, with a blocking subscription.

Each holds a Redis connection: a user may keep VNETWEB_LIVE_STREAMS_PER_USER open (one more gets
429, its page says it is not live). Every Visible.REFRESH a stream looks again at its session and
ends once its user logged out or was deactivated; `?watch=` names only networks the user sees.
"""

import json
import time
from collections.abc import AsyncIterator, Iterator
from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from networks import live, permissions, redis_client

HELLO = "retry: 2000\nevent: hello\ndata: {}\n\n"
# Redis is down: the page says so, and the browser tries again in 5 s.
UNAVAILABLE = "retry: 5000\nevent: unavailable\ndata: {}\n\n"
KEEPALIVE = ": keepalive\n\n"


class Visible:
    """What this stream's user may hear of, worked out once and again every REFRESH seconds (a
    grant given or taken while the page is open). `whole`: the hosts seen whole, None for all;
    `networks`: the networks seen on other hosts."""

    REFRESH = 30.0

    def __init__(self, user) -> None:
        self.user, self.next = user, 0.0
        self.whole: set[int] | None = set()
        self.networks: set[int] = set()

    def due(self) -> bool:
        return time.monotonic() >= self.next

    def refresh(self) -> None:
        # A fresh look at the grants, not the ones cached on the user object.
        for cached in ("_vnetweb_role", "_vnetweb_grants"):
            self.user.__dict__.pop(cached, None)
        whole, networks = permissions.visible_network_ids(self.user)
        self.whole, self.networks = whole, networks or set()
        self.next = time.monotonic() + self.REFRESH

    def filter(self, change: dict) -> dict | None:
        """The change as this user may see it, or None: on a host seen only through network
        grants, only those networks (and a change naming none of them is not sent)."""
        if self.whole is None or change.get("host") in self.whole:
            return change
        named = change.get("networks") or []
        seen = [pk for pk in named if pk in self.networks]
        if not seen:
            return None
        # Jobs only when every network named is seen: they are then about those networks.
        jobs = change.get("jobs", []) if len(seen) == len(named) else []
        return {**change, "networks": seen, "jobs": jobs}


def _frame(message: dict | None, visible: Visible) -> str:
    """What the stream sends for a pub/sub message: the change, or nothing the user may not see;
    no message within the keep-alive time: a comment line."""
    if message is None:
        return KEEPALIVE
    change = visible.filter(json.loads(message["data"]))
    if change is None:
        return ""
    return f"event: change\ndata: {json.dumps(change)}\n\n"


def _watching(request: HttpRequest) -> list[int]:
    """The networks whose page this is (?watch=12): their counters are sampled while it is open."""
    ids = request.GET.get("watch", "").split(",")
    return [int(value) for value in ids if value.isdigit()][:MAX_WATCHED]


MAX_WATCHED = 20


def _may_watch(user, ids: list[int]) -> list[int]:
    """Of these networks, those the user sees (for a user who sees every network, a number that
    names none costs nothing: no network, no sampling)."""
    if not ids or permissions.networks_q(user) is None:
        return ids
    seen = set(permissions.visible_networks(user).filter(pk__in=ids).values_list("pk", flat=True))
    return [pk for pk in ids if pk in seen]


def _session_user(session_key: str | None):
    """The user the stream's session still belongs to: None once it logged out, was deactivated,
    got a new password or its session ran out (Django's own check of a request's session)."""
    if not session_key:
        return None
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=session))
    return user if user.is_authenticated else None


class Stream:
    """One open stream's bookkeeping: its place among its user's streams (networks.live), the
    networks it says someone looks at, and every REFRESH a fresh look at its user: whether the
    session still holds, what it may see and watch."""

    def __init__(self, visible: Visible, session_key: str | None, asked: list[int], place: str):
        self.visible, self.session_key, self.asked, self.place = visible, session_key, asked, place
        self.watching: list[int] = []
        self.beat = 0.0

    def due(self) -> bool:
        return self.visible.due() or time.monotonic() >= self.beat

    def tick(self) -> bool:
        """Do what is due; False when the stream must end, its user gone."""
        if self.visible.due():
            user = _session_user(self.session_key)
            if user is None or user.pk != self.visible.user.pk:
                return False
            self.visible.user = user
            self.visible.refresh()
            self.watching = _may_watch(user, self.asked)
        if time.monotonic() >= self.beat:
            self.beat = time.monotonic() + live.KEEPALIVE_SECONDS
            live.keep_stream(self.visible.user.pk, self.place)
            if self.watching:
                live.watch(self.watching)
        return True

    def close(self) -> None:
        live.close_stream(self.visible.user.pk, self.place)


async def _stream(state: Stream) -> AsyncIterator[str]:
    client = redis_client.async_subscriber()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        await pubsub.subscribe(live.channel())
        yield HELLO
        while not state.due() or await sync_to_async(state.tick)():
            message = await pubsub.get_message(timeout=live.KEEPALIVE_SECONDS)
            if frame := _frame(message, state.visible):
                yield frame
    except redis_client.REDIS_DOWN:
        yield UNAVAILABLE
    finally:
        # Also when the browser goes away: Django cancels the stream and this runs.
        await pubsub.aclose()
        await client.aclose()
        await sync_to_async(state.close)()


def _blocking_stream(state: Stream) -> Iterator[str]:
    """The same for a WSGI server (Django's test server): a thread waits on the subscription."""
    client = redis_client.subscriber()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(live.channel())
        yield HELLO
        while not state.due() or state.tick():
            message = pubsub.get_message(timeout=live.KEEPALIVE_SECONDS)
            if frame := _frame(message, state.visible):
                yield frame
    except redis_client.REDIS_DOWN:
        yield UNAVAILABLE
    finally:
        pubsub.close()
        client.close()
        state.close()


TOO_MANY = "Too many live pages open: at most {limit} for one user. Close some, then reload.\n"


@require_GET
async def events(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    place = await sync_to_async(live.open_stream)(user.pk)
    if place is None:
        limit = settings.VNETWEB_LIVE_STREAMS_PER_USER
        return HttpResponse(TOO_MANY.format(limit=limit), status=429, content_type="text/plain")
    state = Stream(Visible(user), request.session.session_key, _watching(request), place)
    if not await sync_to_async(state.tick)():
        await sync_to_async(state.close)()
        return HttpResponse(status=204)
    wsgi = "wsgi.version" in request.META
    stream = _blocking_stream(state) if wsgi else _stream(state)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def is_fragment(request: HttpRequest) -> bool:
    """Whether this request asks for a live part alone: any htmx request (a live refresh, a filter
    being typed, a sort link), except htmx restoring a page from history, which needs it whole."""
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request


def by_the_page(request: HttpRequest) -> bool:
    """Whether the page asked by itself (static/vnetweb/live.js, on the live channel), not the
    user: such a request moves no address bar and keeps no session going (vnetweb/idle.py)."""
    return "HTTP_X_LIVE_REFRESH" in request.META


def render_live(
    request: HttpRequest, template: str, live_template: str, context: dict
) -> HttpResponse:
    """A page with one live part, whose URL is the page's own: an htmx request for it gets the
    part (`live_template`, which the page's template includes), everything else the whole page."""
    response = render(request, live_template if is_fragment(request) else template, context)
    response["Vary"] = "HX-Request"
    return response
