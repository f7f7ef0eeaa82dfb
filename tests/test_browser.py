"""Journeys in a real browser against a live server, a real Celery worker and the real host."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from networks.models import Network
from networks.worker.tasks import refresh
from tests.browser import log_in
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def member(username: str, role: str) -> User:
    user = User.objects.create_user(username, password=f"pw-{username}-123")
    user.groups.add(Group.objects.get_or_create(name=role)[0])  # flushed by transactional tests
    return user


def _click_until_sent(page, button, path: str) -> None:
    """Click, and make sure the click was posted. A row the live stream redraws at that moment
    (a late libvirt event of the previous change) takes the button away under the pointer, and
    the click posts nothing: as a person would, click the redrawn button again (once)."""
    for attempt in range(2):
        try:
            with page.expect_request(
                lambda request: request.method == "POST" and path in request.url, timeout=3000
            ):
                button.click()
            return
        except PlaywrightTimeout:
            if attempt:
                raise


def test_an_operator_starts_and_stops_a_network_and_the_row_follows_without_reload(
    live_server,
    browser,
    real_host,
    libvirt_network,
    celery_worker_process,
):
    net = libvirt_network()
    refresh(real_host)
    member("vnwt-op", "operator")
    celery_worker_process(real_host.name)

    page = log_in(browser, live_server.url, "vnwt-op", "pw-vnwt-op-123")
    row = page.locator(f"tr[data-network='{net.name}'][data-host='{real_host.name}']")
    assert row.locator(".state").inner_text() == "inactive"
    page.evaluate("window.vnwtMarker = 'same page'")  # survives only if the page never reloads

    row.locator("button[data-action=start]").click()
    row.locator(".state:has-text('active')").filter(has_not_text="inactive").wait_for(timeout=20000)
    assert "Start: succeeded" in row.inner_text()
    assert virsh_state(net.name)[0] == "active"

    row.locator("button[data-action=stop]").click()
    row.locator(".state:has-text('inactive')").wait_for(timeout=20000)
    assert "Stop: succeeded" in row.inner_text()
    assert virsh_state(net.name)[0] == "inactive"

    _click_until_sent(page, row.locator("button[data-action=autostart-on]"), "/autostart")
    row.locator(".autostart:has-text('yes')").wait_for(timeout=20000)
    assert virsh_state(net.name)[1] == "yes"
    assert page.evaluate("window.vnwtMarker") == "same page"
    page.context.close()


def test_a_viewer_sees_networks_but_no_action_buttons(
    live_server,
    browser,
    real_host,
    libvirt_network,
):
    net = libvirt_network()
    refresh(real_host)
    member("vnwt-viewer", "viewer")
    page = log_in(browser, live_server.url, "vnwt-viewer", "pw-vnwt-viewer-123")
    row = page.locator(f"tr[data-network='{net.name}']")
    assert row.count() == 1
    assert row.locator("button").count() == 0
    page.goto(f"{live_server.url}{Network.objects.get(name=net.name).get_absolute_url()}")
    assert page.locator("#net-panel button").count() == 0
    assert page.locator("pre.xml").inner_text().strip().startswith("<network")
    page.context.close()


def test_a_guests_lease_shows_up_on_the_open_network_page(
    live_server,
    browser,
    real_host,
    libvirt_network,
    namespace_guest,
    celery_worker_process,
    celery_beat_process,
):
    net = libvirt_network(start=True)
    refresh(real_host)
    member("vnwt-viewer2", "viewer")
    celery_worker_process(real_host.name)
    celery_beat_process(seconds=1)
    page = log_in(browser, live_server.url, "vnwt-viewer2", "pw-vnwt-viewer2-123")
    page.goto(f"{live_server.url}/hosts/{real_host.name}/networks/{net.name}/")
    assert "No leases." in page.locator("#leases").inner_text()

    guest = namespace_guest(net.bridge, hostname="vnwt-browser-guest")
    # The worker's periodic refresh picks the lease up; the table polls for it.
    page.locator(f"#leases tr[data-mac='{guest.mac}']").wait_for(timeout=20000)
    assert "vnwt-browser-guest" in page.locator("#leases").inner_text()
    page.context.close()
