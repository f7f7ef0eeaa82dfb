"""The live-update stream: one server-sent-events connection per open page.

Served by an async view under ASGI (`make run`: gunicorn with uvicorn workers), an open page costs
no request thread: it waits on its Redis pub/sub subscription. Each message names the host, the
networks and the jobs that changed (networks.live); the page's script (static/vnetweb/live.js)
re-fetches the parts of the page that show them. Under a WSGI server (Django's test server) the
same stream is served from a thread, with a blocking subscription.
"""

import json
import time
from collections.abc import AsyncIterator, Iterator

import redis
import redis.asyncio
from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from networks import live, permissions

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


REDIS_DOWN = (redis.RedisError, OSError)


def _watching(request: HttpRequest) -> list[int]:
    """The networks whose page this is (?watch=12): their counters are sampled while it is open."""
    ids = request.GET.get("watch", "").split(",")
    return [int(value) for value in ids if value.isdigit()][:MAX_WATCHED]


MAX_WATCHED = 20


class _Watch:
    """Says "someone looks at these networks" again before the last saying runs out."""

    def __init__(self, network_ids: list[int]) -> None:
        self.ids, self.next = network_ids, 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if not self.ids or now < self.next:
            return False
        self.next = now + live.KEEPALIVE_SECONDS
        return True


async def _stream(visible: Visible, watching: list[int]) -> AsyncIterator[str]:
    client = redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    watch = _Watch(watching)
    try:
        await pubsub.subscribe(live.channel())
        yield HELLO
        while True:
            if watch.due():
                await sync_to_async(live.watch)(watch.ids)
            if visible.due():
                await sync_to_async(visible.refresh)()
            message = await pubsub.get_message(timeout=live.KEEPALIVE_SECONDS)
            if frame := _frame(message, visible):
                yield frame
    except REDIS_DOWN:
        yield UNAVAILABLE
    finally:
        # Also when the browser goes away: Django cancels the stream and this runs.
        await pubsub.aclose()
        await client.aclose()


def _blocking_stream(visible: Visible, watching: list[int]) -> Iterator[str]:
    """The same for a WSGI server (Django's test server): a thread waits on the subscription."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    watch = _Watch(watching)
    try:
        pubsub.subscribe(live.channel())
        yield HELLO
        while True:
            if watch.due():
                live.watch(watch.ids)
            if visible.due():
                visible.refresh()
            if frame := _frame(pubsub.get_message(timeout=live.KEEPALIVE_SECONDS), visible):
                yield frame
    except REDIS_DOWN:
        yield UNAVAILABLE
    finally:
        pubsub.close()
        client.close()


@require_GET
async def events(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    visible = Visible(user)
    await sync_to_async(visible.refresh)()
    wsgi = "wsgi.version" in request.META
    watching = _watching(request)
    stream = _blocking_stream(visible, watching) if wsgi else _stream(visible, watching)
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def render_live(
    request: HttpRequest, template: str, live_template: str, context: dict, target: str
) -> HttpResponse:
    """A page whose element #`target` updates itself: htmx requests aimed at it (a live refresh,
    a filter being typed) get just that part; everything else gets the whole page."""
    htmx = request.htmx
    partial = htmx and htmx.target == target and not htmx.history_restore_request
    response = render(request, live_template if partial else template, context)
    response["Vary"] = "HX-Request, HX-Target"
    return response
