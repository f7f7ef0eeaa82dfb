"""The worker's monitor: a thread that keeps the database's picture of its hosts fresh between
beat's periodic refreshes, so open pages follow a change within a second.

For every host this worker serves (networks.worker.queues):
- libvirt's network lifecycle events (a network started, stopped, defined or undefined with virsh
  or any other tool): the network is read again at once. Each subscription (at start, and again
  when its connection died or was replaced) is followed by a full read of the host, since what
  happened before it went unheard.
- libvirt's domain events (a guest started, stopped, defined, undefined, a NIC plugged in or out,
  its guest agent came or went): the host is read again by the worker's pool (its guests with
  their NICs, and the networks' lists of guests), at most once per GUESTS_EVERY and host.
- New or released DHCP leases, on a host whose worker runs on it: libvirt's leases helper
  rewrites /var/lib/libvirt/dnsmasq/BRIDGE.status at every change; its size and mtime are looked
  at every TICK and the network read again when they moved. On a host reached over the network,
  libvirt's lease list of each running network with DHCP is asked for every
  VNETWEB_REMOTE_LEASE_SECONDS (from a small pool, one poll per host at a time) and the network
  read again when it changed. (The test driver has no leases.)
- A host that cannot be reached is tried again every RESUBSCRIBE_EVERY seconds, from a thread of
  its own: a connect that hangs (packets dropped) holds up no other host. The first subscription
  that succeeds reads the host again, so it comes back on the pages by itself.
- A round that fails (the database or Redis away: the worker's link cut for longer than TCP
  retries a query, or a new connection refused) may have taken events it could not record:
  once the database answers again, every host is read again.
- Every VNETWEB_SWITCH_SECONDS, in a second thread, the host side of its switches
  (networks.worker.survey).

Started once per worker process when the worker is ready (VNETWEB_MONITOR=false turns it off).
The event callback only queues; all reading and writing happens in the monitor's own thread.
"""

import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import close_old_connections

from networks import gateway
from networks.gateway import events, hostside
from networks.models import Host, Network
from networks.worker import queues, survey
from networks.worker.sync import record_network, record_unreachable
from networks.worker.tasks import refresh_host

log = logging.getLogger(__name__)


TICK = 0.1  # how often lease files and events are looked at
HOSTS_EVERY = 1.0  # how often the running networks of local hosts (lease files) are read again
# How often the list of hosts is read again besides when the web says it changed (queues'
# hosts_changed): every worker of a fleet reading 200 hosts a second cost it a fifth of its CPU.
HOST_LIST_EVERY = 10.0
RESUBSCRIBE_EVERY = 2.0  # how often a lost event subscription is tried again
# Domain events come in bursts (a guest starting sends several): one read of the host per burst.
GUESTS_EVERY = 0.3
SUBSCRIBERS = 8  # threads that connect to hosts for their event subscriptions
# A host whose new subscription has had no answer for this long is shown unreachable then, not
# only when the connect gives up (VNETWEB_CONNECT_SECONDS, 10 s): with the subscription's keepalive
# (~9 s, gateway.connection) a host whose packets are dropped shows unreachable after ~16-19 s.
NO_ANSWER_SECONDS = 5.0
NO_ANSWER = (
    f"No answer from the host for {NO_ANSWER_SECONDS:g} s: packets dropped, or the host down "
    "(still trying to connect)."
)


@dataclass
class _HostWatch:
    host: Host
    local: bool
    subscription: events.Subscription | None = None
    next_subscribe: float = 0.0
    # bridge -> network name, for the networks that have a lease file to watch
    lease_bridges: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    leases_known: bool = False  # the lease files were stamped once (the host's first read)
    guests_changed: float | None = None  # when a domain event arrived that is not yet read
    guests_read: float = 0.0  # when the last read of the host for domain events was asked for
    subscribing: Future | None = None  # an attempt to subscribe, running in the pool
    subscribing_since: float = 0.0  # when the attempt began in the pool (0: still waiting)
    no_answer_told: bool = False  # the attempt's silence was recorded (see NO_ANSWER_SECONDS)
    polling: Future | None = None  # a poll of a remote host's leases, running in the pool
    # remote hosts: network name -> the lease list libvirt gave last time, on this subscription
    remote_leases: dict[str, tuple | None] = field(default_factory=dict)
    remote_leases_of: events.Subscription | None = None

    @property
    def polls_leases(self) -> bool:
        """Whether its leases are polled: a host reached over the network (the test driver has
        none; a local host's lease files are watched)."""
        return not self.local and not self.host.uri.startswith("test:")


