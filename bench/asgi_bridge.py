"""Benchmark: the ASGI->WSGI bridge of vnetweb/asgi.py against the hand-written one it replaced.

    .venv/bin/python bench/asgi_bridge.py [--old b4df580] [--requests 500] [--warmup 50]

Ordinary pages reach Django's WSGI handler through a bridge: a2wsgi's WSGIMiddleware now, a
hand-written `Pages` class before (vnetweb/asgi.py at --old, a commit; copied into the temporary
directory and served as its own module). Each is served by the production web server, as `make
run` starts it (gunicorn -c gunicorn.conf.py with uvicorn workers, bench/_site.py), on a
throw-away SQLite site of 4 hosts and 100 networks. Both servers run at once; one keep-alive
client per server (logged in) asks, after a warm-up, --requests times each of GET /healthz/ and GET
/networks/, the two servers in turn request by request, so that a slow moment of the machine (the
test machine is shared) falls on both alike. Printed: median and p95 per bridge and path.

The issue's rule: keep the maintained bridge unless it is more than 10 % slower on the list page.
It is a report, not a test: it exits 0 whatever the figures.
"""

import argparse
import contextlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _site

PATHS = ("/healthz/", "/networks/")
OLD_MODULE = "vnetweb_old_asgi"


def old_bridge(tmp: Path, commit: str) -> Path:
    """The old vnetweb/asgi.py, as module OLD_MODULE in a directory of its own."""
    where = tmp / "old_bridge"
    where.mkdir()
    source = subprocess.run(
        ["git", "show", f"{commit}:vnetweb/asgi.py"],
        cwd=_site.REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (where / f"{OLD_MODULE}.py").write_text(source)
    return where


def timings(bases: list[str], requests: int, warmup: int) -> list[dict[str, list[float]]]:
    """Milliseconds per request of each path on each server, the servers asked in turn."""
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=b, timeout=30)) for b in bases]
        found: list[dict[str, list[float]]] = [{} for _ in bases]
        for client in clients:
            _site.login(client)
        for path in PATHS:
            for _ in range(warmup):
                for client in clients:
                    client.get(path).raise_for_status()
            for times in found:
                times[path] = []
            for _ in range(requests):
                for client, times in zip(clients, found, strict=True):
                    start = time.perf_counter()
                    client.get(path).raise_for_status()
                    times[path].append((time.perf_counter() - start) * 1000)
    return found


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", default="b4df580", help="commit with the hand-written bridge")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-bench-bridge-"))
    try:
        _site.configure(tmp)
        _site.populate(_site.create_hosts(4), 100)
        old_env = {"PYTHONPATH": str(old_bridge(tmp, args.old))}
        bridges = {
            "hand-written (old)": (f"{OLD_MODULE}:application", old_env),
            "a2wsgi (new)": ("vnetweb.asgi:application", {}),
        }
        with contextlib.ExitStack() as stack:
            bases = [
                stack.enter_context(_site.server(tmp, app=app, env=env))
                for app, env in bridges.values()
            ]
            found = timings(bases, args.requests, args.warmup)
        report(dict(zip(bridges, found, strict=True)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(found: dict[str, dict[str, list[float]]]) -> None:
    print(f"{'bridge':<20} {'path':<12} {'median ms':>10} {'p95 ms':>8}")
    for name, times in found.items():
        for path in PATHS:
            median, worst = statistics.median(times[path]), p95(times[path])
            print(f"{name:<20} {path:<12} {median:>10.2f} {worst:>8.2f}")
    old, new = (statistics.median(times["/networks/"]) for times in found.values())
    print(f"list page: the new bridge takes {100 * (new / old - 1):+.1f} % of the old one's time")


if __name__ == "__main__":
    main()
