"""Two writers of one host at once store what they read once: beat's refresh of the whole host and
a job's re-read of the network it made, in two threads of a worker (networks.worker.sync). SQLite
runs one write transaction at a time; PostgreSQL would let both find no row and both add it, so
scripts/postgres-tests.sh runs this there too."""

import threading
from collections.abc import Callable

import pytest
from django.db import connections

from networks import audit, gateway
from networks.models import Lease, Network
from networks.worker.sync import record_network, record_snapshot
from tests.test_live import FACTS, info

pytestmark = pytest.mark.postgres

LEASE = gateway.LeaseInfo("52:54:00:00:00:01", "10.9.1.100", 24, "vm1", "", None)
# How long the refresh, having read the host's rows, gives the re-read to read them too: it does
# only when nothing makes it wait for the refresh's commit.
OVERLAP_SECONDS = 1.0


def _in_thread(name: str, work: Callable[[], object], errors: list) -> threading.Thread:
    """`work` in a thread of its own, with a database connection of its own (closed after)."""

    def run() -> None:
        try:
            work()
        except Exception as exc:  # the test asserts there was none
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def test_a_refresh_and_a_reread_at_once_store_a_new_network_and_its_lease_once(
    transactional_db, test_host, monkeypatch
):
    network = info("lab", active=True, leases=(LEASE,))
    refresh_has_read, reread_has_read = threading.Event(), threading.Event()
    noticed = audit.noticed

    def noticed_between_reading_and_writing(host, name, old, new):
        if threading.current_thread().name == "refresh":
            refresh_has_read.set()
            reread_has_read.wait(OVERLAP_SECONDS)
        else:
            reread_has_read.set()
        noticed(host, name, old, new)

    monkeypatch.setattr(audit, "noticed", noticed_between_reading_and_writing)
    errors: list[Exception] = []
    snapshot = gateway.HostSnapshot(facts=FACTS, networks=(network,))
    refresh = _in_thread("refresh", lambda: record_snapshot(test_host, snapshot), errors)
    assert refresh_has_read.wait(10), "the refresh never reached the network"
    reread = _in_thread("reread", lambda: record_network(test_host, "lab", network), errors)
    for thread in (refresh, reread):
        thread.join(30)

    assert errors == []
    assert list(Network.objects.values_list("name", flat=True)) == ["lab"]
    assert list(Lease.objects.values_list("mac", "ip")) == [(LEASE.mac, LEASE.ip)]
