"""Benchmark: the pages as a browser gets them, from the production web server, under load.

    .venv/bin/python bench/pages.py [--quick] [--json out.json]
        [--requests 200] [--warmup 20] [--duration 20] [--clients 50] [--http-logins] [--keep]

bench/network_list.py measures vnetweb's own cost in-process; this measures what a user waits for:
the real server that `make run` starts (gunicorn with 2 uvicorn workers serving vnetweb.asgi,
SQLite, whitenoise and every middleware), over HTTP on loopback, logged in through the login
form. It prints each figure beside its target with PASS or FAIL as it goes, then a summary table
(and writes it as JSON with --json). It is a report, not a test: it exits 0 whatever the figures,
and non-zero only when it cannot run (e.g. the server does not start). The temporary directory,
with the server's log, is removed at the end unless --keep.

Set-up (all in a temporary directory, see bench/_site.py): a migrated SQLite database with a
superuser and 4 hosts, networks written by networks.worker.sync.record_snapshot, grown from 10
to 100 to 1000 networks while the one server keeps running; about a third active, a quarter
autostarted, a queued job on every 15th network, and network h0/net0-0 with 500 DHCP leases. No
libvirt; Redis (database 13) only receives the live-update messages that record_snapshot sends.

What it measures, and why:
- GET /networks/ at 10, 100 and 1000 networks, one keep-alive client, after a warm-up: median
  and p95 of --requests requests, and the page's size. At 100 networks (a typical site) the page
  must feel instant (median <= 25 ms, p95 <= 35 ms); at 1000 it must not cost more than at 10
  (p95 <= 1.5 x p95 at 10 networks, and < 40 ms): the page must not grow with the site.
- SQL queries per list request at each size, in-process (django.test.Client and
  CaptureQueriesContext on the same database): the same at every size, i.e. no query per row.
- /networks/?q=net1 and /networks/?page=2 (information): the filtered and paged list.
- GET of the network with 500 leases: p95 <= 30 ms (big lease tables render fast).
- Load at 100 networks with --clients concurrent clients, each its own session and connection
  (asyncio + httpx.AsyncClient), for --duration seconds:
  "people": each requests the list, then waits 1 s +-20% (a busy site: ~45 pages a second, far
  more than 50 people reading pages ask for); target p95 <= 150 ms and no errors (non-200 or
  exceptions).
  "closed loop": no pause; throughput and latencies, for information (the server's ceiling).
  Load sessions are made in-process (a real session row each, as the login makes) to spare 50
  password hashes of ~0.5 s CPU each; --http-logins logs each client in through the form instead.

The load generator runs on the same machine as the server and competes with it for CPU: on a
small machine (2 CPUs) the closed-loop figures are partly the client's. Anything else running
(a test suite) shows in every figure.
"""

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

# bench/_site.py: Python puts a script's directory first on sys.path.
import _site
import httpx

HOSTS = 4
SIZES = (10, 100, 1000)
LOAD_SIZE = 100
LIST = "/networks/"
TIMEOUT = 10.0


# --- figures -------------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass
class Timing:
    """Latencies of one URL (seconds), with the status codes and the last response's size."""

    url: str
    samples: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    size: int = 0
    exceptions: int = 0

    @property
    def errors(self) -> int:
        return self.exceptions + sum(n for code, n in self.statuses.items() if code != 200)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def error_text(self) -> str:
        parts = [f"HTTP {code} x{n}" for code, n in sorted(self.statuses.items()) if code != 200]
        if self.exceptions:
            parts.append(f"exception x{self.exceptions}")
        return ", ".join(parts)


@dataclass
class Row:
    figure: str
    measured: str
    target: str
    verdict: str  # PASS, FAIL, INFO or ERROR
    # The number behind `measured`, for tools reading the JSON: seconds, bytes, counts or a ratio.
    value: float | None = None


