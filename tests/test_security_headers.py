"""Every page carries the security headers, and no template or script of ours needs what the
Content Security Policy forbids: inline scripts, event handler attributes, javascript: URLs or
style attributes (tests/test_csp_browser.py checks the pages in Chromium too)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((REPO / "templates").rglob("*.html"))  # templates/jinja2/ among them
SCRIPTS = sorted((REPO / "static" / "vnetweb").glob("*.js"))

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
# hx-on too: htmx runs its code with Function(), which the policy refuses as well.
_HANDLER = re.compile(r"\s(?:hx-|data-hx-)?on[a-z:-]*\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"javascript:", re.IGNORECASE)
_STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
# Scripts may set element.style (CSSOM, allowed) but not a style attribute or inline markup.
_SCRIPT_STYLE = re.compile(r"setAttribute\(\s*[\"']style|\.cssText|style=|\son[a-z]+=")


def test_the_csp_allows_only_our_own_scripts_and_styles(settings):
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_carry_the_security_headers(admin, client_as, client, logged_in):
    response = (
        client_as(admin).get(reverse("network-list")) if logged_in else client.get(reverse("login"))
    )
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_htmx_is_told_not_to_inject_its_indicator_style(client):
    assert """content='{"includeIndicatorStyles":false}'""" in client.get(reverse("login")).text


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_template_needs_an_inline_script_or_style(path):
    text = path.read_text()
    assert not _INLINE_SCRIPT.search(text), "inline <script>"
    assert not _HANDLER.search(text), "on...= event handler attribute"
    assert not _JS_URL.search(text), "javascript: URL"
    assert not _STYLE_ATTRIBUTE.search(text), "style= attribute"


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_no_script_writes_inline_styles_or_handlers(path):
    assert not _SCRIPT_STYLE.search(path.read_text())


_POST_FORM = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_post_form_carries_the_csrf_token(path):
    for body in _POST_FORM.findall(path.read_text()):
        # Every template of ours is Jinja2 (tests/test_one_template_engine.py).
        assert "{{ csrf_input }}" in body


def test_htmx_requests_send_the_csrf_token_from_the_body(admin, client_as):
    page = client_as(admin).get(reverse("network-list")).text
    assert """hx-headers='{"X-CSRFToken": \"""" in page


def test_a_post_without_the_csrf_token_is_refused_and_with_it_accepted(admin, test_host):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    client.get(reverse("host-list"))
    probe = reverse("host-probe", args=[test_host.name])
    assert client.post(probe, headers={"HX-Request": "true"}).status_code == 403
    token = client.cookies["csrftoken"].value
    accepted = client.post(probe, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 302  # the probe is queued, back to the host page
    assert accepted.url == test_host.get_absolute_url()