def subscribe(watch: _HostWatch, *args) -> events.Subscription:
    """An attempt to subscribe, in the pool: noted when it begins, so that its silence is timed
    from then (an attempt waiting for a free thread behind hosts that hang is not silent)."""
    watch.subscribing_since = time.monotonic()
    return events.subscribe(*args)


def since_started(watch: _HostWatch, now: float) -> float:
    return now - watch.subscribing_since if watch.subscribing_since else 0.0


class Monitor(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="vnetweb-monitor", daemon=True)
        self.stopping = threading.Event()
        self.changes: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self.domain_changes: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.hosts: dict[int, _HostWatch] = {}
        self.next_hosts = 0.0
        self.next_host_list = 0.0
        # The host side is read in a thread of its own (a netlink dump and a ruleset take tens
        # of milliseconds): events and leases never wait for it. survey_now asks for one at once.
        self.survey_now = threading.Event()
        self.surveyor = threading.Thread(
            target=self.survey_loop, name="vnetweb-survey", daemon=True
        )
        # Subscribing means connecting, which for an unreachable host takes up to
        # VNETWEB_CONNECT_SECONDS: done here, never in the monitor's own thread.
        self.connector = ThreadPoolExecutor(SUBSCRIBERS, thread_name_prefix="vnetweb-subscribe")
        # Remote hosts' lease polls, one at a time per host: a host that stops answering holds
        # up only its own polls (until keepalive drops its connection).
        self.pollers = ThreadPoolExecutor(SUBSCRIBERS, thread_name_prefix="vnetweb-leases")
        self.next_remote_leases = 0.0
        self.missed = False  # a round failed since every host was last read (see round)

    def run(self) -> None:
        log.info("monitor started")
        self.surveyor.start()
        while not self.stopping.wait(TICK):
            self.round()
        self.pollers.shutdown(wait=False, cancel_futures=True)
        self.connector.shutdown(wait=False, cancel_futures=True)
        for watch in self.hosts.values():
            self.drop(watch)

    def round(self) -> None:
        """One tick; a failed one (the database or Redis away, e.g. the worker's link cut) leaves
        `missed` set: the events it took may be unrecorded, so every host is read again once the
        database answers (tick). Logged once per run of failures, not ten times a second."""
        try:
            self.tick()
        except Exception:
            if not self.missed:
                log.exception("monitor round failed; going on, and reading every host again later")
            self.missed = True
            # The host list is read again within a second: its answer says the database is back.
            self.next_host_list = min(self.next_host_list, time.monotonic() + HOSTS_EVERY)
            close_old_connections()

    def catch_up(self) -> None:
        """After failed rounds: a read of every host, asked of the worker's pool (see `round`)."""
        asked = [self.ask_for_read(watch) for watch in list(self.hosts.values())]
        if all(asked):
            self.missed = False
            log.info("monitor rounds work again: every host is read again")

    def survey_loop(self) -> None:
        while not self.stopping.is_set():
            self.survey_now.wait(settings.VNETWEB_SWITCH_SECONDS)
            self.survey_now.clear()
            watches = list(self.hosts.values())
            try:  # the hosts whose side cannot be seen from here, all at once
                survey.survey_remote([watch.host for watch in watches if not watch.local])
            except Exception:
                log.exception("writing the switches of remote hosts failed; going on")
                close_old_connections()
            for watch in watches:
                if not watch.local:
                    continue
                try:
                    survey.survey(watch.host)
                except Exception:
                    log.exception("reading the switches of %s failed; going on", watch.host.name)
                    close_old_connections()

    def tick(self) -> None:
        now = time.monotonic()
        if now >= self.next_host_list or queues.hosts_changed.is_set():
            queues.hosts_changed.clear()
            self.next_host_list = now + HOST_LIST_EVERY
            self.read_hosts()
            if self.missed:  # the database answered again
                self.catch_up()
        if now >= self.next_hosts:
            self.next_hosts = now + HOSTS_EVERY
            self.read_lease_bridges()
        if now >= self.next_remote_leases:
            self.next_remote_leases = now + settings.VNETWEB_REMOTE_LEASE_SECONDS
            self.ask_for_lease_polls()
        for watch in list(self.hosts.values()):
            self.keep_subscribed(watch, now)
        self.handle_events()
        self.handle_domain_events(now)
        for watch in list(self.hosts.values()):
            if watch.local:
                self.check_leases(watch)

    # --- hosts ---------------------------------------------------------------------------------

    def read_hosts(self) -> None:
        # Read by every worker of a fleet: only the columns the monitor uses (the inventory's
        # JSON alone was a quarter of an idle fleet's worker CPU, bench/fleet.py).
        rows = Host.objects.only("pk", "name", "uri", "reachable", "last_error")
        served = {host.pk: host for host in rows if queues.serves(host.name)}
        for host_id in set(self.hosts) - set(served):
            self.drop(self.hosts.pop(host_id))
        for host_id, host in served.items():
            watch = self.hosts.get(host_id)
            if watch is None or watch.host.uri != host.uri:
                if watch is not None:
                    self.drop(watch)
                watch = self.hosts[host_id] = _HostWatch(host, gateway.is_local(host.uri))
            watch.host = host
        self.read_lease_bridges()

    @staticmethod
    def drop(watch: _HostWatch) -> None:
        """Stop listening to a host no longer served (or whose URI changed), also once an
        attempt to subscribe that is still running ends."""
        if watch.subscription is not None:
            events.unsubscribe(watch.subscription)
        if watch.subscribing is not None:
            watch.subscribing.add_done_callback(
                lambda attempt: attempt.exception() is None and events.unsubscribe(attempt.result())
            )

    def read_lease_bridges(self) -> None:
        local = [host_id for host_id, watch in self.hosts.items() if watch.local]
        rows = Network.objects.filter(host__in=local, active=True).exclude(bridge="")
        bridges: dict[int, dict[str, str]] = {host_id: {} for host_id in local}
        for host_id, name, bridge, ranges in rows.values_list(
            "host_id", "name", "bridge", "dhcp_ranges"
        ):
            if ranges or hostside.lease_file_stamp(bridge) is not None:
                bridges[host_id][bridge] = name
        for host_id, found in bridges.items():
            watch = self.hosts[host_id]
            for bridge in found.keys() - watch.stamps.keys():
                # A network that started since: its leases may have changed before this look
                # (a guest asking at once), so it is read once whatever its file says. At the
                # monitor's start the host's full read covers them all.
                watch.stamps[bridge] = (
                    hostside.lease_file_stamp(bridge) if not watch.leases_known else (-1, -1)
                )
            watch.leases_known = True
            for bridge in watch.stamps.keys() - found.keys():
                del watch.stamps[bridge]
            watch.lease_bridges = found

    # --- libvirt's events ----------------------------------------------------------------------

    def keep_subscribed(self, watch: _HostWatch, now: float) -> None:
        if watch.subscribing is not None:
            if watch.subscribing.done():
                self.subscribed(watch, watch.subscribing)
            elif since_started(watch, now) > NO_ANSWER_SECONDS and not watch.no_answer_told:
                watch.no_answer_told = True
                record_unreachable(watch.host, gateway.HostUnreachable(NO_ANSWER))
            return
        if watch.subscription is not None and events.alive(watch.subscription):
            return
        if now < watch.next_subscribe:
            return
        watch.next_subscribe = now + RESUBSCRIBE_EVERY
        if watch.subscription is not None:
            events.unsubscribe(watch.subscription)  # closes the dead connection
            watch.subscription = None
        host_id = watch.host.pk
        watch.subscribing_since, watch.no_answer_told = 0.0, False
        watch.subscribing = self.connector.submit(
            subscribe,
            watch,
            watch.host.uri,
            lambda name, _event: self.changes.put((host_id, name)),
            lambda _name, _event: self.domain_changes.put(host_id),
        )

    def subscribed(self, watch: _HostWatch, attempt: Future) -> None:
        """An attempt to subscribe ended: listen, or say the host is unreachable."""
        watch.subscribing = None
        try:
            subscription = attempt.result()
        except gateway.GatewayError as exc:
            record_unreachable(watch.host, exc)
            return
        if self.hosts.get(watch.host.pk) is not watch:  # the host went, or its URI changed
            events.unsubscribe(subscription)
            return
        watch.subscription = subscription
        log.info("listening to %s's network and domain events", watch.host.name)
        # Whatever happened before (the worker starting, the link down) went unheard: the whole
        # host is read now, not at beat's next round. By the worker's pool, not here: a first
        # read on a new connection takes seconds (QEMU's version), and events wait meanwhile.
        self.ask_for_read(watch)

    def handle_events(self) -> None:
        seen: set[tuple[int, str]] = set()
        while True:
            try:
                seen.add(self.changes.get_nowait())
            except queue.Empty:
                break
        for host_id, name in sorted(seen):
            watch = self.hosts.get(host_id)
            if watch is not None:
                self.reread(watch, name)

    def reread(self, watch: _HostWatch, name: str) -> None:
        try:
            if watch.subscription is not None:
                info = events.read_network(watch.subscription, name)
            else:
                info = gateway.find_network(watch.host.uri, name, guests=False)
        except gateway.GatewayError as exc:
            record_unreachable(watch.host, exc)
            return
        record_network(watch.host, name, info)
        # A network that started or stopped: its switch is surveyed now, not in a few seconds.
        self.survey_now.set()

    def handle_domain_events(self, now: float) -> None:
        while True:
            try:
                host_id = self.domain_changes.get_nowait()
            except queue.Empty:
                break
            watch = self.hosts.get(host_id)
            if watch is not None and watch.guests_changed is None:
                watch.guests_changed = now
        for watch in self.hosts.values():
            if watch.guests_changed is None or now - watch.guests_read < GUESTS_EVERY:
                continue
            watch.guests_changed, watch.guests_read = None, now
            self.ask_for_read(watch)

    def ask_for_read(self, watch: _HostWatch) -> bool:
        """A read of the whole host by the worker's pool (its guests and networks): a domain's
        calls can take seconds (QEMU), and events wait for nothing here. Whether it was asked."""
        try:
            refresh_host.apply_async(args=[watch.host.pk], queue=watch.host.queue, expires=30)
        except Exception as exc:  # Redis away: beat's refresh catches up later
            log.warning("could not ask for a read of %s: %s", watch.host.name, exc)
            return False
        return True

    # --- leases --------------------------------------------------------------------------------

    def ask_for_lease_polls(self) -> None:
        for watch in self.hosts.values():
            if not watch.polls_leases or watch.subscription is None:
                continue
            if watch.polling is None or watch.polling.done():
                watch.polling = self.pollers.submit(self.poll_in_pool, watch)

    def poll_in_pool(self, watch: _HostWatch) -> None:
        close_old_connections()  # the pool's threads keep theirs across polls, as requests do
        try:
            self.poll_remote_leases(watch)
        except Exception:
            log.exception("polling the leases of %s failed; going on", watch.host.name)

    def poll_remote_leases(self, watch: _HostWatch) -> None:
        """A host reached over the network: its running DHCP networks' lease lists, compared with
        the last ones; a network whose list moved is read again."""
        sub = watch.subscription
        if sub is None:
            return
        if watch.remote_leases_of is not sub:  # a new connection: every network is read once
            watch.remote_leases, watch.remote_leases_of = {}, sub
        names = set(
            Network.objects.filter(host=watch.host, active=True)
            .exclude(dhcp_ranges="")
            .values_list("name", flat=True)
        )
        for name in watch.remote_leases.keys() - names:
            del watch.remote_leases[name]
        for name in sorted(names):
            try:
                found = events.leases(sub, name)
            except gateway.GatewayError as exc:
                log.info("could not ask %s for the leases of %s: %s", watch.host.name, name, exc)
                return  # the subscription's keep-alive tells whether the host went away
            # Seen for the first time (a network just started, a new subscription): read once,
            # whatever the list says, since it may have changed before this look.
            if name not in watch.remote_leases or watch.remote_leases[name] != found:
                self.reread(watch, name)
            watch.remote_leases[name] = found

    def check_leases(self, watch: _HostWatch) -> None:
        for bridge, name in watch.lease_bridges.items():
            stamp = hostside.lease_file_stamp(bridge)
            if stamp != watch.stamps.get(bridge):
                watch.stamps[bridge] = stamp
                self.reread(watch, name)


_monitor: Monitor | None = None


def start() -> None:
    """Start this worker process's monitor (networks.worker.hooks, when the worker is ready)."""
    global _monitor
    if not settings.VNETWEB_MONITOR or _monitor is not None:
        return
    _monitor = Monitor()
    _monitor.start()


def stop() -> None:
    if _monitor is not None:
        _monitor.stopping.set()
