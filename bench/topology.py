"""Benchmark: a host's topology page at 50 switches and 200 guests, on the server and in Chromium.

    .venv/bin/python bench/topology.py [--switches 50] [--guests 200] [--rounds 50] [--loads 10]
        [--no-browser]

A throw-away site (bench/_site.py: SQLite in a temporary directory, no libvirt, Redis database 13
for the live channel) with one host whose rows are written as its worker would: the switches
(a mix of modes, three in four active), the guests (every fourth with a second NIC, every tenth
with a third, every twentieth on no switch), a lease for every NIC on an active switch.

Server, in-process (django.test.Client, CaptureQueriesContext): the layout alone
(views.topology.drawing: the queries and networks.pages.topology), then GET of the page and of
its live part, --rounds times each after a warm-up: median, p95, SQL queries, size, and Python's
full garbage collections meanwhile (each walks every object of the process: they make the p95).

Browser (Debian's Chromium through Playwright, the production web server of bench/_site.py):
from navigation start to the first frame with the SVG in a parsed page (measured in the page by
an init script, --loads page loads); then the frame intervals (requestAnimationFrame timestamps)
while the page zooms by one wheel step per frame, and while a guest is dragged across the drawing
one pointer move per frame (dropped where there is no switch: nothing is asked of the server).
At 60 frames a second an interval is 16.7 ms; longer ones are frames the page could not keep up.
"""

import argparse
import gc
import itertools
import math
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import _site

MODES = ("nat", "nat", "route", "isolated", "open", "bridge", "macvtap")

