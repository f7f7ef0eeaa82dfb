"""Benchmark: how fast changes made outside vnetweb reach an open network page, in a real browser.

    .venv/bin/python bench/freshness.py [--rounds 10] [--json FILE]

Runs its own stack on a throw-away database: the production web server (gunicorn with uvicorn
workers), one Celery worker with a thread pool serving the real `qemu:///system` (so its monitor
listens to libvirt's events and watches the lease files), no beat (nothing else could bring the
change), Redis database 12, and Debian's Chromium. It defines one test network (vnwt-fresh…,
10.213.x.0/24, fast DHCP) and namespace guests (vnwt…), and removes them afterwards, also on
failure. Nothing else on the host is touched.

Each round measures, on one clock (this machine's):
- a lease: dnsmasq's acknowledgement (the moment libvirt's leases helper rewrote the lease file)
  → the Lease row in the database → the row on the open page (a MutationObserver in the page);
- an external stop: `virsh net-destroy` run → the page's state reads "inactive", counted from
  the command's start and from its return (libvirt sends its event before virsh returns, so the
  page can be first); the same for `virsh net-start` → "active".
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
REDIS_URL = "redis://127.0.0.1:6379/12"
PASSWORD = "bench-fresh-password"

# Notes in window.__seen[key] the time (Date.now(), ms since the epoch) at which an element matching
# `selector` first contains `text`, seen by a MutationObserver in the page itself.
WATCH_JS = """([key, selector, text]) => {
  window.__seen = window.__seen || {};
  const found = () => Array.from(document.querySelectorAll(selector))
    .some((el) => el.textContent.includes(text));
  if (found()) { window.__seen[key] = Date.now(); return; }
  const observer = new MutationObserver(() => {
    if (found()) { observer.disconnect(); window.__seen[key] = Date.now(); }
  });
  observer.observe(document.body, { childList: true, subtree: true, characterData: true });
}"""


def _remove_network(gateway, uri: str, name: str) -> None:
    try:
        gateway.undefine_network(uri, name)
    except gateway.GatewayError as exc:
        print(f"cleanup of {name}: {exc.message}", file=sys.stderr)


def seen(page, key: str) -> float:
    """When the page saw it, in seconds since the epoch (waits up to 20 s)."""
    from tests.browser import wait_until  # not wait_for_function: the site's CSP forbids eval

    wait_until(page, f"window.__seen && window.__seen[{json.dumps(key)}]", timeout=20)
    return page.evaluate("(key) => window.__seen[key]", key) / 1000


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-fresh-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "vnetweb.settings",
        "VNETWEB_DATA_DIR": str(tmp),
        "DATABASE_URL": f"sqlite:///{tmp}/fresh.sqlite3",
        "REDIS_URL": REDIS_URL,
        "VNETWEB_LOG_LEVEL": "WARNING",
        "VNETWEB_WORKER_HOSTS": "local",
    }
    os.environ.update(env)
    # Playwright's sync API keeps an asyncio loop in this thread; the ORM calls here stay plain
    # synchronous ones (as in tests/browser.py).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from bench._stack import web_and_worker
    from networks import gateway
    from networks.gateway import hostside
    from networks.models import Host, Lease
    from networks.spec import to_xml
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in
    from tests.real import (
        fast_network_spec,
        free_subnet,
        guest_script,
        remove_namespace_guest,
        start_namespace_guest,
    )

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    User.objects.create_superuser("bench", password=PASSWORD)
    Host.objects.create(name="local", uri="qemu:///system")

    uri = "qemu:///system"
    subnet = free_subnet()
    name, bridge = f"vnwt-fresh{subnet}", f"vnwtfr{subnet}"
    gateway.define_network(uri, to_xml(fast_network_spec(name, bridge, subnet)), start=True)
    script = guest_script(tmp)
    guests = []

    figures: dict[str, list[float]] = {
        "lease_ack_to_db": [],
        "lease_ack_to_page": [],
        "virsh_destroy_to_page": [],
        "virsh_destroy_to_page_after_return": [],
        "virsh_start_to_page": [],
        "virsh_start_to_page_after_return": [],
    }
    with ExitStack() as stack:
        # Unwound in reverse: guests and the network go after the web server and worker stop.
        stack.callback(_remove_network, gateway, uri, name)
        stack.callback(lambda: [remove_namespace_guest(guest) for guest in guests])
        base = stack.enter_context(web_and_worker(tmp, env, "fresh"))
        from networks.models import Network

        deadline = time.monotonic() + 60
        while not Network.objects.filter(name=name, active=True).exists():
            if time.monotonic() > deadline:
                raise SystemExit("the worker never read the host (see worker.log)")
            time.sleep(0.2)
        network = Network.objects.get(name=name)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            page = log_in(browser, base, "bench", PASSWORD)
            page.goto(base + network.get_absolute_url())
            page.locator("#live-status.on").wait_for(timeout=10000)
            for round_no in range(args.rounds):
                # A lease.
                before = hostside.lease_file_stamp(bridge)
                mac = f"52:54:00:fe:{subnet:02x}:{round_no:02x}"
                key = f"lease{round_no}"
                page.evaluate(WATCH_JS, [key, "#net-live tr, #net-leases tr", mac])
                guest = start_namespace_guest(bridge, script, f"vnwt-r{round_no}", mac)
                guests.append(guest)
                while True:
                    stamp = hostside.lease_file_stamp(bridge)
                    if stamp != before and mac in hostside.lease_file(bridge).read_text():
                        break
                    time.sleep(0.002)
                acked = hostside.lease_file(bridge).stat().st_mtime
                while not Lease.objects.filter(network=network, mac=mac).exists():
                    time.sleep(0.002)
                in_db = time.time()
                shown = seen(page, key)
                figures["lease_ack_to_db"].append((in_db - acked) * 1000)
                figures["lease_ack_to_page"].append((shown - acked) * 1000)
                remove_namespace_guest(guest)
                guests.remove(guest)
                time.sleep(0.5)

                # An external stop and start.
                for verb, pill, figure in (
                    ("net-destroy", "off", "virsh_destroy_to_page"),
                    ("net-start", "on", "virsh_start_to_page"),
                ):
                    key = f"{verb}{round_no}"
                    page.evaluate(WATCH_JS, [key, f"#net-panel .state .pill.{pill}", ""])
                    time.sleep(0.05)
                    asked = time.time()
                    subprocess.run(
                        ["virsh", "-c", uri, verb, name], check=True, capture_output=True
                    )
                    done = time.time()
                    shown = seen(page, key)
                    figures[figure].append((shown - asked) * 1000)
                    figures[f"{figure}_after_return"].append((shown - done) * 1000)
                    time.sleep(0.5)
            browser.close()

    result = {key: summary(values) for key, values in figures.items()}
    print(f"changes outside vnetweb → open network page, {args.rounds} rounds, real Chromium")
    labels = {
        "lease_ack_to_db": "DHCP ack (lease file) → database",
        "lease_ack_to_page": "DHCP ack (lease file) → row on the page",
        "virsh_destroy_to_page": "virsh net-destroy run → page says inactive",
        "virsh_destroy_to_page_after_return": "  (counted from virsh returning)",
        "virsh_start_to_page": "virsh net-start run → page says active",
        "virsh_start_to_page_after_return": "  (counted from virsh returning)",
    }
    for key, label in labels.items():
        r = result[key]
        print(
            f"  {label:52} median {r['median_ms']:6.1f} ms, p95 {r['p95_ms']:6.1f}, "
            f"max {r['max_ms']:6.1f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
