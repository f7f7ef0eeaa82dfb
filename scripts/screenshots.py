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
    ("api-docs.png", "/api/v1/docs/"),
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
            if path.startswith("/api/"):
                page.locator(".opblock").first.wait_for()  # Swagger UI has drawn the operations
            # The schema's page is long: its first screen shows what there is.
            full = not path.startswith("/api/")
            page.screenshot(path=str(REPO / "docs" / filename), full_page=full)
            print("docs/" + filename)
        token_page(page, args.url)
        browser.close()


def token_page(page, url: str) -> None:
    """The API tokens page right after making one: its key, shown this once. The token is
    revoked again at once (the key in the picture opens nothing)."""
    page.goto(f"{url}/account/tokens/")
    page.fill("input[name=name]", "screenshot-ansible")
    page.fill("input[name=days]", "90")
    page.click("button:has-text('Make the token')")
    page.locator("#new-key").wait_for()
    page.screenshot(path=str(REPO / "docs" / "tokens.png"), full_page=True)
    print("docs/tokens.png")
    page.goto(f"{url}/account/tokens/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("tr", has_text="screenshot-ansible").locator("button.stop").click()
    page.locator("tr", has_text="screenshot-ansible").wait_for(state="detached")


if __name__ == "__main__":
    main()
