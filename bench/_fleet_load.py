"""The fleet bench's busy minute: open live streams, browsing clients, and Start clicks in Chromium.

- `Streams`: N server-sent event streams (/live/events/) on raw sockets, spread over the users'
  sessions, read until closed (what an open page does), so the server holds them as it would.
- `browse`: clients that each GET a random page of the mix about once a second (1 s +-20% after
  each answer), with latencies kept per kind of page.
- `click_rounds`: in Debian's Chromium, a Start clicked on an inactive network's row of a random
  host, timed in the page from the click to the row reading "active" (bench/click_to_row.js);
  the network is stopped again (also by a click, timed for information) before the next round.
"""

import asyncio
import random
import time
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

EVENTS = "/live/events/"
CLICK_JS = (Path(__file__).parent / "click_to_row.js").read_text()
TIMEOUT = 10.0


class Streams:
    """Open live-update streams, each a socket of its own reading until closed."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.tasks: list[asyncio.Task] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.refused: Counter = Counter()
        self.bytes = 0

    async def open(self, cookies: list[str], count: int) -> int:
        """Open `count` streams, round-robin over the session cookies; returns how many answered
        200 (the others are counted in `refused` by status)."""
        opened = await asyncio.gather(
            *(self._open(cookies[i % len(cookies)]) for i in range(count))
        )
        return sum(opened)

    async def _open(self, cookie: str) -> bool:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(
            f"GET {EVENTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), TIMEOUT)
        parts = status_line.split()
        status = int(parts[1]) if len(parts) > 1 else 0
        if status != 200:
            self.refused[status] += 1
            writer.close()
            return False
        self.writers.append(writer)
        self.tasks.append(asyncio.create_task(self._drain(reader)))
        return True

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        while chunk := await reader.read(65536):
            self.bytes += len(chunk)

    def alive(self) -> int:
        return sum(not t.done() for t in self.tasks)

    async def close(self) -> None:
        for writer in self.writers:
            writer.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()
        self.writers.clear()


@dataclass
class Browsing:
    """Latencies of the browsing clients, per kind of page and in all."""

    by_kind: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    exceptions: Counter = field(default_factory=Counter)
    elapsed: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [t for samples in self.by_kind.values() for t in samples]

    @property
    def errors(self) -> int:
        bad = sum(n for code, n in self.statuses.items() if code != 200)
        return bad + sum(self.exceptions.values())

    def error_text(self) -> str:
        parts = [f"HTTP {code} x{n}" for code, n in sorted(self.statuses.items()) if code != 200]
        parts += [f"{name} x{n}" for name, n in sorted(self.exceptions.items())]
        return f"{self.errors} of {len(self.latencies)}" + (
            f" ({', '.join(parts)})" if parts else ""
        )


async def browse(
    base: str, cookies: list[dict[str, str]], pages: dict[str, list[str]], until: asyncio.Event
) -> Browsing:
    """Each session browses on a keep-alive connection of its own until `until` is set: a page of
    a random kind (a random URL of it), then a pause of 1 s +-20%."""
    result = Browsing()
    rng = random.Random(20)
    kinds = sorted(pages)
    limits = httpx.Limits(max_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base, cookies=c, timeout=TIMEOUT, limits=limits) for c in cookies
    ]

    async def person(client: httpx.AsyncClient) -> None:
        await asyncio.sleep(rng.uniform(0, 1))
        while not until.is_set():
            kind = rng.choice(kinds)
            url = rng.choice(pages[kind])
            start = time.perf_counter()
            try:
                response = await client.get(url)
                result.statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                result.exceptions[type(exc).__name__] += 1
            result.by_kind[kind].append(time.perf_counter() - start)
            with_pause = rng.uniform(0.8, 1.2)
            with suppress(TimeoutError):
                await asyncio.wait_for(until.wait(), with_pause)

    start = time.perf_counter()
    try:
        await asyncio.gather(*(person(c) for c in clients))
    finally:
        result.elapsed = time.perf_counter() - start
        await asyncio.gather(*(c.aclose() for c in clients))
    return result


def click_rounds(base: str, username: str, password: str, targets: list[str], ready, go) -> dict:
    """Start (then Stop again) each target network by a click on its row in Chromium: the
    milliseconds from each click to the row's new state, and the failures in words. Runs in a
    thread of its own (Playwright's sync API keeps an event loop in its thread). Chromium is
    launched and logged in first, then `ready` is set and the clicks wait for `go` (both
    threading.Event), so that its start-up does not fall into the measured load."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in

    out: dict = {"start_ms": [], "stop_ms": [], "failures": []}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = log_in(browser, base, username, password)
                ready.set()
                go.wait()
                for name in targets:
                    try:
                        page.goto(f"{base}/networks/?q={name}")
                        page.locator("#live-status.on").wait_for(timeout=10000)
                        out["start_ms"].append(page.evaluate(CLICK_JS, [name, "start", "active"]))
                        time.sleep(0.3)
                        out["stop_ms"].append(page.evaluate(CLICK_JS, [name, "stop", "inactive"]))
                    except Exception as exc:  # one failed round is reported, the others still run
                        out["failures"].append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            finally:
                browser.close()
    finally:
        ready.set()  # also when Chromium could not start: the load goes on without clicks
    return out
