"""Debian's Chromium driven by Playwright, as a person would use the site."""

import os
import time
from collections.abc import Iterator

import pytest

CHROMIUM = "/usr/bin/chromium"
# Without these, Chromium keeps trying to reach Google's services from this closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop in this thread; Django's ORM calls in the test
    # body are still plain synchronous calls, so its async-safety guard is lifted for this run.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def log_in(browser, base_url: str, username: str, password: str, *, bypass_csp: bool = False):
    """A new browser context logged in as `username`, on the networks list.

    bypass_csp lifts the site's Content Security Policy in this context only, for a test that must
    put a script of its own into the page (axe-core, tests/a11y.py); the site still sends it.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=bypass_csp)
    page = context.new_page()
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_url(f"{base_url}/networks/")
    return page


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression in the page until it is true.

    Not page.wait_for_function: while it polls, Playwright builds a function from the text inside
    the page, which the site's Content Security Policy forbids (no eval), so it fails whenever the
    condition is not true at once. page.evaluate goes through the debugging protocol instead.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)
