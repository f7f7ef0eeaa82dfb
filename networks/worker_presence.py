"""Which workers are alive and which hosts they serve, announced in Redis for the web and beat.

A job's message waits in its host's Redis list until a worker reads it; with no worker serving the
host it would wait, and the job stay "queued", forever. So every worker process keeps an
announcement in the hash `vnetweb:workers` (field: its node name, e.g. hosts@kvm1; value: JSON
with the host queues its consumer reads now, its host patterns and the time it is valid until).

A thread refreshes it every EVERY seconds: the solo pool runs a job in the main thread, and a
worker busy with a long job must not look dead. The worker removes it when it shuts down; the
announcement of a killed worker runs out VALID seconds after its last refresh (supervisord brings
a killed worker back well within that, so a restart does not fail the jobs asked for meanwhile).

The web asks `serving(queue)` before queuing a job (networks.jobs), beat's `fail_unserved_jobs`
(networks.tasks) for jobs already queued. Each is one Redis round trip.
"""

import json
import logging
import threading
import time
from functools import lru_cache

import redis
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from networks import worker_queues

log = logging.getLogger(__name__)

KEY = "vnetweb:workers"
EVERY = 5.0
# Three refreshes: a worker whose Redis was slow once or twice still counts as alive.
VALID = 15.0

_stop = threading.Event()
_thread: threading.Thread | None = None


@lru_cache
def _redis(url: str) -> redis.Redis:
    # Short timeouts: the web asks during a request, which an unreachable Redis must not hang.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def _client() -> redis.Redis:
    return _redis(settings.REDIS_URL)


def announcement(consumer) -> dict:
    """What this worker serves now: the host queues its consumer reads, and its host patterns.

    The patterns count too (see `takes`): a host just added is served by a worker whose patterns
    take it before that worker has subscribed to its queue. The web asks workers to re-read their
    hosts only once the request that added the host commits, and that request already queues the
    host's first check.
    """
    task_consumer = consumer.task_consumer  # None while the consumer reconnects to Redis
    queues = [queue.name for queue in task_consumer.queues] if task_consumer is not None else []
    include, exclude = worker_queues.patterns()
    return {
        "queues": sorted(name for name in queues if name.startswith("host.")),
        "hosts": include,
        "exclude": exclude,
        "until": time.time() + VALID,
    }


def _read(raw: bytes) -> dict | None:
    """An announcement, or None for one that this release cannot read (it counts as dead)."""
    try:
        entry = json.loads(raw)
    except ValueError:
        return None
    fields = {"queues", "hosts", "exclude", "until"}
    return entry if isinstance(entry, dict) and fields <= entry.keys() else None


def _alive(entry: dict | None, now: float) -> bool:
    return entry is not None and entry["until"] > now


def announce(name: str, entry: dict) -> None:
    """Write this worker's announcement, and drop those of workers that died without a word."""
    client = _client()
    with client.pipeline() as pipe:
        pipe.hset(KEY, name, json.dumps(entry))
        pipe.hgetall(KEY)
        _, entries = pipe.execute()
    now = time.time()
    dead = [field for field, raw in entries.items() if not _alive(_read(raw), now)]
    if dead:
        client.hdel(KEY, *dead)


def live() -> dict[str, dict] | None:
    """The announcements of the workers alive now, by node name; None when Redis is away."""
    try:
        entries = _client().hgetall(KEY)
    except redis.RedisError as exc:
        log.warning("cannot tell which workers are alive: %s", exc)
        return None
    now = time.time()
    workers = {field.decode(): _read(raw) for field, raw in entries.items()}
    return {name: entry for name, entry in workers.items() if _alive(entry, now)}


def takes(entry: dict, queue: str) -> bool:
    """Whether the worker of this announcement serves `queue`, now or after its next re-read."""
    host = queue.removeprefix("host.")
    return queue in entry["queues"] or worker_queues.matches(host, entry["hosts"], entry["exclude"])


def serving(queue: str) -> bool | None:
    """Whether some live worker serves `queue`; None when that cannot be told (Redis away)."""
    workers = live()
    return None if workers is None else any(takes(entry, queue) for entry in workers.values())


def unserved_message(host, *, any_more: bool = False) -> str:
    """A job's message when no worker serves its host: what happened and what to do."""
    when = " any more: its worker stopped before running it, so" if any_more else ":"
    return (
        f"No worker serves host {host.name} (queue {host.queue}){when} nothing was done. "
        "Start a worker for it (make run starts one for every host; see docs/deployment.md) "
        "and try again."
    )


@worker_ready.connect
def _start_announcing(sender, **_kwargs) -> None:
    global _thread
    consumer, name = sender, sender.hostname

    def loop() -> None:
        while True:
            try:
                announce(name, announcement(consumer))
            except Exception as exc:  # Redis away: the next round tries again
                log.warning("worker %s could not announce itself: %s", name, exc)
            if _stop.wait(EVERY):
                return

    _stop.clear()
    _thread = threading.Thread(target=loop, name="vnetweb-presence", daemon=True)
    _thread.start()


@worker_shutdown.connect
def _withdraw(sender, **_kwargs) -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(5)  # so that no last refresh lands after the removal
    try:
        _client().hdel(KEY, sender.hostname)
    except redis.RedisError as exc:
        log.warning("worker %s could not withdraw its announcement: %s", sender.hostname, exc)
