"""Benchmark: one worker refresh (gateway.snapshot) of the real qemu:///system with N networks.

    .venv/bin/python bench/snapshot_real.py [--networks 200] [--rounds 10]

Defines N inactive, isolated networks named vnwt-bench… (bridges vnwtb…, 10.213.0.0/16 when
started; they are never started), reads the host `rounds` times, and undefines them all again,
also on failure. Needs libvirtd running (`make services`).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
URI = "qemu:///system"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
    import django

    django.setup()
    from networks import gateway
    from networks.spec import IpSpec, NetworkSpec, to_xml

    names = [f"vnwt-bench{i:04d}" for i in range(args.networks)]
    try:
        for i, name in enumerate(names):
            spec = NetworkSpec(
                name=name,
                mode="isolated",
                bridge=f"vnwtb{i:04d}",
                ips=[IpSpec(f"10.213.{i % 250}.1", 24)],
            )
            gateway.define_network(URI, to_xml(spec))
        gateway.snapshot(URI)  # connect and read host facts once
        samples = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            snap = gateway.snapshot(URI)
            samples.append(time.perf_counter() - start)
        print(
            f"snapshot of {len(snap.networks)} networks: median "
            f"{statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms "
            f"over {args.rounds} rounds"
        )
    finally:
        for name in names:
            gateway.undefine_network(URI, name)


if __name__ == "__main__":
    main()
