"""Benchmark: a fleet of libvirt hosts on this machine, grown 10 -> 50 -> 200 hosts and measured.

    .venv/bin/python bench/fleet.py [--sizes 10,50,200] [--json var/fleet.json]
        [--plot docs/fleet.svg] [--quick] [--keep] [--failures]

Everything runs here, of its own, in a temporary directory (/tmp/vnwt-fleet-*), and is stopped on
the way out, also on failure or Ctrl-C:
- a throw-away PostgreSQL cluster (Debian's newest in /usr/lib/postgresql, run as `postgres`,
  commits flushed as in production) and a redis-server without persistence, both on free
  loopback ports (bench/_services.py): their CPU and Redis's client list are the fleet's alone;
- the site as `make run` runs it: gunicorn vnetweb.asgi:application (gunicorn.conf.py: 2 uvicorn
  workers), `celery -A vnetweb beat` (the sweep every VNETWEB_REFRESH_SECONDS, 60 s), and one
  Celery worker (--pool=threads --concurrency=4) per 25 hosts, worker KK serving the queues of
  hosts vnwt-fKK-* (VNETWEB_WORKER_HOSTS). In production each KVM host runs its own worker for its
  own queue; here 200 worker processes (~100 MB each) do not fit, so each process serves 25 host
  queues, with the same code path per host (one libvirt connection, one event subscription and
  one queue per host). A worker is started when its first host is added; a running one takes the
  hosts added later by itself (the broadcast the site sends when a host is added, and beat's).
- the fleet: per host a libvirt test-driver file (bench/_fleet_hosts.py: 25 networks in every
  mode, 10 guests with one or two NICs), checked to open before use; Host rows with
  test:///PATH URIs (allowed through VNETWEB_TEST_HOSTS_DIR). Once the workers have read a host,
  5 of its networks are stopped through the site (jobs), and lease rows are written for its
  running DHCP networks (~100 a host, ~20,000 at 200 hosts): the test driver cannot list leases
  and the worker leaves lease rows of such hosts alone.

Measured at each size, printed beside the targets, then as one table (a column per size), as
JSON (--json) and as an SVG chart of the pages' p95 (--plot):
- pages over HTTP, one logged-in keep-alive client, --requests each after a warm-up: the list
  (default, ?q=, ?subnet=), a host page and the fleet-wide lease search: median, p95, SQL queries
  per request (in-process, django.test.Client + CaptureQueriesContext on the same PostgreSQL),
  and at the end p95 at the largest size / p95 at the smallest.
- busy: --streams live streams (/live/events/) held open over the users' sessions while
  --clients logged-in clients browse (list, filters, host pages, lease search, topology) about
  once a second each for --duration s: p95, errors; Redis clients before/after the streams were
  opened (one subscriber per web process, not one per page) and the web processes' RSS
  before/after (memory per open page). Meanwhile, in Chromium, --clicks rounds of Start clicked
  on an inactive network of a random host until its row reads "active". With --profile DIR, at
  the largest size, the web processes are sampled with py-spy and PostgreSQL logs every
  statement's time during the busy run (bench/_profile.py): DIR/busy-SIZE/summary.txt.
- idle: no clients, no streams, --idle s: CPU of beat, the workers, Redis and PostgreSQL (each
  with all its processes, /proc utime+stime incl. reaped children) over wall time.

- with --failures, at the largest size: 20 failing hosts join the fleet (bench/_failing.py: 10
  whose packets are dropped in a namespace, 10 whose port refuses), served by the fleet's
  workers; how soon each shows unreachable and comes back by itself, the healthy hosts' probes
  before and during, and the jobs asked of the failing hosts that are left running.

It is a report, not a test: it exits 0 whatever the figures, non-zero when it cannot run.
The machine's load average before and after is printed: other programs show in every figure.
"""

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(REPO)]  # bench/ is first (the script's folder); the checkout for `bench.*`
import _fleet_hosts as fh  # noqa: E402
import _fleet_load as fl  # noqa: E402
import httpx  # noqa: E402
from _failing import measure_failures  # noqa: E402
from _fleet_report import Table, svg_charts  # noqa: E402
from _procs import Programs, parent, tree, tree_cpu, tree_rss  # noqa: E402
from _profile import Profile, py_spy  # noqa: E402
from _profile import summary as profile_summary  # noqa: E402
from _services import free_port, postgres_cluster, redis_server  # noqa: E402
from pages import Timing, percentile, time_gets  # noqa: E402

from networks.redis_client import POOL_SIZE  # noqa: E402  (needs no settings to import)

