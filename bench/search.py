"""Benchmark: the searches of a fleet's size on PostgreSQL, in-process: the network list's `?q=`
and `?subnet=` over 5,000 networks, and the lease search over ~17,000 leases.

    .venv/bin/python bench/search.py [--hosts 200] [--rounds 15] [--explain]

Builds, in a throw-away PostgreSQL cluster (bench/_services.py), the fleet bench's shape without
libvirt: 200 hosts of 25 networks (names, bridges and subnets in bench/_fleet_hosts.py's pattern),
and on 15 networks a host 7 or 8 leases each. Then, through Django's test client as an
admin and as a viewer: median and p95 of each page, and its slowest SQL statement (with
--explain, PostgreSQL's plan of it). No Redis, no workers, no browser: the database and the
view's own time only, one request at a time. The fleet's figures under load are bench/fleet.py's.
"""

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(REPO)]
from _services import postgres_cluster  # noqa: E402
from pages import percentile  # noqa: E402

NETWORKS = 25
LISTS = [
    "/networks/",
    "/networks/?q=n07",
    "/networks/?q=vnwt-f03",
    "/networks/?subnet=10.16.0.0/16",
]
LEASE_WORDS = ["10.16.1.", "52:54:01:00:0", "vnwt-f03-010", "-c3", "10.16.1.121"]


def host_name(h: int) -> str:
    return f"vnwt-f{h // 25:02d}-{h % 25:03d}"


def build(hosts: int) -> None:
    from django.utils import timezone

    from networks.models import Host, Lease, Network

    now = timezone.now()
    rows = Host.objects.bulk_create(
        [Host(name=host_name(h), uri=f"test:///h{h}") for h in range(hosts)]
    )
    networks = []
    for h, host in enumerate(rows):
        for i in range(NETWORKS):
            k = h * NETWORKS + i
            subnet = f"10.{16 + k // 256}.{k % 256}"
            networks.append(
                Network(
                    host=host,
                    name=f"{host.name}-n{i:02d}",
                    uuid=uuid.UUID(int=k + 1),
                    bridge=f"vnwt{h:03d}x{i:02d}",
                    ipv4=f"{subnet}.1/24",
                    ipv4_lo=f"{10:02x}{16 + k // 256:02x}{k % 256:02x}00",
                    ipv4_hi=f"{10:02x}{16 + k // 256:02x}{k % 256:02x}ff",
                    dhcp_ranges=f"{subnet}.100-{subnet}.199",
                    xml="<network/>" * 150,  # rows as wide as a real definition's
                    last_seen=now,
                    active=True,
                )
            )
    networks = Network.objects.bulk_create(networks, batch_size=2000)
    expires = now + timedelta(hours=1)
    leases = []
    for index, network in enumerate(networks):
        h, i = divmod(index, NETWORKS)
        if i % 5 in (3, 4) or i % 6 == 0:  # the fleet's bridge, macvtap and stopped networks
            continue
        k = h * NETWORKS + i
        for n in range(7 + (i % 3 == 0)):
            leases.append(
                Lease(
                    network=network,
                    mac=f"52:54:01:{h >> 8 & 0xFF:02x}:{h & 0xFF:02x}:{i * 10 + n:02x}",
                    ip=f"10.{16 + k // 256}.{k % 256}.{120 + n}",
                    prefix=24,
                    hostname=f"{network.name}-c{n}",
                    expires=expires,
                )
            )
    Lease.objects.bulk_create(leases, batch_size=2000)


def measure(client, path: str, params: dict, rounds: int, explain: bool) -> str:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    samples = []
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(path, params)
            samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    slowest = max(ctx.captured_queries, key=lambda query: float(query["time"]))
    line = (
        f"median {statistics.median(samples) * 1000:5.1f} ms, "
        f"p95 {percentile(samples, 95) * 1000:5.1f} ms, {len(ctx.captured_queries)} queries, "
        f"slowest SQL {float(slowest['time']) * 1000:4.1f} ms"
    )
    if explain:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + slowest["sql"])
            line += "\n" + "\n".join("      " + row[0] for row in cursor.fetchall())
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--explain", action="store_true", help="print the slowest SQL's plan")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vnwt-search-"))
    try:
        run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, tmp: Path) -> None:
    with postgres_cluster(tmp, ["127.0.0.1"]) as pg:
        (tmp / "static").mkdir()
        os.environ.update(
            DJANGO_SETTINGS_MODULE="vnetweb.settings",
            VNETWEB_DATA_DIR=str(tmp),
            DATABASE_URL=pg.url(),
            VNETWEB_STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
        logging.disable(logging.WARNING)  # no Redis here: live updates are not sent
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client
        from django.test.utils import setup_test_environment

        from networks.models import Lease, Network

        setup_test_environment()
        call_command("migrate", verbosity=0)
        build(args.hosts)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        admin = User.objects.create_superuser("bench-admin", password="x")
        viewer = User.objects.create_user("bench-viewer", password="x")
        viewer.groups.add(Group.objects.get(name="viewer"))
        print(
            f"PostgreSQL, {Network.objects.count()} networks on {args.hosts} hosts, "
            f"{Lease.objects.count()} leases; {args.rounds} requests each"
        )
        for label, user in (("admin", admin), ("viewer", viewer)):
            client = Client()
            client.force_login(user)
            for path in LISTS:
                print(f"{label:6} {path:32} {measure(client, path, {}, args.rounds, args.explain)}")
            for word in LEASE_WORDS:
                line = measure(client, "/leases/", {"q": word}, args.rounds, args.explain)
                print(f"{label:6} {'/leases/?q=' + word:32} {line}")


if __name__ == "__main__":
    main()
