"""The main pages in Chromium with the Content Security Policy on: not one violation reported,
neither as a `securitypolicyviolation` event nor on the console."""

import pytest
from django.urls import reverse

from tests.browser import log_in
from tests.main_pages import main_pages

pytestmark = [pytest.mark.browser]

# Runs before any script of the page, so it hears violations from the very first one.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.violatedDirective + " " + (e.blockedURI || "inline") +
    " " + (e.sourceFile || "") + ":" + (e.lineNumber || ""));
});
"""


def test_the_main_pages_break_no_rule_of_the_content_security_policy(
    live_server, browser, admin, main_site
):
    page = log_in(browser, live_server.url, admin.username, "pw-" + admin.username)
    console: list[str] = []
    page.on(
        "console",
        lambda message: console.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.context.add_init_script(LISTEN)
    for path, _actions in main_pages(*main_site):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        # The page's scripts have run and its live stream is open; then a moment for htmx.
        page.locator("#live-status.on").wait_for(timeout=10000)
        page.wait_for_timeout(300)
        violations = page.evaluate("window.__violations")
        assert violations == [], f"{path}: {violations}"
        assert console == [], f"{path}: {console}"


def test_the_login_page_breaks_no_rule_either(live_server, browser, admin):
    context = browser.new_context()
    context.add_init_script(LISTEN)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", "wrong")
    page.click("button:has-text('Log in')")
    page.locator("p.error").wait_for()
    assert page.evaluate("window.__violations") == []
    assert not [text for text in console if "Content Security Policy" in text]
    context.close()


def test_the_django_admin_breaks_no_rule_either(live_server, browser, admin, main_site):
    host = main_site[0]
    admin.is_staff = admin.is_superuser = True
    admin.save()
    page = log_in(browser, live_server.url, admin.username, "pw-" + admin.username)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.context.add_init_script(LISTEN)
    for path in [
        reverse("admin:index"),
        reverse("admin:networks_host_changelist"),
        reverse("admin:networks_host_change", args=[host.pk]),
        reverse("admin:auth_user_change", args=[admin.pk]),
    ]:
        assert page.goto(live_server.url + path).status == 200, path
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        assert page.evaluate("window.__violations") == [], path
        assert not [text for text in console if "Content Security Policy" in text], path


def test_the_apis_browsable_schema_breaks_no_rule_and_lists_the_operations(
    live_server, browser, admin
):
    page = log_in(browser, live_server.url, admin.username, "pw-" + admin.username)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.context.add_init_script(LISTEN)
    assert page.goto(f"{live_server.url}/api/v1/docs/").status == 200
    # Swagger UI draws the operations from /api/v1/schema/ with ninja's own static scripts.
    page.locator(".opblock-summary-path", has_text="/api/v1/networks/").first.wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__violations") == []
    assert not [text for text in console if "Content Security Policy" in text]
