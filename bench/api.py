"""Benchmark: the API's network list beside the page's, at 1,000 networks, from the real server.

    .venv/bin/python bench/api.py [--networks 1000] [--requests 300] [--warmup 30]

The throw-away site of bench/pages.py (bench/_site.py: gunicorn with 2 uvicorn workers as
`make run` starts them, SQLite, 4 hosts), grown to --networks. One keep-alive client asks, in
turn, the list page as a logged-in browser (/networks/, 50 rows) and the API as a script with a
token (/api/v1/networks/, 50 rows, then ?per=500), so that both see the same machine at the same
moments. Prints median and p95 of each and the queries per request (in-process). A report, not a
test: it exits 0 whatever the figures.
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _site
from pages import ms, percentile, time_gets

URLS = ("/networks/", "/api/v1/networks/", "/api/v1/networks/?per=500")


def _queries(url: str, headers: dict) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(headers=headers)
    if url.startswith("/networks/"):
        from django.contrib.auth.models import User

        client.force_login(User.objects.get(username=_site.USERNAME))
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="vnetweb-bench-api-"))
    try:
        _site.configure(tmp)
        from django.contrib.auth.models import User

        from networks import tokens

        hosts = _site.create_hosts(4)
        _site.populate(hosts, args.networks)
        _, key = tokens.issue(User.objects.get(username=_site.USERNAME), "bench")
        token = {"Authorization": f"Bearer {key}"}
        queries = {url: _queries(url, token) for url in URLS}
        with _site.server(tmp) as base:
            browser = httpx.Client(base_url=base, timeout=30)
            _site.login(browser)
            script = httpx.Client(base_url=base, timeout=30, headers=token)
            timings = {url: [] for url in URLS}
            rounds = 3  # in turn, so that both see the same moments of the machine
            for _ in range(rounds):
                for url in URLS:
                    client = browser if url == "/networks/" else script
                    timing = time_gets(client, url, args.requests // rounds, args.warmup)
                    assert not timing.errors, f"{url}: {timing.statuses}"
                    timings[url] += timing.samples
        print(f"{args.networks} networks on 4 hosts, {args.requests} requests each")
        for url, samples in timings.items():
            print(
                f"{url:32} median {ms(percentile(samples, 50)):>9}  "
                f"p95 {ms(percentile(samples, 95)):>9}  {queries[url]} queries"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