class Report:
    """Rows printed as they come, then all of them as a table (and JSON)."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.details: dict[str, object] = {}

    def add(
        self,
        figure: str,
        measured: str,
        target: str = "",
        ok: bool | None = None,
        value: float | None = None,
    ) -> None:
        """One figure; `ok` None means information only (no target)."""
        verdict = "INFO" if ok is None else "PASS" if ok else "FAIL"
        row = Row(figure, measured, target or "-", verdict, value)
        self.rows.append(row)
        print(f"  {figure}: {measured}" + (f"  [target {target}: {verdict}]" if target else ""))

    def error(self, figure: str, exc: BaseException) -> None:
        self.rows.append(Row(figure, f"{type(exc).__name__}: {exc}"[:80], "-", "ERROR"))
        print(f"  {figure}: ERROR")
        traceback.print_exc()

    def timing(self, figure: str, t: Timing, median_max=None, p95_max=None) -> bool:
        """Median and p95 rows for `t`, with their targets if given; False when t had errors."""
        if t.errors:
            self.add(f"{figure} errors", f"{t.error_text()} of {len(t.samples)}", "none", False)
        ok = not t.errors
        median_ok = None if median_max is None else ok and t.median <= median_max
        p95_ok = None if p95_max is None else ok and t.p95 <= p95_max
        med_target = f"<= {ms(median_max)}" if median_max is not None else ""
        p95_target = f"<= {ms(p95_max)}" if p95_max is not None else ""
        self.add(f"{figure} median", ms(t.median), med_target, median_ok, t.median)
        self.add(f"{figure} p95", ms(t.p95), p95_target, p95_ok, t.p95)
        return ok

    def table(self) -> str:
        head = Row("figure", "measured", "target", "result")
        widths = [
            max(len(getattr(r, f)) for r in [head, *self.rows])
            for f in ("figure", "measured", "target")
        ]
        lines = []
        for r in [head, *self.rows]:
            cells = [
                r.figure.ljust(widths[0]),
                r.measured.ljust(widths[1]),
                r.target.ljust(widths[2]),
            ]
            lines.append("  ".join([*cells, r.verdict]))
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join(lines)

    def json(self, args: argparse.Namespace) -> dict:
        return {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "options": vars(args),
            "rows": [asdict(r) for r in self.rows],
            "details": self.details,
        }


# --- single client --------------------------------------------------------------------------------


def time_gets(client: httpx.Client, url: str, requests: int, warmup: int) -> Timing:
    """Warm up, then time `requests` sequential GETs of `url` on one keep-alive connection."""
    timing = Timing(url)
    for _ in range(warmup):
        with suppress(httpx.HTTPError):
            client.get(url)
    for _ in range(requests):
        start = time.perf_counter()
        try:
            response = client.get(url)
        except httpx.HTTPError:
            timing.exceptions += 1
            timing.samples.append(time.perf_counter() - start)
            continue
        timing.samples.append(time.perf_counter() - start)
        timing.statuses[response.status_code] += 1
        timing.size = len(response.content)
    return timing


def count_queries(url: str) -> tuple[int, int]:
    """(SQL queries, status) of one GET of `url`, in-process, logged in, after one warm-up GET."""
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(raise_request_exception=False)
    client.force_login(User.objects.get(username=_site.USERNAME))
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return len(ctx.captured_queries), response.status_code


# --- load -----------------------------------------------------------------------------------------


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    exception_types: Counter = field(default_factory=Counter)
    elapsed: float = 0.0
    # CPU this process (the load generator) used meanwhile: high means it limits the figures.
    client_cpu: float = 0.0

    @property
    def exceptions(self) -> int:
        return sum(self.exception_types.values())

    @property
    def errors(self) -> int:
        return self.exceptions + sum(n for code, n in self.statuses.items() if code != 200)

    def summary(self) -> dict:
        lat = self.latencies
        return {
            "requests": len(lat),
            "errors": self.errors,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "exceptions": dict(self.exception_types),
            "elapsed_s": round(self.elapsed, 2),
            "req_per_s": round(len(lat) / max(self.elapsed, 1e-9), 1),
            "client_cpu_percent": round(100 * self.client_cpu / max(self.elapsed, 1e-9)),
            "p50_ms": round(percentile(lat, 50) * 1000, 1) if lat else None,
            "p95_ms": round(percentile(lat, 95) * 1000, 1) if lat else None,
            "max_ms": round(max(lat) * 1000, 1) if lat else None,
        }

    def error_text(self) -> str:
        """E.g. "0 of 400", or "3 of 400 (HTTP 502 x1, ReadTimeout x2)"."""
        parts = [f"HTTP {code} x{n}" for code, n in sorted(self.statuses.items()) if code != 200]
        parts += [f"{name} x{n}" for name, n in sorted(self.exception_types.items())]
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"{self.errors} of {len(self.latencies)}{detail}"


async def make_clients(
    base: str, count: int, sessions: list[dict[str, str]] | None
) -> list[httpx.AsyncClient]:
    """`count` clients, each with a session of its own (given, or by logging in when None) and
    one keep-alive connection."""
    limits = httpx.Limits(max_connections=1)
    if sessions is not None:
        return [
            httpx.AsyncClient(base_url=base, cookies=c, timeout=TIMEOUT, limits=limits)
            for c in sessions
        ]
    clients = [httpx.AsyncClient(base_url=base, timeout=30, limits=limits) for _ in range(count)]
    await asyncio.gather(*(_site.alogin(c) for c in clients))
    for client in clients:
        client.timeout = httpx.Timeout(TIMEOUT)
    return clients


async def run_load(
    clients: list[httpx.AsyncClient], url: str, duration: float, think: bool, seed: int = 0
) -> Load:
    """Every client GETs `url` in a loop until `duration` has passed; with `think`, each waits
    1 s +-20% after each response (and starts at a random moment within the first second)."""
    load = Load()
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + duration

    async def user(client: httpx.AsyncClient) -> None:
        if think:
            await asyncio.sleep(rng.uniform(0, 1))
        while loop.time() < deadline:
            start = time.perf_counter()
            try:
                response = await client.get(url)
                load.statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                load.exception_types[type(exc).__name__] += 1
            load.latencies.append(time.perf_counter() - start)
            if think:
                await asyncio.sleep(min(rng.uniform(0.8, 1.2), max(0, deadline - loop.time())))

    start, cpu = time.perf_counter(), time.process_time()
    # Bounded: requests in flight at the deadline may finish, each within TIMEOUT.
    await asyncio.wait_for(asyncio.gather(*(user(c) for c in clients)), duration + TIMEOUT + 5)
    load.elapsed = time.perf_counter() - start
    load.client_cpu = time.process_time() - cpu
    return load


async def load_phase(
    report: Report, base: str, args: argparse.Namespace, sessions: list[dict[str, str]] | None
) -> None:
    clients = await make_clients(base, args.clients, sessions)
    try:
        for c in clients:  # one request each: connected and logged in
            await c.get(LIST)
        people = await run_load(clients, LIST, args.duration, think=True)
        report.details["load_people"] = summary = people.summary()
        name = f"load people {args.clients} clients @{LOAD_SIZE}"
        report.add(f"{name} requests", f"{len(people.latencies)} in {people.elapsed:.1f} s")
        p95 = percentile(people.latencies, 95)
        report.add(f"{name} p50", ms(percentile(people.latencies, 50)))
        report.add(f"{name} p95", ms(p95), "<= 150.0 ms", p95 <= 0.150, p95)
        report.add(f"{name} max", ms(max(people.latencies)))
        report.add(f"{name} errors", people.error_text(), "0", people.errors == 0, people.errors)
        report.add(f"{name} client CPU", f"{summary['client_cpu_percent']}% of a core")

        closed = await run_load(clients, LIST, args.duration, think=False)
        report.details["load_closed_loop"] = summary = closed.summary()
        name = f"load closed loop {args.clients} clients @{LOAD_SIZE}"
        rate = summary["req_per_s"]
        report.add(f"{name} throughput", f"{rate} req/s", value=rate)
        report.add(f"{name} p50", ms(percentile(closed.latencies, 50)))
        report.add(f"{name} p95", ms(percentile(closed.latencies, 95)))
        report.add(f"{name} errors", closed.error_text(), value=closed.errors)
        report.add(f"{name} client CPU", f"{summary['client_cpu_percent']}% of a core")
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


# --- the run --------------------------------------------------------------------------------------


def measure(report: Report, base: str, hosts: list, args: argparse.Namespace) -> None:
    """Every figure, growing the site from the smallest size to the largest."""
    client = httpx.Client(base_url=base, timeout=TIMEOUT)
    _site.login(client)
    lists: dict[int, tuple[Timing, int, int]] = {}
    try:
        for size in SIZES:
            t = time.perf_counter()
            _site.populate(hosts, size)
            took = time.perf_counter() - t
            print(f"\n== {size} networks on {HOSTS} hosts (populated in {took:.1f} s)")
            lists[size] = measure_list(report, client, size, args)
            if size >= LOAD_SIZE:
                for url in (f"{LIST}?q=net1", f"{LIST}?page=2"):
                    extra = time_gets(client, url, args.requests // 2, args.warmup)
                    report.timing(f"{url} @{size}", extra)
                    report.details[f"{url} @{size}"] = _timing_details(extra)
            if size == LOAD_SIZE:
                measure_leases(report, client, args)
                runs = f"{args.clients} clients, {args.duration:.0f} s per run"
                print(f"\n== load at {LOAD_SIZE} networks: {runs}")
                try:
                    # Made here: the ORM is not for use inside the event loop.
                    sessions = None if args.http_logins else _site.session_cookies(args.clients)
                    asyncio.run(load_phase(report, base, args, sessions))
                except Exception as exc:
                    report.error("load", exc)
    finally:
        client.close()
    print("\n== across sizes")
    compare_sizes(report, lists)


def measure_list(
    report: Report, client: httpx.Client, size: int, args: argparse.Namespace
) -> tuple[Timing, int, int]:
    """The list's latencies, size and SQL queries at `size` networks: (timing, queries, status)."""
    timing = time_gets(client, LIST, args.requests, args.warmup)
    targets = {"median_max": 0.025, "p95_max": 0.035} if size == LOAD_SIZE else {}
    report.timing(f"list @{size}", timing, **targets)
    report.add(f"list @{size} size", f"{timing.size / 1024:.0f} KiB", value=timing.size)
    queries, status = count_queries(LIST)
    shown = f"{queries}" if status == 200 else f"{queries} (HTTP {status})"
    report.add(f"list @{size} SQL queries", shown, value=queries)
    report.details[f"list_{size}"] = _timing_details(timing, queries)
    return timing, queries, status


