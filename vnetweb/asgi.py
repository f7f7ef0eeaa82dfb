"""The web server's entry point: `make run` and the container serve it with uvicorn workers.

Two kinds of request share it:
- the live-update stream (networks.live.EVENTS_PATH): an async Django view that waits on Redis
  pub/sub, so an open page costs no thread;
- everything else: Django's ordinary synchronous views, run through its WSGI handler on one thread
  pool per process (a2wsgi). Django's ASGI handler could run them too, but it gives every request
  a thread of its own for its synchronous code (asgiref's ThreadSensitiveContext): /healthz/ took
  8.9 ms that way on the 2-core test machine, 3.8 ms this way (gunicorn's threaded WSGI: 2.2 ms).
  Two threads a process by default: pages are CPU-bound, and more threads only contend for the GIL.
"""

import os
import signal
import sys
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")

from a2wsgi import WSGIMiddleware
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

streams = get_asgi_application()
pages = WSGIMiddleware(get_wsgi_application(), workers=PAGE_THREADS)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == EVENTS_PATH:
        await streams(scope, receive, send)
    else:
        await pages(scope, receive, send)
