"""What the web and beat know of Celery workers: which are alive and which hosts they serve.

Each worker process announces itself in the Redis hash `vnetweb:workers` (networks.worker.presence
writes it: field, its node name, e.g. hosts@kvm1; value, JSON with the host queues its consumer
reads now, its host patterns and the time it is valid until). The announcement of a killed worker
runs out VALID seconds after its last refresh.

The web asks `serving(queue)` before queuing a job (networks.jobs), beat's `fail_unserved_jobs`
(networks.worker.tasks) for jobs already queued. Each is one Redis round trip. `broadcast_sync`
asks every worker to re-read its host list when the web adds, renames or removes a host.
"""

import fnmatch
import json
import logging
import time

import redis
from celery import current_app
from django.conf import settings

from networks.redis_client import client

log = logging.getLogger(__name__)

KEY = "vnetweb:workers"
EVERY = 5.0
# Three refreshes: a worker whose Redis was slow once or twice still counts as alive.
VALID = 15.0


def matches(name: str, include: list[str], exclude: list[str]) -> bool:
    """Whether a host called `name` is taken by these host name patterns."""
    return any(fnmatch.fnmatch(name, pat) for pat in include) and not any(
        fnmatch.fnmatch(name, pat) for pat in exclude
    )


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


def is_alive(raw: bytes, now: float) -> bool:
    """Whether an announcement as stored in Redis is readable and still valid at `now`."""
    return _alive(_read(raw), now)


def live() -> dict[str, dict] | None:
    """The announcements of the workers alive now, by node name; None when Redis is away."""
    try:
        entries = client().hgetall(KEY)
    except redis.RedisError as exc:
        log.warning("cannot tell which workers are alive: %s", exc)
        return None
    now = time.time()
    workers = {field.decode(): _read(raw) for field, raw in entries.items()}
    return {name: entry for name, entry in workers.items() if _alive(entry, now)}


def takes(entry: dict, queue: str) -> bool:
    """Whether the worker of this announcement serves `queue`, now or after its next re-read."""
    host = queue.removeprefix("host.")
    return queue in entry["queues"] or matches(host, entry["hosts"], entry["exclude"])


def serving(queue: str) -> bool | None:
    """Whether some live worker serves `queue`; None when that cannot be told (Redis away)."""
    workers = live()
    return None if workers is None else any(takes(entry, queue) for entry in workers.values())


def unserved(hosts) -> set[int] | None:
    """The ids of those hosts that no live worker serves now: their worker stopped, or cannot
    reach Redis (a link cut). None when that cannot be told: presence is off, tasks run eagerly
    (no worker at all), or Redis is away."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.VNETWEB_WORKER_PRESENCE:
        return None
    alive = live()
    if alive is None:
        return None
    return {
        host.pk for host in hosts if not any(takes(entry, host.queue) for entry in alive.values())
    }


# The hosts found unserved at beat's last look (tell_unserved_hosts), to tell open pages only of
# the changes.
UNSERVED_KEY = "vnetweb:unserved-hosts"


def note_unserved(found: set[int]) -> set[int]:
    """Keep `found` as the hosts unserved now; returns the hosts whose state changed since the
    last call (none the first time after a Redis restart is fine: the pages read it on load)."""
    new = ",".join(str(pk) for pk in sorted(found))
    try:
        old = client().getset(UNSERVED_KEY, new)
    except redis.RedisError as exc:
        log.warning("cannot note which hosts lack a worker: %s", exc)
        return set()
    before = {int(pk) for pk in old.decode().split(",") if pk} if old is not None else found
    return before ^ found


def unserved_message(host, *, any_more: bool = False) -> str:
    """A job's message when no worker serves its host: what happened and what to do."""
    when = " any more: its worker stopped before running it, so" if any_more else ":"
    return (
        f"No worker serves host {host.name} (queue {host.queue}){when} nothing was done. "
        "Start a worker for it (make run starts one for every host; see docs/deployment.md) "
        "and try again."
    )


def broadcast_sync() -> None:
    """Ask every worker to re-read its host list. Fire and forget: web never waits on workers."""
    try:
        current_app.control.broadcast("vnetweb_sync_queues", reply=False)
    except Exception as exc:  # Redis down: workers catch up through beat's periodic broadcast.
        log.warning("could not tell workers about host changes: %s", exc)