def measure_leases(report: Report, client: httpx.Client, args: argparse.Namespace) -> None:
    from django.urls import reverse

    url = reverse("network-detail", args=[_site.LEASE_HOST, _site.LEASE_NETWORK])
    timing = time_gets(client, url, args.requests, args.warmup)
    name = f"network page, {_site.LEASES} leases"
    report.timing(name, timing, p95_max=0.030)
    report.add(f"{name} size", f"{timing.size / 1024:.0f} KiB", value=timing.size)
    report.details["network_page_leases"] = _timing_details(timing)


def compare_sizes(report: Report, lists: dict[int, tuple[Timing, int, int]]) -> None:
    """The list must not grow with the site: p95 and SQL queries against the smallest size."""
    small, large = SIZES[0], SIZES[-1]
    if small in lists and large in lists and not lists[small][0].errors + lists[large][0].errors:
        p95_small, p95_large = lists[small][0].p95, lists[large][0].p95
        ratio = p95_large / p95_small
        name = f"list p95 @{large}"
        report.add(f"{name} / p95 @{small}", f"{ratio:.2f}x", "<= 1.50x", ratio <= 1.5, ratio)
        report.add(name, ms(p95_large), "< 40.0 ms", p95_large < 0.040, p95_large)
    else:
        report.add(f"list p95 @{large} vs @{small}", "errors", "<= 1.50x, < 40 ms", False)
    counts = [lists[s][1] for s in SIZES if s in lists]
    all_ok = len(counts) == len(SIZES) and all(lists[s][2] == 200 for s in SIZES)
    report.add(
        "list SQL queries @" + "/".join(map(str, SIZES)),
        " / ".join(map(str, counts)),
        "same at every size",
        all_ok and len(set(counts)) == 1,
    )


