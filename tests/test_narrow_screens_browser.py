"""A phone's 360 px wide screen, and 200 % zoom (a 1280 px wide window at 200 % lays out as a
640 px one): no page is wider than the window (tables scroll inside their own box, the header
wraps), and the main actions can be scrolled to and lie wholly inside the window's width."""

import pytest
from django.urls import reverse

from tests.browser import log_in
from tests.main_pages import main_pages
from tests.test_browser import member

pytestmark = pytest.mark.browser

# (width, height) in CSS pixels: a phone, and a 1280 x 800 window at 200 % zoom (zoom scales the
# CSS pixel, so the page lays out exactly as in a 640 x 400 window).
SCREENS = [(360, 740), (640, 400)]

OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"


def reachable(page, selector: str) -> str:
    """ "" when the first element matching `selector` can be scrolled into view and then lies
    wholly inside the window's width; else what is wrong."""
    target = page.locator(selector).first
    if not target.count():
        return f"{selector}: not on the page"
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    width = page.evaluate("window.innerWidth")
    if box is None:
        return f"{selector}: not shown"
    if box["x"] < 0 or box["x"] + box["width"] > width + 0.5:
        return f"{selector}: from {box['x']:.0f} to {box['x'] + box['width']:.0f} of {width}"
    return ""


@pytest.mark.parametrize(("width", "height"), SCREENS)
def test_no_page_is_wider_than_a_narrow_window_and_every_action_is_reachable(
    live_server, browser, main_site, width, height
):
    member("vnwt-admin", "admin")
    page = log_in(browser, live_server.url, "vnwt-admin", "pw-vnwt-admin-123")
    page.set_viewport_size({"width": width, "height": height})
    wide, unreachable = {}, []
    for path, actions in [*main_pages(*main_site), (reverse("network-list"), ["button.link"])]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        if (over := page.evaluate(OVERFLOW)) > 0:
            wide[path] = over
        unreachable += [f"{path} {wrong}" for s in actions if (wrong := reachable(page, s))]
    assert wide == {}, f"pages wider than {width} px, by px: {wide}"
    assert unreachable == []
    page.context.close()


def test_the_login_page_fits_a_phone(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.evaluate(OVERFLOW) <= 0
    assert reachable(page, "button:has-text('Log in')") == ""
    context.close()
