"""Screenshots of the main pages for the README, taken from a running site (`make run`).

    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--user admin]

The password comes from VNETWEB_ADMIN_PASSWORD or var/initial-admin-password.
"""

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGES = [
    ("networks.png", "/networks/"),
    ("networks-filtered.png", "/networks/?q=lab&state=active"),
    ("network.png", "/hosts/demo/networks/lab-routed/"),
    ("leases-search.png", "/leases/?q=52:54:00"),
    ("topology-demo.png", "/hosts/demo/topology/"),
    ("host.png", "/hosts/local/"),
    ("hosts.png", "/hosts/"),
]


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default=os.environ.get("VNETWEB_ADMIN_USER", "admin"))
    args = parser.parse_args()
    password = os.environ.get("VNETWEB_ADMIN_PASSWORD") or (
        (REPO / "var" / "initial-admin-password").read_text().strip()
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 800})
        page.goto(f"{args.url}/accounts/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", password)
        page.click("button:has-text('Log in')")
        page.wait_for_url(f"{args.url}/networks/")
        for filename, path in PAGES:
            page.goto(args.url + path)
            page.screenshot(path=str(REPO / "docs" / filename), full_page=True)
            print("docs/" + filename)
        browser.close()


if __name__ == "__main__":
    main()