# Set before the page's scripts run: the time of the first frame once the SVG is in a parsed page.
READY_JS = """
(() => {
  const tick = () => {
    const svg = document.querySelector("svg.topo");
    if (svg && document.readyState !== "loading") {
      svg.getBoundingClientRect();
      requestAnimationFrame(() => { window.__svgReady = performance.now(); });
    } else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

# One wheel step per frame, in and then out, over the middle of the drawing; the frame intervals.
ZOOM_JS = """
(steps) => new Promise((resolve) => {
  const viewport = document.querySelector(".topo-viewport");
  const r = viewport.getBoundingClientRect();
  const times = [];
  let i = 0;
  const frame = (t) => {
    times.push(t);
    if (i === steps) return resolve(times);
    viewport.dispatchEvent(new WheelEvent("wheel", {
      deltaY: i < steps / 2 ? -60 : 60, clientX: r.left + r.width / 2,
      clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));
    i++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})
"""

# Pick up the first guest, move the pointer one step per frame across the drawing (over switches),
# and drop it at the top-left corner, where there is no switch; the frame intervals.
DRAG_JS = """
(steps) => new Promise((resolve) => {
  const viewport = document.querySelector(".topo-viewport");
  const guest = document.querySelector("svg.topo g.guest");
  const g = guest.getBoundingClientRect(), v = viewport.getBoundingClientRect();
  const at = (x, y, type, target) => (target || viewport).dispatchEvent(new PointerEvent(type, {
    clientX: x, clientY: y, pointerId: 7, button: 0, isPrimary: true, bubbles: true }));
  at(g.left + 5, g.top + 5, "pointerdown", guest);
  const times = [];
  let i = 0;
  const frame = (t) => {
    times.push(t);
    if (i === steps) {
      at(v.left + 2, v.top + 2, "pointerup");
      return resolve(times);
    }
    const a = 2 * Math.PI * i / steps;
    at(v.left + v.width * (0.5 + 0.4 * Math.cos(a)), v.top + v.height * (0.5 + 0.4 * Math.sin(a)),
      "pointermove");
    i++;
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
})
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class FullCollections:
    """Python's full garbage collections while it is entered: they make the p95 (each walks
    every object of the process)."""

    def __enter__(self) -> "FullCollections":
        self.count, self.seconds, self._started = 0, 0.0, 0.0
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count += 1
            self.seconds += time.perf_counter() - self._started

    def __str__(self) -> str:
        return f"{self.count} full GCs, {self.seconds * 1000:.0f} ms"


def populate(switches: int, guests: int):
    from django.utils import timezone

    from networks.models import Guest, Host, Lease, Network

    host = Host.objects.create(
        name="topo",
        uri="test:///topo",
        interfaces=[{"name": "eth0", "kind": "device", "addresses": ["192.168.1.10/24"]}],
        routes=[{"dst": "0.0.0.0/0", "gateway": "192.168.1.1", "dev": "eth0"}],
    )
    now = timezone.now()
    networks = []
    for i in range(switches):
        mode = MODES[i % len(MODES)]
        networks.append(
            Network(
                host=host,
                name=f"switch-{i:02d}",
                uuid=uuid.uuid4(),
                active=i % 4 != 3,
                mode=mode,
                bridge="br0" if mode == "bridge" else f"virbr{i}",
                forward_dev="eth0" if mode == "macvtap" else "",
                ipv4="" if mode in ("bridge", "macvtap") else f"10.{i}.0.1/24",
                ipv6=f"fd00:{i}::1/64" if i % 5 == 0 else "",
                xml="<network/>",
                last_seen=now,
            )
        )
    Network.objects.bulk_create(networks)
    active = {n.name: n for n in Network.objects.filter(host=host, active=True)}
    rows, leases = [], []
    for i in range(guests):
        count = 0 if i % 20 == 19 else 3 if i % 10 == 0 else 2 if i % 4 == 0 else 1
        nics = []
        for k in range(count):
            network = f"switch-{(i + k * 7) % switches:02d}"
            mac = f"52:54:00:{k:02x}:{i >> 8:02x}:{i & 0xFF:02x}"
            nics.append({"mac": mac, "type": "network", "source": network, "network": network,
                         "model": "virtio", "device": f"vnet{i}", "link": "up", "agent": [],
                         "config": True})  # fmt: skip
            if network in active:
                ip = f"10.{(i + k * 7) % switches}.{1 + i // 250}.{10 + i % 240}"
                leases.append(Lease(network=active[network], mac=mac, ip=ip, prefix=24))
        state = "running" if i % 3 else "shut off"
        rows.append(Guest(host=host, name=f"guest-{i:03d}", uuid=uuid.uuid4(), state=state,
                          nics=nics, last_seen=now))  # fmt: skip
    Guest.objects.bulk_create(rows)
    Lease.objects.bulk_create(leases)
    return host


def server_figures(host, rounds: int) -> list[tuple]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from networks.views.topology import drawing

    client = Client()
    client.force_login(User.objects.get(username=_site.USERNAME))
    figures = []

    def timed(label: str, call) -> None:
        for _ in range(3):
            call()
        samples = []
        with FullCollections() as collections:
            for _ in range(rounds):
                t = time.perf_counter()
                result = call()
                samples.append(time.perf_counter() - t)
        with CaptureQueriesContext(connection) as queries:
            result = call()
        size = len(result.content) if hasattr(result, "content") else 0
        other = f"{len(queries)} queries" + (f", {size // 1024} KiB" if size else "")
        figures.append((label, samples, f"{other}; {collections}"))

    admin = User.objects.get(username=_site.USERNAME)
    timed("server: layout (queries + networks.pages.topology)", lambda: drawing(host, admin))
    page = reverse("host-topology", args=[host.name])
    part = reverse("host-topology-part", args=[host.name])
    timed("server: GET the page", lambda: client.get(page))
    timed("server: GET the live part", lambda: client.get(part, HTTP_HX_REQUEST="true"))
    return figures


def browser_figures(tmp: Path, host, loads: int) -> list[tuple]:
    from django.core.management import call_command
    from django.urls import reverse
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in, wait_until

    call_command("collectstatic", interactive=False, verbosity=0)
    figures = []
    with _site.server(tmp) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = log_in(browser, base, _site.USERNAME, _site.PASSWORD)
        page.add_init_script(READY_JS)
        url = base + reverse("host-topology", args=[host.name])
        ready, response_end = [], []
        for _ in range(loads + 1):
            page.goto(url)
            wait_until(page, "window.__svgReady !== undefined")  # no eval under the site's CSP
            ready.append(page.evaluate("window.__svgReady") / 1000)
            nav = "performance.getEntriesByType('navigation')[0].responseEnd"
            response_end.append(page.evaluate(nav) / 1000)
        end = statistics.median(response_end[1:]) * 1000
        other = f"{loads} loads; the page's last byte at {end:.0f} ms (median)"
        figures.append(("browser: navigation -> SVG laid out", ready[1:], other))
        for label, script in (("zoom", ZOOM_JS), ("drag a guest", DRAG_JS)):
            page.click("button[data-zoom=reset]")
            times = page.evaluate(script, 60)
            gaps = [(b - a) / 1000 for a, b in itertools.pairwise(times)]
            slow = sum(gap > 0.020 for gap in gaps)
            figures.append(
                (f"browser: {label}, frame interval", gaps, f"max {max(gaps) * 1000:.1f} ms, "
                 f"{slow} of {len(gaps)} frames > 20 ms")
            )  # fmt: skip
        browser.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--guests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=50, help="timed requests per URL")
    parser.add_argument("--loads", type=int, default=10, help="page loads in Chromium")
    parser.add_argument("--no-browser", action="store_true", help="the server's figures only")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-bench-topology-"))
    try:
        _site.configure(tmp)
        host = populate(args.switches, args.guests)
        figures = server_figures(host, args.rounds)
        if not args.no_browser:
            figures += browser_figures(tmp, host, args.loads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    from networks.models import Guest

    nics = sum(len(nics) for nics in Guest.objects.values_list("nics", flat=True))
    print(f"\nTopology of one host: {args.switches} switches, {args.guests} guests, {nics} NICs\n")
    width = max(len(label) for label, *_ in figures)
    print(f"{'figure'.ljust(width)}  {'median':>9}  {'p95':>9}  other")
    print("-" * (width + 40))
    for label, samples, other in figures:
        median, p95 = statistics.median(samples) * 1000, percentile(samples, 95) * 1000
        print(f"{label.ljust(width)}  {median:6.1f} ms  {p95:6.1f} ms  {other}")


if __name__ == "__main__":
    sys.exit(main())
