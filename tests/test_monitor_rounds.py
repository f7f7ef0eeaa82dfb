"""The monitor's rounds when the database is away (a worker whose link to it is cut): what a
failed round took is not lost, and the failure is not logged ten times a second."""

import logging

import pytest
from django.db import DatabaseError

from networks.models import Host
from networks.worker import monitor


@pytest.fixture
def quiet_monitor(db, monkeypatch) -> monitor.Monitor:
    """A monitor that is never started: no libvirt (no subscriptions), reads asked are noted."""
    # Inside the test's transaction, closing the connection would end it.
    monkeypatch.setattr(monitor, "close_old_connections", lambda: None)
    watcher = monitor.Monitor()
    watcher.asked = []
    monkeypatch.setattr(watcher, "keep_subscribed", lambda watch, now: None)
    monkeypatch.setattr(
        watcher, "ask_for_read", lambda watch: watcher.asked.append(watch.host.name) or True
    )
    return watcher


def test_after_failed_rounds_every_host_is_read_again_once(quiet_monitor, monkeypatch, caplog):
    Host.objects.create(name="vnwt-m1", uri="test:///default")
    Host.objects.create(name="vnwt-m2", uri="test:///default")
    quiet_monitor.round()
    assert quiet_monitor.asked == [] and not quiet_monitor.missed

    def cut() -> None:
        raise DatabaseError("connection failed: server closed the connection unexpectedly")

    with monkeypatch.context() as patch, caplog.at_level(logging.ERROR, logger=monitor.__name__):
        patch.setattr(quiet_monitor, "read_hosts", cut)
        for _ in range(5):
            quiet_monitor.next_host_list = 0
            quiet_monitor.round()
    assert quiet_monitor.missed and quiet_monitor.asked == []
    assert len(caplog.records) == 1, "each failed round was logged"

    quiet_monitor.next_host_list = 0
    quiet_monitor.round()
    assert sorted(quiet_monitor.asked) == ["vnwt-m1", "vnwt-m2"]
    assert not quiet_monitor.missed
    quiet_monitor.next_host_list = 0
    quiet_monitor.round()
    assert len(quiet_monitor.asked) == 2, "the hosts were read again at every round"


def test_a_read_that_cannot_be_asked_is_asked_again(quiet_monitor, monkeypatch):
    Host.objects.create(name="vnwt-m1", uri="test:///default")
    quiet_monitor.missed = True
    monkeypatch.setattr(quiet_monitor, "ask_for_read", lambda watch: False)  # Redis still away
    quiet_monitor.round()
    assert quiet_monitor.missed
