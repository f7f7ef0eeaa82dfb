"""The live-update stream: one server-sent-events connection per open page.

Served by an async view under ASGI (`make run`: gunicorn with uvicorn workers), an open page costs
no request thread and no Redis connection: it waits on a queue that the process's one pub/sub
subscription fills (Hub). Each message names the host, the networks and the jobs that changed
(networks.live); the page's script (static/vnetweb/live.js) re-fetches the parts of the page that
show them. Under a WSGI server (Django's test server) the same stream is served from a thread,
with a blocking subscription of its own.

A user may keep VNETWEB_LIVE_STREAMS_PER_USER open (one more gets 429, its page says it is not
live). Every Visible.REFRESH a stream looks again at its session and
ends once its user logged out or was deactivated; `?watch=` names only networks the user sees.
"""

import asyncio
import json
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from types import SimpleNamespace

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django.db import close_old_connections, connections
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


class Hub:
    """One Redis subscription per web process (per event loop), fanned out to its open streams:
    200 open pages cost the process one Redis connection, not 200.

    Each stream joins with a queue of its own. The subscription starts with the first stream and
    stays; when Redis goes away every stream hears DOWN and ends (its page says it is not live
    and reconnects), and the next stream to join subscribes again. A stream that falls
    QUEUE_LIMIT messages behind (a client that stopped reading) is told to end too: its page
    re-reads its live parts when it reconnects, so nothing is lost but that stream's backlog."""

    QUEUE_LIMIT = 1000
    DOWN = object()

    def __init__(self) -> None:
        self.queues: set[asyncio.Queue] = set()
        self.task: asyncio.Task | None = None
        self.ready: asyncio.Event | None = None

    async def join(self) -> asyncio.Queue | None:
        """A queue of the channel's messages from now on; None when Redis cannot be reached."""
        if self.task is None or self.task.done():
            self.ready = asyncio.Event()
            self.task = asyncio.get_running_loop().create_task(self._listen(self.ready))
        ready, task = self.ready, self.task
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not ready.is_set():
            return None  # the subscription failed
        queue: asyncio.Queue = asyncio.Queue(self.QUEUE_LIMIT)
        self.queues.add(queue)
        return queue

    def leave(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def _send(self, item) -> None:
        for queue in list(self.queues):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                self.queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(self.DOWN)

    async def _listen(self, ready: asyncio.Event) -> None:
        client = redis_client.async_subscriber()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(live.channel())
            ready.set()
            while True:
                message = await pubsub.get_message(timeout=live.KEEPALIVE_SECONDS)
                if message is not None:
                    self._send(message)
        except redis_client.REDIS_DOWN:
            pass
        finally:
            queues, self.queues = self.queues, set()
            for queue in queues:
                if queue.full():
                    queue.get_nowait()
                queue.put_nowait(self.DOWN)
            await pubsub.aclose()
            await client.aclose()


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This event loop's hub (a web process runs one loop; tests may run several)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found


async def _next(queue: asyncio.Queue):
    """The next message, Hub.DOWN, or None after a keep-alive's time without one."""
    try:
        return await asyncio.wait_for(queue.get(), live.KEEPALIVE_SECONDS)
    except TimeoutError:
        return None


# An open stream's synchronous work (its session and grants every Visible.REFRESH, its place in
# Redis every keep-alive) runs on these few threads, shared by every stream of the process. Run
# thread-sensitively, it would go to the request's own thread (Django's ASGI handler gives each
# request one), which lives, with its database connection, as long as the page stays open:
# bench/fleet.py counted 200 threads and 200 PostgreSQL connections for 200 open pages.
_STREAM_WORK = ThreadPoolExecutor(4, thread_name_prefix="vnetweb-streams")


def _pooled(function):
    def run(*args):
        close_old_connections()  # as a request would: a connection too old or broken goes
        return function(*args)

    return sync_to_async(run, thread_sensitive=False, executor=_STREAM_WORK)


async def _stream(state: Stream) -> AsyncIterator[str]:
    channel = hub()
    queue = None
    try:
        queue = await channel.join()
        if queue is None:
            yield UNAVAILABLE
            return
        yield HELLO
        while not state.due() or await _pooled(state.tick)():
            message = await _next(queue)
            if message is Hub.DOWN:
                yield UNAVAILABLE
                return
            if frame := _frame(message, state.visible):
                yield frame
    finally:
        # Also when the browser goes away: Django cancels the stream and this runs.
        if queue is not None:
            channel.leave(queue)
        await _pooled(state.close)()


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
    if not wsgi:
        # The request's thread (see _STREAM_WORK) keeps no database connection while the page
        # stays open.
        await sync_to_async(connections.close_all)()
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
