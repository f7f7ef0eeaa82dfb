"""Benchmark: from a click on Start or Stop to the row showing the new state, in a real browser.

    .venv/bin/python bench/click_to_row.py [--rounds 10] [--json FILE] [--timeline]

Runs its own stack on a throw-away database: the production web server (gunicorn with uvicorn
workers, as `make run`), one Celery worker with a thread pool serving the real `qemu:///system`,
Redis database 12, and Debian's Chromium driven by Playwright. It defines one test network
(vnwt-click…, 10.213.x.0/24, fast DHCP), removes it afterwards even on failure, and touches
nothing else on the host.

Measured in the page itself: a script clicks the button and a MutationObserver notes the moment
the row's state cell reads "active" (or "inactive"), so Playwright's own round trips do not count.
The same Start and Stop are then timed as bare libvirt calls (virNetworkCreate/Destroy on an open
connection, through the gateway functions the worker calls) on the same network: the difference
is what vnetweb adds (the POST, queueing, the worker's claim and re-read, the live message and
the row's re-fetch).
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REDIS_URL = "redis://127.0.0.1:6379/12"
PASSWORD = "bench-click-password"

# Clicks and waits in the page itself (see the file): Playwright's round trips do not count.
CLICK_JS = (Path(__file__).parent / "click_to_row.js").read_text()


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument(
        "--timeline", action="store_true", help="print each Start's htmx requests (ms from click)"
    )
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-click-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vnetweb.settings",
        "VNETWEB_DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/click.sqlite3",
        "REDIS_URL": REDIS_URL,
        "VNETWEB_LOG_LEVEL": "WARNING",
        # The worker reads the host only when asked: no refresh disturbs the timings.
        "VNETWEB_WORKER_HOSTS": "local",
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from bench._stack import web_and_worker
    from networks import gateway
    from networks.models import Host, Network
    from networks.spec import to_xml
    from networks.worker.tasks import refresh
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in
    from tests.real import fast_network_spec, free_subnet

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    User.objects.create_superuser("bench", password=PASSWORD)
    host = Host.objects.create(name="local", uri="qemu:///system")

    uri = "qemu:///system"
    subnet = free_subnet()
    name = f"vnwt-click{subnet}"
    gateway.define_network(uri, to_xml(fast_network_spec(name, f"vnwtclk{subnet}", subnet)))
    stack = ExitStack()
    try:
        refresh(host)  # the network's row, as a worker's refresh would write it
        assert Network.objects.filter(host=host, name=name).exists()
        base = stack.enter_context(web_and_worker(tmp, env, "click"))
        time.sleep(3)  # the worker subscribes to its host's queue once ready

        from playwright.sync_api import sync_playwright

        clicks: dict[str, list[float]] = {"start": [], "stop": []}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = log_in(browser, base, "bench", PASSWORD)
            page.goto(f"{base}/networks/?q={name}")
            page.locator("#live-status.on").wait_for(timeout=10000)
            for _ in range(args.rounds):
                clicks["start"].append(page.evaluate(CLICK_JS, [name, "start", "active"]))
                if args.timeline:
                    print(round(clicks["start"][-1]), page.evaluate("window.__log"))
                time.sleep(0.3)
                clicks["stop"].append(page.evaluate(CLICK_JS, [name, "stop", "inactive"]))
                time.sleep(0.3)
            browser.close()

        bare: dict[str, list[float]] = {"start": [], "stop": []}
        for _ in range(args.rounds):
            t = time.perf_counter()
            gateway.start_network(uri, name)
            bare["start"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            gateway.stop_network(uri, name)
            bare["stop"].append((time.perf_counter() - t) * 1000)
    finally:
        stack.close()
        try:
            gateway.undefine_network(uri, name)
        except gateway.GatewayError as exc:
            print(f"cleanup of {name}: {exc.message}", file=sys.stderr)

    figures = {}
    print(f"click → row shows the new state, {args.rounds} rounds, real Chromium, idle worker")
    for op in ("start", "stop"):
        click, raw = median_ms(clicks[op]), median_ms(bare[op])
        added = round(click - raw, 1)
        figures[op] = {
            "click_to_row_ms": click,
            "bare_libvirt_ms": raw,
            "added_ms": added,
            "click_p95_ms": round(sorted(clicks[op])[int(0.95 * (len(clicks[op]) - 1))], 1),
        }
        verdict = "PASS" if added <= 150 else "FAIL"
        print(
            f"  {op:5}: median {click:7.1f} ms (target ≤ 300); bare libvirt {raw:6.1f} ms; "
            f"vnetweb adds {added:6.1f} ms (target ≤ 150) {verdict}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
