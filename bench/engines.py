"""Benchmark: the same rows rendered by Django's template engine and by Jinja2.

    .venv/bin/python bench/engines.py [--networks 1000] [--leases 500] [--rounds 200]

In-process, without a database: the network table's rows (plain dicts as
networks/views/networks.py: rows() makes them, buttons as networks.pages.buttons data, one row in
ten with a job) and the lease table's rows (dicts as networks/views/leases.py keeps them), each
rendered with the site's Jinja2 template (templates/jinja2/networks/) and with the same markup in
Django's syntax (bench/templates/networks/, an engine with the cached loader, as in production).
Prints median and p95 of --rounds renders: a page of 50 networks, all --networks, and --leases
leases. It chose the site's template engine (docs/performance.md).
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))


def network_rows(count: int) -> list[dict]:
    from networks import operations
    from networks.operations import Op
    from networks.pages.buttons import Button

    on = [operations.get(key) for key in (Op.STOP, Op.RESTART, Op.AUTOSTART_OFF)]
    off = [operations.get(key) for key in (Op.START, Op.AUTOSTART_ON)]
    job = '<div class="job job-running" data-job="1" role="status"><a href="/jobs/1/">Start</a>'
    rows = []
    for i in range(count):
        active, subnet = i % 3 != 0, f"10.{i // 250}.{i % 250}"
        rows.append(
            {
                "pk": i,
                "name": f"net{i}",
                "host": f"host{i % 4}",
                "host_url": f"/hosts/host{i % 4}/",
                "url": f"/hosts/host{i % 4}/networks/net{i}/",
                "mode": "NAT",
                "forward_dev": "eth0" if i % 5 == 0 else "",
                "active": active,
                "autostart": active,
                "bridge": f"virbr{i}",
                "ipv4": f"{subnet}.1/24",
                "ipv6": "",
                "dhcp_ranges": f"{subnet}.2 - {subnet}.254",
                "buttons": [Button.of(op, f"net{i}") for op in (on if active else off)],
                "busy": i % 10 == 0,
                "job_html": job if i % 10 == 0 else "",
            }
        )
    return rows


def lease_rows(count: int) -> list[dict]:
    return [
        {
            "mac": f"52:54:00:00:{i // 256:02x}:{i % 256:02x}",
            "ip": f"10.0.{i // 250}.{i % 250 + 2}",
            "prefix": None,
            "hostname": f"guest{i}" if i % 2 else "",
            "client_id": f"01:52:54:00:00:{i // 256:02x}:{i % 256:02x}",
            "expires": i % 4 != 0,
            "expires_iso": "2026-12-03T10:00:00+00:00",
            "expires_text": "2026-12-03 10:00:00",
            "left": "in 42 min 10 s",
            "static": i % 4 == 0,
            "guest": f"vm{i}" if i % 3 == 0 else "",
            "pinnable": i % 4 != 0,
        }
        for i in range(count)
    ]


def timed(render: Callable[[], str], rounds: int) -> tuple[float, float]:
    """Median and p95 in milliseconds, after one untimed render."""
    render()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--leases", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
    import django

    django.setup()
    from django.middleware.csrf import get_token
    from django.template import Context, Engine, engines
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    token = get_token(request)
    loaders = [
        ("django.template.loaders.cached.Loader", ["django.template.loaders.filesystem.Loader"])
    ]
    django_engine = Engine(dirs=[BENCH / "templates"], loaders=loaders)
    networks, leases = network_rows(args.networks), lease_rows(args.leases)
    lease_context = {"leases": leases, "pin": True, "pin_url": "/pin/", "version": "v1"}
    cases = [
        ("network rows, a page of 50", "networks/rows.html", {"rows": networks[:50]}),
        (f"network rows, all {args.networks}", "networks/rows.html", {"rows": networks}),
        (f"lease rows, {args.leases}", "networks/lease_rows.html", lease_context),
    ]
    for label, name, context in cases:
        context = {"show_host": True, **context}
        in_django = django_engine.get_template(name)
        in_jinja = engines["jinja2"].get_template(name)
        django_ms = timed(
            lambda t=in_django, c=context: t.render(Context({**c, "csrf_token": token})),
            args.rounds,
        )
        jinja_ms = timed(lambda t=in_jinja, c=context: t.render(c, request), args.rounds)
        print(
            f"{label}: Django {django_ms[0]:.2f} / {django_ms[1]:.2f} ms,"
            f" Jinja2 {jinja_ms[0]:.2f} / {jinja_ms[1]:.2f} ms (median / p95 of {args.rounds};"
            f" Django takes {django_ms[0] / jinja_ms[0]:.1f} times as long)"
        )


if __name__ == "__main__":
    main()
