"""gunicorn's settings for the web server, read from the working directory (the checkout, or /app
in the image) however it is started: `make run`, the container, the benchmarks. The command line
adds only what differs between them (the address, the log files)."""

import os

# ASGI with uvicorn's workers: a page's live-update stream waits on Redis without a thread; the
# ordinary pages run on a small thread pool in each worker (vnetweb/asgi.py).
worker_class = "uvicorn_worker.UvicornWorker"
# Pages are CPU-bound: one worker process per core.
workers = int(os.environ.get("VNETWEB_WEB_WORKERS", "2"))
# Open event streams are cut after this on shutdown; browsers reconnect to the next server.
graceful_timeout = 5
# Seconds an idle connection stays open. gunicorn's default (2) raced clients that pause a second
# or two between requests: 1 request in 400 failed with a closed connection in the load benchmark.
keepalive = 5
# uvicorn would otherwise rewrite the client's address and scheme from X-Forwarded-* headers of
# connections from 127.0.0.1, whatever VNETWEB_BEHIND_PROXY says: Django judges them instead, by
# VNETWEB_TRUSTED_PROXIES (vnetweb/proxy.py), so there is one rule and it is configured once.
forwarded_allow_ips = ""
