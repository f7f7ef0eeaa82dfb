"""A host that takes the TCP connection and never answers (what a host behind a firewall that
drops packets, or a hung libvirtd, looks like to libvirt's client): a connect gives up after
VNETWEB_CONNECT_SECONDS, one attempt waits per URI, and the worker's monitor goes on serving its
other hosts meanwhile (networks.gateway.connection._open_within, networks.worker.monitor).

The "host" is a listening socket of the test's own on 127.0.0.1 that never accepts: the kernel
completes the handshake, libvirt sends its first call and waits for the reply for good. No
libvirtd is involved; the other host is libvirt's test driver, in this process.
"""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from networks import gateway
from networks.gateway import connection
from networks.host_uri import refusal
from networks.models import Host, Network
from networks.worker import monitor, tasks
from tests.real import wait_for

URI = "test:///default"
# If the code under test waits on the silent host for good, the host goes away after this long
# (every waiting connect then ends with "connection reset"): the test fails, it does not hang.
SAFETY_SECONDS = 15.0


@dataclass
class SilentHost:
    listener: socket.socket
    uri: str

    def go_away(self) -> None:
        """Close the port: the connections it held are reset, new ones refused."""
        self.listener.close()


def connect_threads() -> list[threading.Thread]:
    """The gateway's threads still waiting for a host to answer a connect."""
    return [thread for thread in threading.enumerate() if thread.name == "libvirt-connect"]


@pytest.fixture
def silent_host() -> Iterator[SilentHost]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    host = SilentHost(listener, f"qemu+tcp://127.0.0.1:{listener.getsockname()[1]}/system")
    safety = threading.Timer(SAFETY_SECONDS, host.go_away)
    safety.daemon = True
    safety.start()
    try:
        yield host
    finally:
        safety.cancel()
        host.go_away()
        # Leave no waiting thread (nor a URI marked as connecting) to the next test.
        wait_for(lambda: not connect_threads(), timeout=5, message=f"{host.uri} is still waited on")


def timed(call: Callable[[], object]) -> tuple[gateway.GatewayError, float]:
    """The error `call` raised, and how long it took to raise it."""
    started = time.monotonic()
    with pytest.raises(gateway.GatewayError) as raised:
        call()
    return raised.value, time.monotonic() - started


def test_a_connect_to_a_silent_host_gives_up_after_the_setting_and_waits_once(
    silent_host, settings
):
    settings.VNETWEB_CONNECT_SECONDS = 1
    assert refusal(silent_host.uri) is None  # the gateway really tries it

    error, took = timed(lambda: gateway.snapshot(silent_host.uri))
    assert isinstance(error, gateway.HostUnreachable) and error.transient
    assert 0.9 < took < 1.5, took
    assert "within 1 s (VNETWEB_CONNECT_SECONDS)" in error.message, error.message
    assert len(connect_threads()) == 1  # libvirt still waits, in the background

    # A second call meanwhile (a job, the monitor) starts no second wait, and says why.
    error, took = timed(lambda: gateway.snapshot(silent_host.uri))
    assert isinstance(error, gateway.HostUnreachable)
    assert took < 0.2, took
    assert "earlier attempt to connect is still waiting" in error.message, error.message
    assert "VNETWEB_CONNECT_SECONDS" in error.message
    assert len(connect_threads()) == 1

    # The host goes away: the waiting attempt ends, and the next is refused at once in
    # libvirt's words (no longer "still waiting").
    silent_host.go_away()
    wait_for(lambda: not connect_threads(), timeout=3, interval=0.02)
    error, took = timed(lambda: gateway.snapshot(silent_host.uri))
    assert isinstance(error, gateway.HostUnreachable)
    assert took < 0.5, took
    assert "Connection refused" in error.message, error.message
    assert not connect_threads()


def test_a_local_uri_is_opened_without_a_thread_of_its_own(db, settings):
    settings.VNETWEB_CONNECT_SECONDS = 1
    assert gateway.snapshot(URI).networks
    assert not connect_threads()


# --- the monitor: a silent host holds up no other ------------------------------------------------


