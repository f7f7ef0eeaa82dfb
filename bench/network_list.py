"""Benchmark: the network list page and a worker's refresh write, at 1000 networks.

    .venv/bin/python bench/network_list.py [--networks 1000] [--hosts 4] [--rounds 5]

Runs against a throw-away SQLite database in a temporary directory (no libvirt, no Redis): it
measures vnetweb's own cost: queries and time to render /networks/, and time for
networks.worker.sync.record_snapshot writing a snapshot when nothing changed and when all changed.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="vnetweb-bench-")
    os.makedirs(f"{tmp}/static")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="vnetweb.settings",
        VNETWEB_DATA_DIR=tmp,
        DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
        VNETWEB_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
    )
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from networks import gateway
    from networks.models import Host, Job, Network
    from networks.spec import DhcpRange, IpSpec, NetworkSpec, to_xml
    from networks.worker.sync import record_snapshot

    setup_test_environment()
    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench", password="bench")
    per_host = args.networks // args.hosts
    facts = gateway.HostFacts("bench", "9.0.0", "QEMU", "7.2.0", "x86_64", 2, 1 << 24)

    def snapshot(host_no: int, active: bool) -> gateway.HostSnapshot:
        nets = []
        for i in range(per_host):
            name = f"net{host_no}-{i}"
            spec = NetworkSpec(
                name=name,
                uuid=str(uuid.UUID(int=host_no * 100000 + i)),
                bridge=f"vb{host_no}x{i}",
                ips=[
                    IpSpec(
                        f"10.{host_no}.{i % 250}.1",
                        24,
                        dhcp_ranges=[
                            DhcpRange(f"10.{host_no}.{i % 250}.10", f"10.{host_no}.{i % 250}.99")
                        ],
                    )
                ],
            )
            nets.append(
                gateway.NetworkInfo(
                    name,
                    spec.uuid,
                    active,
                    True,
                    False,
                    to_xml(spec),
                    leases=() if active else None,
                )
            )
        return gateway.HostSnapshot(facts=facts, networks=tuple(nets))

    hosts = [Host.objects.create(name=f"h{n}", uri=f"test:///h{n}") for n in range(args.hosts)]
    t = time.perf_counter()
    for n, host in enumerate(hosts):
        record_snapshot(host, snapshot(n, active=False))
    first = time.perf_counter() - t
    timings = {"record_snapshot, all new": first / args.hosts}

    for label, active in (
        ("record_snapshot, unchanged", False),
        ("record_snapshot, all changed", True),
    ):
        snap = snapshot(0, active)
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            record_snapshot(hosts[0], snap)
        timings[label] = time.perf_counter() - t
        timings[label + " (queries)"] = len(ctx.captured_queries)

    for network in Network.objects.all()[:50]:
        Job.objects.create(
            username="bench",
            host=network.host,
            network=network,
            target=network.name,
            operation="start",
        )

    client = Client()
    client.force_login(admin)
    samples = []
    for _ in range(args.rounds):
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get("/networks/")
            samples.append(time.perf_counter() - t)
        assert response.status_code == 200
    rows = response.content.count(b'<tr id="net-')

    print(f"networks: {Network.objects.count()} on {args.hosts} hosts; rows rendered: {rows}")
    print(
        f"GET /networks/: median {statistics.median(samples) * 1000:.0f} ms, "
        f"min {min(samples) * 1000:.0f} ms over {args.rounds} rounds, "
        f"{len(ctx.captured_queries)} queries, {len(response.content) // 1024} KiB"
    )
    per = f"per host of {per_host} networks"
    for label, value in timings.items():
        if label.endswith("(queries)"):
            print(f"{label}: {value}")
        else:
            print(f"{label}: {value * 1000:.0f} ms {per}")


if __name__ == "__main__":
    main()