ADMIN, ADMIN_PASSWORD = "fleet-admin", "fleet-admin-password-1"
USERS = 50
WEB_WORKERS = 2
# Redis connections 200 streams may add to the web processes: each process's subscription and its
# bounded pool (networks.redis_client.POOL_SIZE), whatever the number of pages.
BOUND = WEB_WORKERS * (1 + POOL_SIZE)
READ_TIMEOUT = 900.0
LIST = "/networks/"
BUSY = "busy: clients browsing + streams open"
# Text of the lease search: part of an address, so the search reads the whole lease table.
LEASE_QUERY = "10.16.1."
_OVERRIDDEN = ("VNETWEB_", "DATABASE_URL", "REDIS_URL", "DJANGO_")


def ms(seconds: float) -> float:
    return seconds * 1000


# --- the site ------------------------------------------------------------------------------------


def site_env(tmp: Path, hosts_dir: Path, database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of every program of the fleet (and of this process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OVERRIDDEN)}
    env.update(
        DJANGO_SETTINGS_MODULE="vnetweb.settings",
        VNETWEB_DATA_DIR=str(tmp),
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        VNETWEB_TEST_HOSTS_DIR=str(hosts_dir),
        VNETWEB_DEMO_HOST="false",
        VNETWEB_HTTPS="false",
        VNETWEB_LOG_LEVEL="WARNING",
        # 200 streams over 50 users is 4 each; Chromium's pages add a few to the admin's.
        VNETWEB_LIVE_STREAMS_PER_USER="16",
        VNETWEB_WEB_WORKERS=str(WEB_WORKERS),
    )
    return env


def configure(env: dict[str, str]) -> None:
    """This process uses the fleet's database: migrated, static files collected, users made."""
    for key in [k for k in os.environ if k.startswith(_OVERRIDDEN)]:
        del os.environ[key]
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # django.test.Client's "testserver", for the query counts
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    make_users()


def make_users() -> None:
    """The admin (who clicks in Chromium) and USERS viewers and operators (who browse). One
    password hash for all: each is ~0.5 s of CPU."""
    from django.contrib.auth.models import Group, User

    admin = User.objects.create_superuser(ADMIN, password=ADMIN_PASSWORD)
    groups = {name: Group.objects.get(name=name) for name in ("viewer", "operator")}
    for n in range(USERS):
        user = User(username=f"fleet-u{n:02d}", password=admin.password)
        user.save()
        user.groups.add(groups["operator" if n % 2 else "viewer"])


