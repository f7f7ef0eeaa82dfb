"""The web server's entry point: `make run` and the container serve it with uvicorn workers.

Two kinds of request share it:
- the live-update stream (networks.live.EVENTS_PATH): an async Django view that waits on Redis
  pub/sub, so an open page costs no thread;
- everything else: Django's ordinary synchronous views, run through its WSGI handler on one thread
  pool per process, with one hand-off per request (`Pages`). Django's ASGI handler could run them
  too, but it gives every request a thread of its own for its synchronous code (asgiref's
  ThreadSensitiveContext): /healthz/ took 8.9 ms that way on the 2-core test machine, 3.8 ms
  through a2wsgi's bridge (which hands each message across threads separately) and 2.2 ms under
  gunicorn's threaded WSGI server; `Pages` hands a request over once and its answer back once.
  Two threads a process by default: pages are CPU-bound, and more threads only contend for the GIL.
"""

import os
import signal
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor

from a2wsgi.wsgi import build_environ
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

from networks.live import EVENTS_PATH

PAGE_THREADS = int(os.environ.get("VNETWEB_WEB_THREADS", "2"))


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
    bytes received pass it. Neither uvicorn nor a2wsgi limits a body, and Django's own limit
    (DATA_UPLOAD_MAX_MEMORY_SIZE) applies only once the whole body is in memory."""
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


class Pages:
    """A WSGI application served to ASGI: the request body is read on the event loop, the whole
    response is made in a thread of the pool, then sent. vnetweb's pages and static files are
    small and never streamed (the event stream does not come here)."""

    def __init__(self, app, threads: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="pages")

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http":
            body = await read_body(scope, receive)
            if body is None:
                await too_large(send)
            else:
                await self.answer(scope, body, send)

    async def answer(self, scope, body: bytes, send) -> None:
        loop = asyncio.get_running_loop()
        status, headers, content = await loop.run_in_executor(self.pool, self.run, scope, body)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def run(self, scope, body: bytes) -> tuple[int, list, bytes]:
        answer = {}

        def start_response(status: str, headers: list, exc_info=None) -> None:
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = [
                (k.lower().encode("latin1"), v.encode("latin1")) for k, v in headers
            ]

        iterable = self.app(build_environ(scope, io.BytesIO(body)), start_response)
        try:
            content = b"".join(iterable)
        finally:
            if hasattr(iterable, "close"):
                iterable.close()
        return answer["status"], answer["headers"], content


streams = get_asgi_application()
pages = Pages(get_wsgi_application(), threads=PAGE_THREADS)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
        # Django's ASGI handler would spool any body to disk first: the same limit applies.
        body = await read_body(scope, receive)
        if body is None:
            await too_large(send)
        else:
            await streams(scope, replay(body, receive), send)
    else:
        await pages(scope, receive, send)
