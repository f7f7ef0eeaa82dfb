"""Which host queues a worker consumes, and keeping that current as hosts come and go.

A worker is told its hosts by name patterns in VNETWEB_WORKER_HOSTS (default "*") and
VNETWEB_WORKER_EXCLUDE (default none). It subscribes when it is ready, and again whenever the web
adds, renames or removes a host (a broadcast control command; no reply is awaited).
"""

import fnmatch
import logging

from celery import current_app
from celery.signals import worker_ready
from celery.worker.control import control_command

from vnetweb.env import env_list

log = logging.getLogger(__name__)


def patterns() -> tuple[list[str], list[str]]:
    """This worker's host name patterns: (include, exclude)."""
    return env_list("VNETWEB_WORKER_HOSTS", ["*"]), env_list("VNETWEB_WORKER_EXCLUDE", [])


def matches(name: str, include: list[str], exclude: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pat) for pat in include) and not any(
        fnmatch.fnmatch(name, pat) for pat in exclude
    )


def serves(name: str) -> bool:
    """Whether this worker serves the host called `name`."""
    return matches(name, *patterns())


def wanted_queues() -> set[str]:
    from networks.models import Host

    return {host.queue for host in Host.objects.only("name") if serves(host.name)}


def sync(consumer) -> dict[str, list[str]]:
    wanted = wanted_queues()
    current = {q.name for q in consumer.task_consumer.queues if q.name.startswith("host.")}
    for queue in sorted(wanted - current):
        consumer.add_task_queue(queue)
    for queue in sorted(current - wanted):
        consumer.cancel_task_queue(queue)
    return {"added": sorted(wanted - current), "removed": sorted(current - wanted)}


@control_command()
def vnetweb_sync_queues(state, **_kwargs) -> dict:
    state.consumer.call_soon(sync, state.consumer)
    return {"ok": "sync scheduled"}


@worker_ready.connect
def _on_ready(sender, **_kwargs) -> None:
    log.info("vnetweb worker queues: %s", sync(sender))


def broadcast_sync() -> None:
    """Ask every worker to re-read its host list. Fire and forget: web never waits on workers."""
    try:
        current_app.control.broadcast("vnetweb_sync_queues", reply=False)
    except Exception as exc:  # Redis down: workers catch up through beat's periodic broadcast.
        log.warning("could not tell workers about host changes: %s", exc)
