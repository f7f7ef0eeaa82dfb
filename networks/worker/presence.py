"""This worker's announcement in Redis, for the web and beat (networks.workers reads it).

A thread refreshes it every EVERY seconds: the solo pool runs a job in the main thread, and a
worker busy with a long job must not look dead. The worker removes it when it shuts down; the
announcement of a killed worker runs out VALID seconds after its last refresh (supervisord brings
a killed worker back well within that, so a restart does not fail the jobs asked for meanwhile).
"""

import json
import logging
import threading
import time

import redis

from networks.redis_client import client
from networks.worker import queues
from networks.workers import EVERY, KEY, VALID, is_alive

log = logging.getLogger(__name__)

_stop = threading.Event()
_thread: threading.Thread | None = None


def announcement(consumer) -> dict:
    """What this worker serves now: the host queues its consumer reads, and its host patterns.

    The patterns count too (see `takes`): a host just added is served by a worker whose patterns
    take it before that worker has subscribed to its queue. The web asks workers to re-read their
    hosts only once the request that added the host commits, and that request already queues the
    host's first check.
    """
    task_consumer = consumer.task_consumer  # None while the consumer reconnects to Redis
    read = [queue.name for queue in task_consumer.queues] if task_consumer is not None else []
    include, exclude = queues.patterns()
    return {
        "queues": sorted(name for name in read if name.startswith("host.")),
        "hosts": include,
        "exclude": exclude,
        "until": time.time() + VALID,
    }


def announce(name: str, entry: dict) -> None:
    """Write this worker's announcement, and drop those of workers that died without a word."""
    redis_client = client()
    with redis_client.pipeline() as pipe:
        pipe.hset(KEY, name, json.dumps(entry))
        pipe.hgetall(KEY)
        _, entries = pipe.execute()
    now = time.time()
    dead = [field for field, raw in entries.items() if not is_alive(raw, now)]
    if dead:
        redis_client.hdel(KEY, *dead)


def start_announcing(consumer) -> None:
    """Announce this worker every EVERY seconds from a thread, until `withdraw`."""
    global _thread
    name = consumer.hostname

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


def withdraw(name: str) -> None:
    _stop.set()
    if _thread is not None:
        _thread.join(5)  # so that no last refresh lands after the removal
    try:
        client().hdel(KEY, name)
    except redis.RedisError as exc:
        log.warning("worker %s could not withdraw its announcement: %s", name, exc)