def sessions() -> list[dict[str, str]]:
    """A logged-in session of each browsing user (a real session row, as a login makes)."""
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    out = []
    for user in User.objects.filter(username__startswith="fleet-u").order_by("username"):
        client = Client()
        client.force_login(user)
        out.append(
            {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        )
    return out


def start_site(programs: Programs, tmp: Path) -> str:
    """gunicorn and beat, as `make run` runs them; returns the web's base URL once it answers."""
    venv = Path(sys.executable).parent
    port = free_port()
    programs.start(
        "web", [str(venv / "gunicorn"), "vnetweb.asgi:application", "--bind", f"127.0.0.1:{port}"]
    )
    programs.start(
        "beat",
        [
            str(venv / "celery"),
            "-A",
            "vnetweb",
            "beat",
            "--schedule",
            str(tmp / "celerybeat-schedule"),
            "--loglevel=WARNING",
        ],
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        programs.check()
        with suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz/", timeout=2).status_code == 200:
                return base
        time.sleep(0.3)
    raise RuntimeError("the web server did not answer /healthz/ within 60 s")


def start_worker(programs: Programs, k: int) -> None:
    """Worker k, serving the queues of hosts vnwt-fKK-* (like make run's worker-hosts)."""
    venv = Path(sys.executable).parent
    argv = [
        str(venv / "celery"),
        "-A",
        "vnetweb",
        "worker",
        "-Q",
        "vnetweb",
        "-n",
        f"fleet{k:02d}@%h",
        "--pool=threads",
        "--concurrency=4",
        "--loglevel=WARNING",
    ]
    programs.start(f"worker{k:02d}", argv, {"VNETWEB_WORKER_HOSTS": fh.worker_pattern(k)})


# --- the fleet -----------------------------------------------------------------------------------


class Fleet:
    """The hosts made so far, and the workers serving them."""

    def __init__(self, hosts_dir: Path, programs: Programs) -> None:
        self.hosts_dir, self.programs = hosts_dir, programs
        self.count = 0
        self.workers: set[int] = set()

    def names(self) -> list[str]:
        return [fh.host_name(n) for n in range(self.count)]

    def grow(self, size: int, table: Table) -> None:
        """Add hosts up to `size`: files, checks, rows, workers; wait until each host was read,
        stop its STOPPED networks through the site, write its leases. Says how long each took."""
        from networks.models import Host
        from networks.workers import broadcast_sync

        new = range(self.count, size)
        t = time.perf_counter()
        uris = {n: fh.write_host(self.hosts_dir, n) for n in new}
        for uri in uris.values():
            counts = fh.check_opens(uri)
            if counts != (fh.NETWORKS, fh.GUESTS):
                raise RuntimeError(f"{uri} opens with {counts} (networks, guests)")
        table.put("build: host files written and opened", size, time.perf_counter() - t, "s")
        t = time.perf_counter()
        Host.objects.bulk_create(
            Host(name=fh.host_name(n), uri=uris[n], description="fleet bench") for n in new
        )
        self.count = size
        broadcast_sync()  # what the site does when a host is added: running workers take it
        for k in sorted({n // fh.HOSTS_PER_WORKER for n in new} - self.workers):
            start_worker(self.programs, k)
            self.workers.add(k)
        self.wait_read()
        table.put("build: until every host was read", size, time.perf_counter() - t, "s")
        t = time.perf_counter()
        self.stop_networks([fh.host_name(n) for n in new])
        table.put("build: 5 networks a host stopped (jobs)", size, time.perf_counter() - t, "s")
        t = time.perf_counter()
        added = insert_leases(new)
        table.put("build: lease rows written", size, time.perf_counter() - t, "s")
        from networks.models import Lease, Network

        table.put("fleet: networks", size, Network.objects.count())
        table.put("fleet: active networks", size, Network.objects.filter(active=True).count())
        table.put("fleet: leases", size, Lease.objects.count())
        print(f"  ({added} leases added; workers running: {len(self.workers)})")

    def wait_read(self) -> None:
        """Until every host has been seen by its worker with all its networks."""
        from django.db.models import Count

        from networks.models import Host

        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            self.programs.check()
            done = (
                Host.objects.filter(last_seen__isnull=False)
                .annotate(n=Count("networks"))
                .filter(n=fh.NETWORKS)
                .count()
            )
            if done == self.count:
                return
            time.sleep(0.5)
        raise RuntimeError(f"only {done} of {self.count} hosts read within {READ_TIMEOUT:.0f} s")

    def stop_networks(self, hosts: list[str]) -> None:
        """Stop each new host's STOPPED networks as a user would (a job each, through its host's
        queue), and wait until the rows read inactive."""
        from django.contrib.auth.models import User

        from networks.jobs import create_job
        from networks.models import Job, Network
        from networks.operations import Op

        admin = User.objects.get(username=ADMIN)
        names = [p.name for n in range(self.count) for p in fh.plan(n) if p.stopped]
        targets = Network.objects.filter(host__name__in=hosts, name__in=names).select_related(
            "host"
        )
        jobs = [create_job(admin, net.host, Op.STOP, net).pk for net in targets]
        deadline = time.monotonic() + READ_TIMEOUT
        while time.monotonic() < deadline:
            left = Job.objects.filter(pk__in=jobs).exclude(state__in=Job.FINISHED).count()
            active = Network.objects.filter(host__name__in=hosts, name__in=names, active=True)
            if not left and not active.exists():
                failed = Job.objects.filter(pk__in=jobs, state=Job.State.FAILED)
                if failed.exists():
                    raise RuntimeError(f"stop jobs failed: {failed.first().message}")
                return
            time.sleep(0.5)
        raise RuntimeError(f"{left} stop jobs unfinished after {READ_TIMEOUT:.0f} s")


def insert_leases(new: range) -> int:
    """Lease rows on the running DHCP networks of the new hosts: 7 each (8 on every third), inside
    the DHCP range; hostnames and MACs unique in the fleet."""
    from django.utils import timezone

    from networks.models import Lease, Network

    expires = timezone.now() + timedelta(hours=1)
    ids = dict(
        Network.objects.filter(host__name__in=[fh.host_name(n) for n in new]).values_list(
            "name", "pk"
        )
    )
    rows = []
    for n in new:
        for i, net in enumerate(fh.plan(n)):
            if not net.dhcp or net.stopped:
                continue
            addresses = list(net.subnet.hosts())
            for k in range(7 + (i % 3 == 0)):
                rows.append(
                    Lease(
                        network_id=ids[net.name],
                        mac=f"52:54:01:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}:{i * 10 + k:02x}",
                        ip=str(addresses[120 + k]),
                        prefix=24,
                        hostname=f"{net.name}-c{k}",
                        expires=expires,
                    )
                )
    Lease.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- pages ---------------------------------------------------------------------------------------


def page_urls(fleet: Fleet) -> dict[str, str]:
    first = fleet.names()[0]
    return {
        "list": LIST,
        "list ?q=": f"{LIST}?q=n07",
        "list ?subnet=": f"{LIST}?subnet=10.16.0.0/16",
        "host page": f"/hosts/{first}/",
        "lease search": f"/leases/?q={LEASE_QUERY}",
    }


def count_queries(url: str, username: str) -> tuple[int, int, float]:
    """(SQL queries, status, seconds the database took for them) of one GET of `url` as
    `username`, in-process, after a warm-up."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    seconds = sum(float(q["time"]) for q in ctx.captured_queries)
    return len(ctx.captured_queries), response.status_code, seconds


def measure_pages(
    table: Table, base: str, fleet: Fleet, cookie: dict[str, str], args
) -> dict[str, Timing]:
    out = {}
    with httpx.Client(base_url=base, cookies=cookie, timeout=fl.TIMEOUT) as client:
        for name, url in page_urls(fleet).items():
            timing = time_gets(client, url, args.requests, args.warmup)
            out[name] = timing
            target = "<= 60 ms at largest" if name == "lease search" else "<= 40 ms at largest"
            table.put(f"{name} median", fleet.count, ms(timing.median), "ms")
            table.put(f"{name} p95", fleet.count, ms(timing.p95), "ms", target)
            if timing.errors:
                table.put(f"{name} errors", fleet.count, timing.error_text())
            queries, status, seconds = count_queries(url, "fleet-u00")
            shown = queries if status == 200 else f"{queries} (HTTP {status})"
            table.put(f"{name} SQL queries", fleet.count, shown, "", "same at every size")
            table.put(f"{name} SQL time (one request)", fleet.count, ms(seconds), "ms")
            table.put(f"{name} size (KiB)", fleet.count, round(timing.size / 1024, 1))
    return out


# --- busy ----------------------------------------------------------------------------------------


def browse_pages(fleet: Fleet) -> dict[str, list[str]]:
    names = fleet.names()
    return {
        "list": [LIST, f"{LIST}?page=2"],
        "filters": [f"{LIST}?q=n{i:02d}" for i in range(0, 25, 3)]
        + [f"{LIST}?mode=route", f"{LIST}?state=inactive", f"{LIST}?subnet=10.16.0.0/20"],
        "host page": [f"/hosts/{h}/" for h in names],
        "lease search": [f"/leases/?q={q}" for q in (LEASE_QUERY, "-c3", "52:54:01:00:0")],
        "topology": [f"/hosts/{h}/topology/" for h in names],
    }


def click_targets(fleet: Fleet, rounds: int) -> list[str]:
    rng = random.Random(fleet.count)
    hosts = rng.sample(range(fleet.count), min(rounds, fleet.count))
    while len(hosts) < rounds:
        hosts.append(rng.randrange(fleet.count))
    return [rng.choice([p.name for p in fh.plan(n) if p.stopped]) for n in hosts]


def web_state(ctx: dict) -> dict:
    """What the web holds: Redis clients (all, subscribed, by last command), its processes' RSS
    and threads, and PostgreSQL's connections."""
    import redis

    conn = redis.Redis.from_url(ctx["redis_url"])
    try:
        clients = [c for c in conn.client_list() if c.get("cmd") != "client|list"]
    finally:
        conn.close()
    pids = tree(ctx["web_pids"])
    return {
        "redis": len(clients),
        "subscribed": sum(1 for c in clients if int(c.get("sub", 0)) + int(c.get("psub", 0))),
        "redis_cmds": Counter(c.get("cmd", "?") for c in clients),
        "rss": tree_rss(ctx["web_pids"]),
        "threads": sum(len(list(Path(f"/proc/{pid}/task").iterdir())) for pid in pids),
        "pg": pg_connections(),
    }


def pg_connections() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        )
        return cursor.fetchone()[0] - 1  # this probe's own


async def busy(base: str, port: int, cookies: list[dict[str, str]], fleet: Fleet, args, ctx: dict):
    """Streams open, clients browsing, Chromium clicking; the figures into ctx."""
    ready, go = threading.Event(), threading.Event()
    targets = click_targets(fleet, args.clicks)
    clicking = asyncio.create_task(
        asyncio.to_thread(fl.click_rounds, base, ADMIN, ADMIN_PASSWORD, targets, ready, go)
    )
    await asyncio.to_thread(ready.wait, 120)  # Chromium up and logged in, before the load
    pages = browse_pages(fleet)
    # The controls: the same clients without streams and clicks, then with the streams only,
    # to tell what each costs.
    ctx["control"] = await browse_for(base, cookies, pages, args.duration / 2)
    ctx["before"] = await asyncio.to_thread(web_state, ctx)
    streams = fl.Streams(port)
    header = [f"{k}={v}" for c in cookies for k, v in c.items()]
    ctx["streams_open"] = await streams.open(header, args.streams)
    ctx["streams_refused"] = dict(streams.refused)
    await asyncio.sleep(2)
    ctx["after"] = await asyncio.to_thread(web_state, ctx)
    ctx["streams_only"] = await browse_for(base, cookies, pages, args.duration / 2)
    until = asyncio.Event()
    cpu_before = {name: tree_cpu(pids) for name, pids in ctx["groups"]().items()}
    cpu, started = time.process_time(), time.monotonic()
    browsing = asyncio.create_task(fl.browse(base, cookies, pages, until))
    await asyncio.sleep(2)  # the clients are browsing
    profile = ctx.get("profile")
    try:
        if profile:
            await asyncio.to_thread(profile.__enter__)
    finally:
        go.set()  # also on failure: the clicking thread must not wait for ever
    try:
        ctx["clicks"] = await clicking
    except Exception as exc:  # Chromium missing or broken: the rest of the figures still count
        failure = f"{type(exc).__name__}: {exc}"
        ctx["clicks"] = {"start_ms": [], "stop_ms": [], "failures": [failure]}
    await asyncio.sleep(max(0, args.duration - (time.monotonic() - started)))
    ctx["streams_alive"] = streams.alive()
    if profile:
        await asyncio.to_thread(profile.__exit__, None, None, None)
    until.set()
    ctx["browsing"] = await browsing
    wall = time.monotonic() - started
    ctx["client_cpu"] = (time.process_time() - cpu) / wall
    ctx["busy_cpu"] = {
        name: 100 * (tree_cpu(pids) - cpu_before[name]) / wall
        for name, pids in ctx["groups"]().items()
    }
    ctx["busy_seconds"] = time.monotonic() - started
    ctx["stream_bytes"] = streams.bytes
    await streams.close()


async def browse_for(base: str, cookies, pages: dict, seconds: float) -> fl.Browsing:
    until = asyncio.Event()
    browsing = asyncio.create_task(fl.browse(base, cookies, pages, until))
    await asyncio.sleep(seconds)
    until.set()
    return await browsing


def cpu_groups(programs: Programs, redis_pid: int, pg_pid: int) -> dict[str, list[int]]:
    """The programs whose CPU is told apart, each a list of root processes."""
    me = os.getpid()
    return {
        "beat": programs.pids("beat"),
        "workers": programs.pids("worker"),
        "redis": [redis_pid],
        "postgresql": [pg_pid],
        "web": programs.pids("web"),
        # This process's children: Playwright's driver and Chromium.
        "chromium": [pid for pid in tree([me]) if pid != me and parent(pid) == me],
    }


def measure_busy(table: Table, base: str, fleet: Fleet, programs: Programs, services: tuple, args):
    size = fleet.count
    redis_url, redis_pid, pg_pid, database_url = services
    ctx = {
        "web_pids": programs.pids("web"),
        "redis_url": redis_url,
        "groups": lambda: cpu_groups(programs, redis_pid, pg_pid),
    }
    if args.profile and size == args.sizes[-1]:
        # The web processes are the gunicorn master's children; most of the busy run is sampled.
        web = [pid for pid in tree(programs.pids("web")) if pid not in programs.pids("web")]
        seconds = max(5, args.duration - 6)
        ctx["profile"] = Profile(args.profile / f"busy-{size}", web, database_url, seconds)
    cookies = sessions()[: args.clients]
    asyncio.run(busy(base, int(base.rsplit(":", 1)[1]), cookies, fleet, args, ctx))
    b: fl.Browsing = ctx["browsing"]
    lat = b.latencies
    name = BUSY
    table.put(f"{name}, requests", size, f"{len(lat)} in {b.elapsed:.0f} s")
    table.put(f"{name}, p50", size, ms(percentile(lat, 50)), "ms")
    table.put(f"{name}, p95", size, ms(percentile(lat, 95)), "ms", "<= 150 ms")
    for kind, samples in sorted(b.by_kind.items()):
        table.put(f"busy: {kind} p95", size, ms(percentile(samples, 95)), "ms")
    table.put(f"{name}, errors", size, b.error_text(), "", "0")
    for key, label in (
        ("control", "no streams, no clicks"),
        ("streams_only", "streams, no clicks"),
    ):
        c: fl.Browsing = ctx[key]
        table.put(f"control: {label}, p95", size, ms(percentile(c.latencies, 95)), "ms")
        table.put(f"control: {label}, errors", size, c.error_text())
    table.put("busy: streams open (answered 200)", size, ctx["streams_open"], "", f"{args.streams}")
    if ctx["streams_refused"]:
        table.put("busy: streams refused", size, str(ctx["streams_refused"]))
    table.put("busy: streams still open at the end", size, ctx["streams_alive"])
    before, after = ctx["before"], ctx["after"]
    table.put("redis clients before/after streams", size, f"{before['redis']} -> {after['redis']}")
    added = after["redis"] - before["redis"]
    table.put("redis clients added by the streams", size, added, "", f"<= {BOUND}")
    table.put(
        "redis subscribers before/after", size, f"{before['subscribed']} -> {after['subscribed']}"
    )
    new_cmds = after["redis_cmds"] - before["redis_cmds"]
    table.put(
        "redis: last command of the added clients",
        size,
        ", ".join(f"{cmd} x{n}" for cmd, n in new_cmds.most_common(3)),
    )
    table.put(
        "web threads before/after streams", size, f"{before['threads']} -> {after['threads']}"
    )
    table.put(
        "postgresql connections before/after streams", size, f"{before['pg']} -> {after['pg']}"
    )
    rss_b, rss_a = before["rss"], after["rss"]
    table.put(
        "web RSS before/after streams", size, f"{rss_b / 2**20:.0f} -> {rss_a / 2**20:.0f} MiB"
    )
    per_page = (rss_a - rss_b) / max(1, ctx["streams_open"]) / 1024
    table.put("web memory per open page (KiB)", size, round(per_page, 1))
    table.put("busy: load generator CPU (% of one core)", size, 100 * ctx["client_cpu"], "%")
    for name, value in ctx["busy_cpu"].items():
        table.put(f"busy CPU: {name}", size, value, "%")
    clicks = ctx["clicks"]
    starts = [s / 1000 for s in clicks["start_ms"]]
    if starts:
        table.put("click Start -> row active, median", size, ms(statistics.median(starts)), "ms")
        table.put(
            "click Start -> row active, p95", size, ms(percentile(starts, 95)), "ms", "<= 500 ms"
        )
        table.put("click Start -> row active, rounds", size, len(starts))
    if clicks["stop_ms"]:
        stops = [s / 1000 for s in clicks["stop_ms"]]
        table.put("click Stop -> row inactive, median", size, ms(statistics.median(stops)), "ms")
    if clicks["failures"]:
        table.put("click failures", size, len(clicks["failures"]))
        for failure in clicks["failures"][:3]:
            print(f"    {failure}")
    return ctx


# --- idle ----------------------------------------------------------------------------------------


def measure_idle(
    table: Table, fleet: Fleet, programs: Programs, redis_pid: int, pg_pid: int, args
) -> dict:
    """CPU of beat, workers, Redis and PostgreSQL while nobody uses the site, in % of one core."""
    time.sleep(args.settle)
    groups = cpu_groups(programs, redis_pid, pg_pid)
    del groups["chromium"]
    groups["web (information)"] = groups.pop("web")
    before = {name: tree_cpu(pids) for name, pids in groups.items()}
    t = time.monotonic()
    time.sleep(args.idle)
    wall = time.monotonic() - t
    share = {name: 100 * (tree_cpu(pids) - before[name]) / wall for name, pids in groups.items()}
    size = fleet.count
    for name, value in share.items():
        table.put(f"idle CPU: {name}", size, value, "%")
    total = sum(v for k, v in share.items() if not k.startswith("web"))
    table.put("idle CPU: beat+workers+redis+postgresql", size, total, "%", "<= 25 % at 200 hosts")
    return share


# --- the run -------------------------------------------------------------------------------------


def judge(table: Table, sizes: list[int]) -> None:
    """Verdicts on the largest size, and the growth from the smallest."""
    small, large = sizes[0], sizes[-1]
    for page in ("list", "list ?q=", "list ?subnet=", "host page", "lease search"):
        fig = table.figures.get(f"{page} p95")
        if fig is None or large not in fig.by_size:
            continue
        limit = 60 if page == "lease search" else 40
        table.judge(f"{page} p95", fig.by_size[large] <= limit)
        if small != large and small in fig.by_size:
            # The growth target is the list's and the host page's; the lease search's is its p95.
            ratio = fig.by_size[large] / fig.by_size[small]
            bounded = page != "lease search"
            table.put(f"{page} p95 / p95 @{small}", large, ratio, "x", "<= 1.5" if bounded else "")
            table.judge(f"{page} p95 / p95 @{small}", ratio <= 1.5 if bounded else None)
        queries = table.figures[f"{page} SQL queries"].by_size.values()
        table.judge(f"{page} SQL queries", len(set(queries)) == 1)
    checks = {
        f"{BUSY}, p95": lambda v: v <= 150,
        "click Start -> row active, p95": lambda v: v <= 500,
        "idle CPU: beat+workers+redis+postgresql": lambda v: v <= 25,
    }
    for name, ok in checks.items():
        fig = table.figures.get(name)
        if fig and large in fig.by_size:
            table.judge(name, ok(fig.by_size[large]))
    for name, fig in table.figures.items():
        if name.endswith(", errors"):
            table.judge(name, all(str(v).startswith("0 of") for v in fig.by_size.values()))
        if name == "redis clients added by the streams":
            table.judge(name, all(v <= BOUND for v in fig.by_size.values()))


def plot(table: Table, path: Path) -> None:
    """Two panels: each page alone (one client), and the busy mix by kind of page."""
    pages = ("list", "list ?q=", "list ?subnet=", "host page", "lease search")
    alone = {
        p: dict(table.figures[f"{p} p95"].by_size) for p in pages if f"{p} p95" in table.figures
    }
    busy = {
        name.removeprefix("busy: ").removesuffix(" p95"): dict(fig.by_size)
        for name, fig in table.figures.items()
        if name.startswith("busy: ") and name.endswith(" p95") and "," not in name
    }
    if f"{BUSY}, p95" in table.figures:
        busy["all (target 150)"] = dict(table.figures[f"{BUSY}, p95"].by_size)
    for name in ("control: no streams, no clicks, p95", "control: streams, no clicks, p95"):
        if name in table.figures:
            busy[name.removeprefix("control: ").removesuffix(", p95")] = dict(
                table.figures[name].by_size
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        svg_charts(
            [
                ("Each page, one client: p95", alone, 40),
                ("50 clients + 200 streams + clicks: p95", busy, 150),
            ]
        )
    )


def failures_hook(table: Table, fleet: Fleet, programs: Programs, details: dict) -> None:
    """--failures: 10 hosts whose packets are dropped and 10 whose port refuses (bench/_failing.py)
    join the running fleet, named among its hosts (vnwt-fKK-downNN) so that the fleet's workers
    serve them next to healthy hosts; each figure is a row at the fleet's largest size, the raw
    figures go to the JSON. This process's Django is already on the fleet's database (configure)."""
    size = fleet.count
    load = os.getloadavg()[0]
    print(f"\n-- failures: 20 failing hosts among {size} (load average {load:.2f})")
    figures = measure_failures(
        fleet.names(),
        log=lambda line: print(f"  {line}"),
        workers=lambda: programs.pids("worker"),
        dumps=programs.tmp,
    )
    programs.check()
    details["failures"] = figures
    table.put(
        "failures: load average before/after", size, f"{load:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    table.put(
        "failures: failing hosts read once (median/max)", size, _spread(figures["first_read"])
    )
    for kind, summary in figures["unreachable_after"].items():
        name = f"failures: {kind} shown unreachable after (median/max)"
        table.put(name, size, _spread(summary), "", "<= 30 s")
        table.judge(name, not summary["never"] and summary["max_s"] <= 30)
    for kind, summary in figures["back_after"].items():
        name = f"failures: {kind} back by themselves after (median/max)"
        table.put(name, size, _spread(summary), "", "all back")
        table.judge(name, not summary["never"])
    for when in ("before", "during"):
        healthy = figures["healthy"][when]
        probes = healthy["probes"]
        name = f"failures: healthy hosts' probe {when} (median/max)"
        table.put(name, size, _spread(probes) + f", {probes['probes']} probes")
        ages = healthy["last_checked_age"]
        if ages:
            name = f"failures: healthy hosts' last read age {when} (median/max)"
            table.put(name, size, f"{ages['median_s']} / {ages['max_s']} s")
    jobs = figures["jobs"]
    table.put("failures: jobs asked of failing hosts", size, jobs["asked"])
    table.put("failures: jobs left running", size, jobs["left_running"], "", "0")
    table.judge("failures: jobs left running", jobs["left_running"] == 0)
    for outcome, count in sorted(jobs["outcomes"].items()):
        print(f"    {count} x {outcome}")


def _spread(summary: dict) -> str:
    """'median / max s' of one of _failing's summaries, and how many never got there."""
    if summary["median_s"] is None:
        return "never"
    never = f" ({summary['never']} never)" if summary["never"] else ""
    return f"{summary['median_s']} / {summary['max_s']} s{never}"


def run(args, tmp: Path, table: Table, details: dict) -> None:
    hosts_dir = tmp / "hosts"
    hosts_dir.mkdir()
    with ExitStack() as stack:
        # Commits flushed to disk, as in production: the jobs' and clicks' figures include it.
        pg = stack.enter_context(postgres_cluster(tmp, ["127.0.0.1"], durable=True))
        redis = stack.enter_context(redis_server(tmp, ["127.0.0.1"]))
        database_url, redis_url = pg.url(), redis.url()
        env = site_env(tmp, hosts_dir, database_url, redis_url)
        print(f"PostgreSQL: {database_url}\nRedis: {redis_url}")
        t = time.perf_counter()
        configure(env)
        print(
            f"migrated, static files collected, {USERS + 1} users ({time.perf_counter() - t:.1f} s)"
        )
        programs = stack.enter_context(Programs(tmp, env, REPO))
        base = start_site(programs, tmp)
        print(f"web {base}; logs in {tmp}")
        fleet = Fleet(hosts_dir, programs)
        viewer = sessions()[0]
        for size in args.sizes:
            print(f"\n== {size} hosts (load average {os.getloadavg()[0]:.2f})")
            fleet.grow(size, table)
            time.sleep(args.settle)  # the new hosts' first reads and jobs are over
            print(f"-- pages (load average {os.getloadavg()[0]:.2f})")
            measure_pages(table, base, fleet, viewer, args)
            print(f"-- busy (load average {os.getloadavg()[0]:.2f})")
            services = (redis_url, redis.pid, pg.pid, database_url)
            ctx = measure_busy(table, base, fleet, programs, services, args)
            if "profile" in ctx:
                print(profile_summary(ctx["profile"].out))
            details[f"clicks_{size}"] = ctx["clicks"]
            print(f"-- idle (load average {os.getloadavg()[0]:.2f})")
            measure_idle(table, fleet, programs, redis.pid, pg.pid, args)
            programs.check()
            details[f"loadavg_after_{size}"] = os.getloadavg()
        if args.failures:
            failures_hook(table, fleet, programs, details)
        if args.hold:
            hold(args.hold, base, programs, tmp)


def hold(seconds: float, base: str, programs: Programs, tmp: Path) -> None:
    """Keep the fleet running, idle, for a profiler (py-spy) or a look around; Ctrl-C ends it."""
    print(f"\nHolding the fleet for {seconds:.0f} s: web {base}, logs in {tmp}")
    for name, proc in programs.procs.items():
        print(f"  {name}: pid {proc.pid}")
    time.sleep(seconds)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10,50,200", help="fleet sizes in hosts, growing")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--plot", type=Path, help="write the pages' p95 chart here (SVG)")
    parser.add_argument("--quick", action="store_true", help="fewer requests, shorter runs")
    parser.add_argument("--requests", type=int, help="timed requests per page (200; 50 quick)")
    parser.add_argument("--warmup", type=int, help="untimed requests first (20; 5 quick)")
    parser.add_argument("--duration", type=float, help="seconds of the busy run (30; 10 quick)")
    parser.add_argument("--clicks", type=int, help="Start clicks in Chromium (15; 5 quick)")
    parser.add_argument("--idle", type=float, help="seconds the idle CPU is taken over (60; 20)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before the idle run")
    parser.add_argument("--clients", type=int, default=50, help="browsing clients")
    parser.add_argument("--streams", type=int, default=200, help="open live streams")
    parser.add_argument("--failures", action="store_true", help="also bench/_failing.py's part")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--profile",
        type=Path,
        help="profile the busy run at the largest size into this folder (bench/_profile.py)",
    )
    parser.add_argument(
        "--hold", type=float, default=0, help="seconds to keep the fleet up at the end"
    )
    args = parser.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    defaults = {
        "requests": (200, 50),
        "warmup": (20, 5),
        "duration": (30.0, 10.0),
        "clicks": (15, 5),
        "idle": (60.0, 20.0),
    }
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    if args.clients > USERS:
        parser.error(f"at most {USERS} clients (one user each)")
    if args.profile:
        try:
            py_spy()
        except RuntimeError as exc:
            parser.error(str(exc))
    return args


def main() -> int:
    args = parse()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds: everything is stopped
    tmp = Path(tempfile.mkdtemp(prefix="vnwt-fleet-"))
    table = Table(args.sizes)
    details: dict = {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; working in {tmp}")
    started = time.perf_counter()
    try:
        run(args, tmp, table, details)
    finally:
        details["loadavg_after"] = os.getloadavg()
        details["seconds"] = round(time.perf_counter() - started)
        judge(table, args.sizes)
        print(
            f"\n== summary ({details['seconds']} s; load average "
            f"{details['loadavg_before'][0]:.2f} before, {details['loadavg_after'][0]:.2f} after)\n"
        )
        print(table.text())
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            when = datetime.now(UTC).isoformat(timespec="seconds")
            out = {"when": when, "options": vars(args), "figures": table.json(), **details}
            args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
            print(f"\nWrote {args.json}")
        if args.plot and table.figures:
            plot(table, args.plot)
            print(f"Wrote {args.plot}")
        if args.keep:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    with suppress(KeyboardInterrupt):
        sys.exit(main())
    sys.exit(130)
