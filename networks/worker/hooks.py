"""The worker's start and stop, wired in one place (Celery imports this module in every worker:
CELERY_IMPORTS in settings). Nothing else in vnetweb connects to Celery's worker signals.

When a worker is ready it, in order: subscribes to the queues of the hosts it serves, takes back
the jobs its previous process left running and sends its hosts' queued jobs again, announces
itself for the web and beat, and starts its monitor (libvirt events, lease files, surveys). When
it shuts down it stops the monitor and withdraws its announcement.
"""

import logging

from celery.signals import worker_ready, worker_shutdown

from networks.worker import monitor, presence, queues, tasks

log = logging.getLogger(__name__)


@worker_ready.connect
def _ready(sender, **_kwargs) -> None:
    log.info("vnetweb worker queues: %s", queues.sync(sender))
    tasks.take_back_jobs(sender.hostname)
    presence.start_announcing(sender)
    monitor.start()


@worker_shutdown.connect
def _shutdown(sender, **_kwargs) -> None:
    monitor.stop()
    presence.withdraw(sender.hostname)
