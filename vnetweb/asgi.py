"""The web server's entry point: `make run` and the container serve it with uvicorn workers.

Two kinds of request share it:
- the live-update stream (networks.live.EVENTS_PATH): an async Django view, served by Django's
  ASGI handler, that waits on Redis pub/sub, so an open page costs no thread; the API's job
  asked for with `?wait=` (networks.api.jobs) is served by that handler too, which gives it a
  thread of its own while it waits: it holds none of the pages' threads;
- everything else: Django's ordinary synchronous views, through Django's WSGI handler on a pool of
  VNETWEB_WEB_THREADS threads per process, bridged by a2wsgi's WSGIMiddleware. Django's ASGI
  handler could run them too, but it gives every request a thread of its own for its synchronous
  code (asgiref's ThreadSensitiveContext): /healthz/ took 8.9 ms that way on the 2-core test
  machine, 3.8 ms through a2wsgi and 2.2 ms under gunicorn's threaded WSGI server. a2wsgi replaced
  a hand-written bridge that handed a request over once and its answer back once: on the list page
  (100 networks, logged in) they are within 1 % of each other (13.47 against 13.61 ms median,
  15.13 against 15.02 ms in a second run), /healthz/ within 0.1 ms (bench/asgi_bridge.py, both
  servers asked in turn).

Neither uvicorn, a2wsgi nor Django's ASGI handler bounds a request's body: `bounded` does, for
both kinds, before the body reaches them."""

import os
import re
import signal
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")

from a2wsgi import WSGIMiddleware
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from networks.live import EVENTS_PATH


def _leave_when_orphaned(interval: float = 1.0) -> None:
    """A gunicorn worker whose master died shuts down.

    gunicorn's own worker classes check for that; uvicorn's does not, so after `make run`'s
    supervisord restarts a killed master, the old workers would go on serving the port beside the
    new ones (--reuse-port). SIGTERM is uvicorn's graceful shutdown.
    """
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


if "gunicorn" in os.path.basename(sys.argv[0]):
    _leave_when_orphaned()


async def read_body(scope, receive) -> bytes | None:
    """The request's body, or None as soon as it is longer than VNETWEB_MAX_REQUEST_BYTES: a
    Content-Length over the limit is refused before anything is read, a chunked body once the
    bytes received pass it. Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE) applies only once
    the whole body is in memory."""
    limit = settings.VNETWEB_MAX_REQUEST_BYTES
    for name, value in scope["headers"]:
        if name == b"content-length" and (not value.isdigit() or int(value) > limit):
            return None
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return bytes(body)


async def too_large(send) -> None:
    text = f"Request body too large: at most {settings.VNETWEB_MAX_REQUEST_BYTES} bytes.\n"
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


def replay(body: bytes, receive):
    """A `receive` that gives the body already read, then passes on what comes after it (the
    client going away)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def again():
        return pending.pop() if pending else await receive()

    return again


def bounded(app):
    """`app` behind the body limit: it gets the body once it is known to be within it."""

    async def bounded_app(scope, receive, send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        body = await read_body(scope, receive)
        if body is None:
            await too_large(send)
        else:
            await app(scope, replay(body, receive), send)

    return bounded_app


streams = bounded(get_asgi_application())
wsgi_pages = WSGIMiddleware(get_wsgi_application(), workers=settings.VNETWEB_WEB_THREADS)
pages = bounded(wsgi_pages)


# An API job asked for with ?wait= (networks.api.jobs): it waits in a thread of its own, not the
# pages'.
WAITED_JOB = re.compile(r"/api/v1/jobs/\d+/\Z")


def _async(scope) -> bool:
    path = scope["path"]
    return path == EVENTS_PATH or (
        WAITED_JOB.match(path) is not None and b"wait=" in scope.get("query_string", b"")
    )


async def application(scope, receive, send):
    if scope["type"] == "http" and _async(scope):
        await streams(scope, receive, send)
    else:
        await pages(scope, receive, send)
