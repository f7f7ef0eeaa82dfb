"""Hosts that fail, for bench/fleet.py: do they hold the others back, and do they come back?

Two kinds of failing host, both this machine's libvirtd seen READ-ONLY through bench/_forward.py
(libvirtd serves its read-only socket read-only whoever connects: a define or start through it
fails with "read only access prevents …"; the bench asks nothing of it but reads):

- dropped: `qemu+tcp://10.213.252.x:PORT/system`, a forwarder in the namespace vnwtfdrop behind a
  veth of its own (bench/_netns.py); `drop()` drops every packet that comes into the namespace
  (nftables, inside it), so connections hang rather than fail; `restore()` lets them in again.
- refused: `qemu+tcp://127.0.0.1:PORT/system`, a forwarder in the host's namespace; `refuse()`
  stops it (nobody listens: refused at once), `open()` starts it again on the same ports.

One forwarder per kind serves every host of that kind, one port each (a URI per host, so each
has its connection). `measure_failures(healthy)` is the fleet's entry point; Django must be set
up on the fleet's database, and the fleet's workers must serve the names `name_of` gives.
"""

import re
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import _netns
from _procs import stop
from _services import free_port

REPO = Path(__file__).resolve().parent.parent
DROP_NAMESPACE = "vnwtfdrop"
FIRST_PORT = 16509  # libvirt's own TCP port, then the next ones: one per dropped host
MISSING_NETWORK = "vnwt-no-such-network"  # the target of the Start job asked of a failing host


@dataclass
class DroppedHosts:
    """`count` hosts behind one namespace whose input can be dropped."""

    count: int
    ns: _netns.Namespace | None = None

    @property
    def uris(self) -> list[str]:
        ports = range(FIRST_PORT, FIRST_PORT + self.count)
        return [f"qemu+tcp://{self.ns.address}:{port}/system" for port in ports]

    def start(self) -> None:
        self.ns = _netns.pair(DROP_NAMESPACE)
        self.ns.forwarder(list(range(FIRST_PORT, FIRST_PORT + self.count)))

    def fail(self) -> None:
        self.ns.drop()

    def restore(self) -> None:
        self.ns.undrop()

    def close(self) -> None:
        if self.ns is not None:
            self.ns.remove()


