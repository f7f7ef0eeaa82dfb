"""The site's one live-update channel: "something changed on host H" goes to every open page.

Whoever changes the database's picture of a host (a worker's refresh, a job's progress, a view
that queues a job or edits a host) publishes one small message on a Redis pub/sub channel once
its transaction has committed: the host, the networks and the jobs concerned. Each open page
holds one server-sent-events stream (networks.views.live.events) that forwards the messages its
user may see; the page's script then re-fetches just the parts that show those objects.

A lost message costs freshness, never correctness: a page that reconnects re-reads its live
parts, and publishing never fails the caller (Redis down means pages stop being live, and say so).
"""

import json
import logging
import time
import uuid
from collections.abc import Iterable

import redis
from django.conf import settings
from django.db import transaction

from networks.redis_client import client, db_number

log = logging.getLogger(__name__)

# Where pages open their stream (networks/urls.py); vnetweb/asgi.py serves it asynchronously.
EVENTS_PATH = "/live/events/"

# How long a stream may stay silent: a comment line is sent then, so that proxies keep it open and
# a client that has gone away is noticed.
KEEPALIVE_SECONDS = 15


def channel() -> str:
    """Pub/sub ignores Redis's database numbers: the channel carries it, so that the tests' Redis
    database (15) and the site's (0) on one server never hear each other."""
    return f"vnetweb:changes:{db_number()}"


def message(
    host: int | None,
    networks: Iterable[int] = (),
    jobs: Iterable[int] = (),
    jobs_only=False,
    topic: str = "",
) -> str:
    """`jobs_only`: the networks themselves did not change, only their jobs did, so a page can
    refresh just their rows (a job's progress cannot move a network in or out of a filter).
    `topic`: only one aspect changed ("switch": the host-side view of a network, its counters),
    which only the parts that list that topic (data-live-topics) fetch again."""
    change = {
        "host": host,
        "networks": sorted(set(networks)),
        "jobs": sorted(set(jobs)),
        "jobs_only": jobs_only,
    }
    if topic:
        change["topic"] = topic
    return json.dumps(change)


def send(
    host: int | None,
    networks: Iterable[int] = (),
    jobs: Iterable[int] = (),
    jobs_only=False,
    topic: str = "",
) -> None:
    """Publish now (outside a transaction, or after it)."""
    try:
        client().publish(channel(), message(host, networks, jobs, jobs_only, topic))
    except redis.RedisError as exc:
        log.warning("live update not sent (pages stay as they are until reloaded): %s", exc)


def publish(
    host: int | None,
    networks: Iterable[int] = (),
    jobs: Iterable[int] = (),
    jobs_only=False,
    topic: str = "",
) -> None:
    """Publish once the current transaction commits (at once when there is none)."""
    networks, jobs = list(networks), list(jobs)
    transaction.on_commit(lambda: send(host, networks, jobs, jobs_only, topic))


# --- who is looking ----------------------------------------------------------------------------
# A network page's stream says so every WATCH_EVERY seconds; the worker samples the counters of
# the networks someone looks at (networks.worker.survey), and of no other.
WATCH_SECONDS = 2 * KEEPALIVE_SECONDS + 5


def _watch_key(network_id: int) -> str:
    return f"vnetweb:watch:{channel()}:{network_id}"


def watch(network_ids: Iterable[int]) -> None:
    try:
        pipe = client().pipeline(transaction=False)
        for network_id in network_ids:
            pipe.set(_watch_key(network_id), 1, ex=WATCH_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.info("cannot note who looks at a network: %s", exc)


def watched(network_ids: Iterable[int]) -> set[int]:
    """Of these networks, those whose page someone has open now."""
    ids = list(network_ids)
    if not ids:
        return set()
    try:
        found = client().mget([_watch_key(i) for i in ids])
    except redis.RedisError:
        return set()
    return {network_id for network_id, value in zip(ids, found, strict=True) if value}


# --- streams per user -----------------------------------------------------------------------------
# Each open stream holds a Redis connection: a user may hold VNETWEB_LIVE_STREAMS_PER_USER at once,
# counted here for every web process. A stream renews its place every keep-alive; the place of one
# whose process died is given back STREAM_SECONDS later.
STREAM_SECONDS = WATCH_SECONDS


def _streams_key(user_id: int) -> str:
    return f"vnetweb:streams:{channel()}:{user_id}"


def open_stream(user_id: int) -> str | None:
    """A place for a new stream of the user; None when it holds as many as it may ("" when Redis
    cannot count: the stream then says Redis is down)."""
    stream_id, key, now = uuid.uuid4().hex, _streams_key(user_id), time.time()
    try:
        pipe = client().pipeline()  # MULTI: no other stream counts in between
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zadd(key, {stream_id: now + STREAM_SECONDS})
        pipe.expire(key, STREAM_SECONDS)
        pipe.zcard(key)
        held = pipe.execute()[-1]
    except redis.RedisError:
        return ""
    if held > settings.VNETWEB_LIVE_STREAMS_PER_USER:
        close_stream(user_id, stream_id)
        return None
    return stream_id


def keep_stream(user_id: int, stream_id: str) -> None:
    if not stream_id:
        return
    key = _streams_key(user_id)
    try:
        pipe = client().pipeline()
        pipe.zadd(key, {stream_id: time.time() + STREAM_SECONDS}, xx=True)
        pipe.expire(key, STREAM_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:
        log.info("cannot renew a live stream's place: %s", exc)


def close_stream(user_id: int, stream_id: str) -> None:
    if not stream_id:
        return
    try:
        client().zrem(_streams_key(user_id), stream_id)
    except redis.RedisError as exc:
        log.info("cannot give back a live stream's place: %s", exc)