def _timing_details(t: Timing, queries: int | None = None) -> dict:
    out = {
        "requests": len(t.samples),
        "median_ms": round(t.median * 1000, 2),
        "p95_ms": round(t.p95 * 1000, 2),
        "min_ms": round(min(t.samples) * 1000, 2),
        "max_ms": round(max(t.samples) * 1000, 2),
        "bytes": t.size,
        "errors": t.errors,
    }
    if queries is not None:
        out["queries"] = queries
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests, 8 s load runs")
    parser.add_argument("--requests", type=int, help="timed requests per URL (200; 50 quick)")
    parser.add_argument("--warmup", type=int, help="untimed requests first (20; 10 quick)")
    parser.add_argument("--duration", type=float, help="seconds per load run (20; 8 quick)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent load clients")
    parser.add_argument("--http-logins", action="store_true", help="load clients log in by form")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    for name, full, quick in (("requests", 200, 50), ("warmup", 20, 10), ("duration", 20.0, 8.0)):
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)

    # SIGTERM (e.g. from make) unwinds like Ctrl-C, so that the server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-bench-pages-"))
    print(f"Throw-away site in {tmp}")
    machine = {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    print(f"{machine['cpus']} CPUs, load average {machine['loadavg_before'][0]:.2f} (1 min)")
    report = Report()
    report.details["machine"] = machine
    started = time.perf_counter()
    try:
        _site.configure(tmp)
        hosts = _site.create_hosts(HOSTS)
        with _site.server(tmp) as base:
            print(f"Server: gunicorn + 2 uvicorn workers at {base} (log: {tmp}/server.log)")
            measure(report, base, hosts, args)
    finally:
        if args.keep:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    machine["loadavg_after"] = os.getloadavg()
    took = time.perf_counter() - started
    loads = f"{machine['loadavg_before'][0]:.2f} before, {machine['loadavg_after'][0]:.2f} after"
    # Above the CPU count, other programs took turns with the server: the latencies show it.
    print(f"\n== summary ({took:.0f} s; {machine['cpus']} CPUs, 1-min load average {loads})\n")
    print(report.table())
    if args.json:
        args.json.write_text(json.dumps(report.json(args), indent=2, default=str) + "\n")
        print(f"\nWrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