@dataclass
class RefusedHosts:
    """`count` hosts on loopback ports that a forwarder serves until `fail()` stops it."""

    count: int
    ports: list[int] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def uris(self) -> list[str]:
        return [f"qemu+tcp://127.0.0.1:{port}/system" for port in self.ports]

    def start(self) -> None:
        self.ports = sorted({free_port() for _ in range(self.count)})
        self.open()

    def open(self) -> None:
        self.proc = subprocess.Popen(
            _netns.forwarder_argv("127.0.0.1", self.ports),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )
        for port in self.ports:
            _netns.wait_listening(None, "127.0.0.1", port)

    def fail(self) -> None:
        self.close()

    restore = open

    def close(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


@contextmanager
def failing_hosts(dropped: int, refused: int) -> Iterator[dict[str, DroppedHosts | RefusedHosts]]:
    """Both kinds, reachable at first; removed on the way out, also on failure."""
    kinds = {"dropped": DroppedHosts(dropped), "refused": RefusedHosts(refused)}
    with ExitStack() as stack:
        for kind in kinds.values():
            stack.callback(kind.close)
            kind.start()
        yield kinds


def sibling_name(healthy: list[str]) -> Callable[[int], str]:
    """Failing host i is named like healthy host i (mod n) up to its last '-', then down-NN:
    served by the same worker as that host when workers take hosts by prefix (vnwt-f03-*)."""

    def name_of(i: int) -> str:
        prefix = healthy[i % len(healthy)].rsplit("-", 1)[0]
        return f"{prefix}-down{i:02d}"

    return name_of


def _wait_each(names: list[str], reached: Callable[[dict], bool], since: float, timeout: float):
    """Seconds from `since` until each host's row satisfies `reached` (None: never, in time)."""
    from networks.models import Host

    seen: dict[str, float | None] = dict.fromkeys(names)
    deadline = since + timeout
    while time.monotonic() < deadline and None in seen.values():
        rows = Host.objects.filter(name__in=names).values("name", "reachable", "last_error")
        now = time.monotonic()
        for row in rows:
            if seen[row["name"]] is None and reached(row):
                seen[row["name"]] = round(now - since, 2)
        time.sleep(0.25)
    return seen


def _healthy_ages(healthy: list[str]) -> dict[str, float]:
    """How old the healthy hosts' last reads are, in seconds (max and median)."""
    from django.utils import timezone

    from networks.models import Host

    now = timezone.now()
    ages = [
        (now - checked).total_seconds()
        for checked in Host.objects.filter(name__in=healthy).values_list("last_checked", flat=True)
        if checked is not None
    ]
    if not ages:
        return {}
    return {"max_s": round(max(ages), 1), "median_s": round(statistics.median(ages), 1)}


def _job(host, operation: str, target: str = ""):
    from django.contrib.auth.models import AnonymousUser

    from networks.jobs import create_job

    return create_job(AnonymousUser(), host, operation, target=target)


def _wait_ended(job_ids: list[int], timeout: float) -> dict[int, tuple[str, str, float | None]]:
    """Each job's state, message and seconds from asked to ended, once all ended or at timeout."""
    from networks.models import Job

    deadline = time.monotonic() + timeout
    while True:
        rows = list(
            Job.objects.filter(pk__in=job_ids).values(
                "pk", "state", "message", "created", "finished"
            )
        )
        done = all(row["state"] in Job.FINISHED for row in rows)
        if done or time.monotonic() > deadline:
            return {
                row["pk"]: (
                    row["state"],
                    row["message"],
                    (row["finished"] - row["created"]).total_seconds() if row["finished"] else None,
                )
                for row in rows
            }
        time.sleep(0.2)


class ProbeSampler(threading.Thread):
    """Asks a probe ("Check now") of the healthy hosts in turn, one at a time, about every
    `every` seconds, and notes how long each took from asked to ended: how quickly the healthy
    hosts' workers answer while `sample()` runs."""

    def __init__(self, healthy: list[str], every: float = 1.0, timeout: float = 30) -> None:
        super().__init__(name="vnwt-probes", daemon=True)
        self.healthy, self.every, self.timeout = healthy, every, timeout
        self.latencies: list[float | None] = []  # None: not ended within `timeout`
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from networks.models import Host
        from networks.operations import Op

        try:
            hosts = list(Host.objects.filter(name__in=self.healthy).order_by("name"))
            turn = 0
            while not self.stopping.is_set():
                job = _job(hosts[turn % len(hosts)], Op.PROBE)
                turn += 1
                self.latencies += [
                    seconds for _s, _m, seconds in _wait_ended([job.pk], self.timeout).values()
                ]
                self.stopping.wait(self.every)
        finally:
            connection.close()

    def sample(self) -> dict:
        """Stop, and the figures: count, median and max seconds, how many never ended."""
        self.stopping.set()
        self.join(self.timeout + 5)
        known = sorted(s for s in self.latencies if s is not None)
        return {
            "probes": len(self.latencies),
            "never": len(self.latencies) - len(known),
            "median_s": round(statistics.median(known), 2) if known else None,
            "max_s": round(known[-1], 2) if known else None,
        }


def _register(uris: dict[str, str]) -> None:
    from networks import workers
    from networks.models import Host

    for name, uri in uris.items():
        Host.objects.create(name=name, uri=uri, description="bench/_failing.py: fails on purpose")
    workers.broadcast_sync()  # the workers subscribe to the new hosts' queues


def _unregister(names: list[str]) -> None:
    from networks import workers
    from networks.models import Host

    Host.objects.filter(name__in=names).delete()
    workers.broadcast_sync()


def _summary(seconds: list[float | None]) -> dict:
    known = [s for s in seconds if s is not None]
    return {
        "hosts": len(seconds),
        "never": len(seconds) - len(known),
        "median_s": round(statistics.median(known), 1) if known else None,
        "max_s": round(max(known), 1) if known else None,
    }


def measure_failures(
    healthy: list[str],
    *,
    dropped: int = 10,
    refused: int = 10,
    name_of: Callable[[int], str] | None = None,
    log: Callable[[str], None] = print,
    workers: Callable[[], list[int]] | None = None,
    dumps: Path | None = None,
) -> dict:
    """Register dropped + refused failing hosts, let them be read once, make them fail, time how
    soon each shows unreachable and how the healthy hosts fare meanwhile; ask a Probe and a Start
    of each failing host, make them reachable again, time how soon each is read again by itself,
    and check that every job asked of them ended (succeeded, or failed in words). The failing
    hosts are removed again at the end. Returns the figures. When a job is left running and
    `workers` gives the worker processes, each is dumped with py-spy (its threads' stacks) into
    `dumps`, to tell where the job waits."""
    from networks.models import Host, Job
    from networks.operations import Op

    name_of = name_of or sibling_name(healthy)
    figures: dict = {"healthy": {}}
    # The failing hosts' forwarders reach this machine's libvirtd: started if it is not running.
    subprocess.run([REPO / "scripts" / "services.sh"], check=True, stdout=subprocess.DEVNULL)
    with failing_hosts(dropped, refused) as kinds:
        names: dict[str, list[str]] = {kind: [] for kind in kinds}
        uris: dict[str, str] = {}
        # The kinds take turns, so that each worker gets some of both next to its healthy hosts.
        for i, (kind, uri) in enumerate(_interleaved(kinds)):
            names[kind].append(name_of(i))
            uris[name_of(i)] = uri
        every = list(uris)
        _register(uris)
        try:
            start = time.monotonic()
            first = _wait_each(every, lambda row: row["reachable"] is True, start, 180)
            if None in first.values():
                unread = sorted(name for name, seconds in first.items() if seconds is None)
                raise RuntimeError(
                    f"{len(unread)} failing hosts were never read ({unread[0]}…): their forwarders "
                    "reach this machine's libvirtd, which must run (scripts/services.sh)"
                )
            figures["first_read"] = _summary(list(first.values()))
            log(f"failing hosts read once: {figures['first_read']}")
            probes = ProbeSampler(healthy)
            probes.start()
            time.sleep(10)
            figures["healthy"]["before"] = {
                "last_checked_age": _healthy_ages(healthy),
                "probes": probes.sample(),
            }
            probes = ProbeSampler(healthy)
            probes.start()
            figures["unreachable_after"] = _after_each(
                kinds, names, "fail", lambda row: row["reachable"] is False, 120
            )
            figures["last_error"] = {
                kind: Host.objects.get(name=names[kind][0]).last_error for kind in kinds
            }
            log(f"unreachable after: {figures['unreachable_after']}")
            asked = []
            for name in every:
                host = Host.objects.get(name=name)
                asked += [_job(host, Op.PROBE).pk, _job(host, Op.START, MISSING_NETWORK).pk]
            time.sleep(3)  # the jobs are claimed and meet the failing host
            figures["healthy"]["during"] = {
                "last_checked_age": _healthy_ages(healthy),
                "probes": probes.sample(),  # from the failure to the restore
            }
            figures["back_after"] = _after_each(
                kinds, names, "restore", lambda row: row["reachable"] is True, 240
            )
            log(f"back after: {figures['back_after']}")
            ended = _wait_ended(asked, 120)
            figures["jobs"] = _jobs_figures(ended)
            figures["jobs"]["asked"] = len(asked)
            left = Job.objects.filter(host__name__in=every, state=Job.State.RUNNING)
            figures["jobs"]["left_running"] = left.count()
            if left and workers and dumps:
                figures["jobs"]["left"] = [
                    f"{job.pk} {job.operation} on {job.host.name}" for job in left
                ]
                figures["jobs"]["dumps"] = _dump(workers(), dumps)
            log(f"jobs on failing hosts: {figures['jobs']}")
        finally:
            _unregister(every)
    return figures


def _dump(pids: list[int], folder: Path) -> list[str]:
    """py-spy's dump of each process (every thread's stack) into `folder`; the files' paths."""
    from _profile import py_spy

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for pid in pids:
        path = folder / f"left-running-{pid}.txt"
        with open(path, "w") as out:
            subprocess.run([py_spy(), "dump", "--pid", str(pid)], stdout=out, stderr=out)
        paths.append(str(path))
    return paths


def _after_each(
    kinds: dict, names: dict[str, list[str]], action: str, done, timeout: float
) -> dict:
    """Do `action` (fail or restore) to every kind of failing host, then time how soon each
    host's row says `done`: the figures by kind."""
    began = time.monotonic()
    for hosts in kinds.values():
        getattr(hosts, action)()
    every = [name for kind in kinds for name in names[kind]]
    found = _wait_each(every, done, began, timeout)
    return {kind: _summary([found[name] for name in names[kind]]) for kind in kinds}


def _interleaved(kinds: dict[str, DroppedHosts | RefusedHosts]) -> list[tuple[str, str]]:
    """(kind, URI) of every failing host, the kinds taking turns."""
    lists = [[(kind, uri) for uri in hosts.uris] for kind, hosts in kinds.items()]
    longest = max(len(each) for each in lists)
    return [each[i] for i in range(longest) for each in lists if i < len(each)]


def _jobs_figures(ended: dict[int, tuple[str, str, float | None]]) -> dict:
    """How many jobs ended how: "state: message" → count (ids and ports written as N)."""
    outcomes: dict[str, int] = {}
    for state, message, _seconds in ended.values():
        said = f"{state}: {re.sub(r'[0-9]+', 'N', message)}"
        outcomes[said] = outcomes.get(said, 0) + 1
    return {"outcomes": outcomes}
