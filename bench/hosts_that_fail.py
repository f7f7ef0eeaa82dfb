"""Benchmark: hosts that fail, on a small fleet of its own (bench/fleet.py runs the same
measure at 200 hosts, through bench/_failing.py).

    .venv/bin/python bench/hosts_that_fail.py [--healthy 10] [--dropped 10] [--refused 10]
        [--workers 2] [--set NAME=VALUE ...] [--json FILE]

Starts its own PostgreSQL and Redis (bench/_services.py), `--healthy` hosts on libvirt's test
driver, `--workers` Celery workers (threads pool, each serving vnwt-fKK-*, as the fleet's) and
beat, then `measure_failures`: the failing hosts (this machine's libvirtd read-only, behind a
namespace whose packets are dropped, or on loopback ports that stop listening) are named among
the healthy ones' workers. Prints the figures as JSON. Everything made is removed on the way
out, also on failure (namespace vnwtfdrop, its veth, the processes, the temporary folders).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import _links  # noqa: E402
from _failing import measure_failures  # noqa: E402
from _procs import stop  # noqa: E402
from _services import postgres_cluster, redis_server  # noqa: E402


def _host_name(n: int, per_worker: int) -> str:
    return f"vnwt-f{n // per_worker:02d}-{n % per_worker:03d}"


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--healthy", type=int, default=10)
    parser.add_argument("--dropped", type=int, default=10)
    parser.add_argument("--refused", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE", help="a setting for all"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vnwt-fail-"))
    (tmp / "hosts").mkdir()
    (tmp / "static").mkdir()
    per_worker = -(-args.healthy // args.workers)
    bin_ = Path(sys.executable).parent
    with ExitStack() as stack:
        redis = stack.enter_context(redis_server(tmp, ["127.0.0.1"]))
        database = stack.enter_context(postgres_cluster(tmp, ["127.0.0.1"]))
        settings = dict(item.split("=", 1) for item in args.set)
        env = _links.site_env(tmp, redis.url(), database.url(), **settings)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True
        )
        os.environ.update(env)
        import django

        django.setup()
        from networks.models import Host

        healthy = [_host_name(n, per_worker) for n in range(args.healthy)]
        worker_procs: list[subprocess.Popen] = []
        for n, name in enumerate(healthy):
            Host.objects.create(name=name, uri=_links.write_test_host(tmp / "hosts", name, 2, n))
        for k in range(args.workers):
            argv = [
                *(str(bin_ / "celery"), "-A", "vnetweb", "worker", "-Q", "vnetweb"),
                *("-n", f"fleet{k}@%h", "--pool=threads", "--concurrency=4"),
                *("--without-mingle", "--without-gossip", "--loglevel=INFO"),
            ]
            proc = _start(
                argv, {**env, "VNETWEB_WORKER_HOSTS": f"vnwt-f{k:02d}-*"}, tmp / f"w{k}.log"
            )
            stack.callback(stop, proc)
            worker_procs.append(proc)
        beat = [str(bin_ / "celery"), "-A", "vnetweb", "beat", "-s", str(tmp / "beat-schedule")]
        stack.callback(stop, _start(beat, env, tmp / "beat.log"))
        deadline = time.monotonic() + 60
        while Host.objects.filter(name__in=healthy, reachable=True).count() < len(healthy):
            if time.monotonic() > deadline:
                raise SystemExit(f"the healthy hosts were not read within 60 s; logs in {tmp}")
            time.sleep(0.5)
        load = os.getloadavg()
        figures = measure_failures(
            healthy,
            dropped=args.dropped,
            refused=args.refused,
            workers=lambda: [proc.pid for proc in worker_procs],
            dumps=tmp,
        )
        figures["load_before"] = [round(x, 2) for x in load]
        figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
        figures["settings"] = settings
        figures["logs"] = str(tmp)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
