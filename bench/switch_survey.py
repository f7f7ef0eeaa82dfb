"""Benchmark: the worker's survey of the switches' host side (networks.worker.survey.survey) on
the real qemu:///system with N running networks.

    .venv/bin/python bench/switch_survey.py [--networks 40] [--rounds 10]

Defines and starts N isolated networks vnwt-surv… (bridges vnwts…, 10.213.x.0/24 on addresses
no other interface uses, each with its dnsmasq and firewall rules), records the host in a
throw-away database as a worker's refresh would, then times `survey` (one netlink dump, one
`nft -j` ruleset, each network's rules, dnsmasq and verdict): a first one that writes every
network, and then rounds in which nothing changed (what the monitor does every 2 s). Undefines
them all again, also on failure.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
URI = "qemu:///system"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="print where one survey's time goes")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-survey-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vnetweb.settings",
        VNETWEB_DATA_DIR=str(tmp),
        DATABASE_URL=f"sqlite:///{tmp}/survey.sqlite3",
        REDIS_URL="redis://127.0.0.1:6379/12",
        VNETWEB_LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from networks import gateway
    from networks.models import Host, Network
    from networks.spec import IpSpec, NetworkSpec, to_xml
    from networks.worker.survey import survey
    from networks.worker.tasks import refresh
    from tests.real import _used_subnets

    call_command("migrate", verbosity=0)
    host = Host.objects.create(name="local", uri=URI)
    free = [n for n in range(1, 255) if n not in _used_subnets()][: args.networks]
    names = [f"vnwt-surv{n:03d}" for n in free]
    try:
        for n, name in zip(free, names, strict=True):
            spec = NetworkSpec(
                name=name,
                mode="isolated",
                bridge=f"vnwts{n:03d}",
                stp=False,
                ips=[IpSpec(f"10.213.{n}.1", 24)],
            )
            gateway.define_network(URI, to_xml(spec), start=True)
        refresh(host)
        active = Network.objects.filter(host=host, active=True).count()
        start = time.perf_counter()
        written = survey(host)
        first = time.perf_counter() - start
        samples = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            unchanged = survey(host)
            samples.append(time.perf_counter() - start)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(survey, host)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(18)
        print(
            f"survey of {active} running networks on this host: first (writes {len(written)}) "
            f"{first * 1000:.1f} ms; then (writes {len(unchanged)}) median "
            f"{statistics.median(samples) * 1000:.1f} ms, max {max(samples) * 1000:.1f} ms "
            f"over {args.rounds} rounds"
        )
    finally:
        for name in names:
            gateway.undefine_network(URI, name)


if __name__ == "__main__":
    main()
