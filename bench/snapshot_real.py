"""Benchmark: one worker refresh (gateway.snapshot) of the real qemu:///system with N networks
and G guests (every domain with its NICs: read on each refresh, and after each domain event).

    .venv/bin/python bench/snapshot_real.py [--networks 200] [--guests 200] [--rounds 10]

Defines N inactive, isolated networks named vnwt-bench… (bridges vnwtb…, 10.213.0.0/16 when
started; they are never started) and G shut-off guests vnwt-benchvm… with two NICs each on them
(never started), reads the host `rounds` times, and undefines them all again, also on failure.
Needs libvirtd running (`make services`).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
URI = "qemu:///system"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=200)
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
    import django

    django.setup()
    from networks import gateway
    from networks.spec import IpSpec, NetworkSpec, to_xml

    names = [f"vnwt-bench{i:04d}" for i in range(args.networks)]
    guests = [f"vnwt-benchvm{i:04d}" for i in range(args.guests)]
    try:
        for i, name in enumerate(names):
            spec = NetworkSpec(
                name=name,
                mode="isolated",
                bridge=f"vnwtb{i:04d}",
                ips=[IpSpec(f"10.213.{i % 250}.1", 24)],
            )
            gateway.define_network(URI, to_xml(spec))
        for i, name in enumerate(guests):
            nics = "".join(
                f"<interface type='network'><source network='{names[(i + k) % len(names)]}'/>"
                f"<mac address='52:54:00:be:{i // 256:02x}:{i % 256:02x}'/>".replace(
                    "be:", f"b{k}:"
                )
                + "<model type='virtio'/></interface>"
                for k in range(2 if names else 0)
            )
            xml = (
                f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>96</memory>"
                "<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>"
                f"<devices>{nics}</devices></domain>"
            )
            _virsh("define", "/dev/stdin", stdin=xml)
        gateway.snapshot(URI)  # connect and read host facts once
        samples = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            snap = gateway.snapshot(URI)
            samples.append(time.perf_counter() - start)
        print(
            f"snapshot of {len(snap.networks)} networks, {len(snap.domains)} guests: median "
            f"{statistics.median(samples) * 1000:.1f} ms, min {min(samples) * 1000:.1f} ms "
            f"over {args.rounds} rounds"
        )
    finally:
        for name in guests:
            _virsh("undefine", name)
        for name in names:
            gateway.undefine_network(URI, name)


def _virsh(*args: str, stdin: str | None = None) -> None:
    subprocess.run(["virsh", "-c", URI, "-q", *args], input=stdin, text=True, capture_output=True)


if __name__ == "__main__":
    main()