@pytest.fixture
def asked_reads(monkeypatch) -> list[int]:
    """The hosts whose full read the monitor asked the worker's pool for (kept from Redis)."""
    asked: list[int] = []

    def apply_async(self, args=None, kwargs=None, **options):
        asked.append(args[0])

    task_class = type(tasks.refresh_host._get_current_object())
    monkeypatch.setattr(task_class, "apply_async", apply_async)
    return asked


@pytest.fixture
def default_running(test_host) -> Iterator[None]:
    """The test driver's "default" network running and read into the database; restored after."""
    before = gateway.network_state(URI, "default")
    gateway.start_network(URI, "default")
    assert tasks.refresh(test_host) is None
    yield
    if before.active:
        gateway.start_network(URI, "default")
    else:
        gateway.stop_network(URI, "default")


def test_the_monitor_serves_its_other_hosts_while_one_never_answers(
    silent_host, test_host, default_running, asked_reads, settings
):
    settings.VNETWEB_CONNECT_SECONDS = 3
    settings.VNETWEB_WORKER_HOSTS, settings.VNETWEB_WORKER_EXCLUDE = ["*"], []
    silent = Host.objects.create(name="vnwt-silent", uri=silent_host.uri)
    watcher = monitor.Monitor()  # its rounds are run here, in the test's thread
    rounds: list[float] = []

    def run_until(predicate: Callable[[], object], timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                pytest.fail(message)
            started = time.monotonic()
            watcher.tick()
            rounds.append(time.monotonic() - started)
            time.sleep(monitor.TICK)

    def default_active() -> bool:
        return Network.objects.get(host=test_host, name="default").active

    started = time.monotonic()
    try:
        run_until(
            lambda: test_host.pk in watcher.hosts and watcher.hosts[test_host.pk].subscription,
            timeout=2,
            message="the monitor never listened to the test driver's events",
        )
        assert asked_reads == [test_host.pk]  # a new subscription: the host is read once
        gateway.stop_network(URI, "default")  # as virsh would: an event, no job
        run_until(lambda: not default_active(), timeout=2, message="the event was not heard")
        heard = time.monotonic() - started
        attempt = watcher.hosts[silent.pk].subscribing
        # All that while, the silent host's subscription was still waiting, in the pool.
        assert attempt is not None and not attempt.done(), heard
        assert Host.objects.get(pk=silent.pk).reachable is None

        run_until(
            lambda: Host.objects.get(pk=silent.pk).reachable is False,
            timeout=settings.VNETWEB_CONNECT_SECONDS + 3,
            message="the silent host was never recorded unreachable",
        )
        unreachable = time.monotonic() - started
        assert "VNETWEB_CONNECT_SECONDS" in Host.objects.get(pk=silent.pk).last_error
        assert Host.objects.get(pk=test_host.pk).reachable is True
    finally:
        for watch in watcher.hosts.values():
            watcher.drop(watch)
        watcher.connector.shutdown(wait=False)
    print(
        f"event on the other host -> database: {heard:.2f} s; silent host unreachable after "
        f"{unreachable:.2f} s; slowest of {len(rounds)} monitor rounds: {max(rounds):.3f} s"
    )
    assert heard < 1.0, heard
    assert max(rounds) < 0.3, rounds


def test_a_forked_worker_does_not_wait_for_its_parents_attempt(silent_host, settings, monkeypatch):
    """Celery's prefork pool forks while the parent (its monitor) may be waiting on a host: the
    child inherits the mark "an attempt is waiting" but not the thread that would clear it."""
    settings.VNETWEB_CONNECT_SECONDS = 1
    # As in a child: the module's state is another process's (fresh caches here, so that this
    # process's own connections stay as they are).
    monkeypatch.setattr(connection, "_owner_pid", -1)
    monkeypatch.setattr(connection, "_connections", {})
    monkeypatch.setattr(connection, "_uri_locks", {})
    monkeypatch.setattr(connection, "_connecting", {silent_host.uri})
    error, took = timed(lambda: gateway.snapshot(silent_host.uri))
    assert "within 1 s (VNETWEB_CONNECT_SECONDS)" in error.message, error.message
    assert 0.9 < took < 1.5, took
