"""Which host queues a worker consumes, and keeping that current as hosts come and go.

A worker is told its hosts by name patterns in the settings VNETWEB_WORKER_HOSTS (default "*")
and VNETWEB_WORKER_EXCLUDE (default none), from the variables of those names. It subscribes when
it is ready, and again whenever the web adds, renames or removes a host (a broadcast control
command; no reply is awaited).
"""

import logging
import threading

from celery.worker.control import control_command
from django.conf import settings

from networks.workers import matches

log = logging.getLogger(__name__)

# Set when the web says hosts were added, renamed or removed: the monitor reads its hosts again at
# once (networks.worker.monitor) instead of at its next slow look.
hosts_changed = threading.Event()


def patterns() -> tuple[list[str], list[str]]:
    """This worker's host name patterns: (include, exclude)."""
    return settings.VNETWEB_WORKER_HOSTS, settings.VNETWEB_WORKER_EXCLUDE


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
    hosts_changed.set()
    state.consumer.call_soon(sync, state.consumer)
    return {"ok": "sync scheduled"}
