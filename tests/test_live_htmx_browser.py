"""The live channel's updates are fetched and swapped by htmx itself (static/vnetweb/live.js asks
htmx.ajax for each part's URL): htmx's own events fire, the address bar and history stay put, and
a job moving on swaps just its row. No libvirt and no worker: the test writes the rows a worker
would and publishes the change as it would."""

import pytest
from django.contrib.auth.models import Group, User

from networks import live
from networks.models import Job, Network
from networks.operations import Op
from tests.browser import log_in, wait_until

pytestmark = pytest.mark.browser

# Every htmx swap, by the id of the element swapped in, and whether the live channel asked for it.
RECORD_SWAPS = """
window.vnwtSwaps = [];
["htmx:afterSwap", "htmx:oobAfterSwap"].forEach(function (name) {
  document.body.addEventListener(name, function (event) {
    var config = event.detail.requestConfig || {};
    var live = !!(config.headers && config.headers["X-Live-Refresh"]);
    window.vnwtSwaps.push((event.detail.target || event.target).id + (live ? " live" : ""));
  });
});
"""


def viewer_page(browser, live_server):
    user = User.objects.create_user("vnwt-watcher", password="pw-vnwt-watcher-123")
    user.groups.add(Group.objects.get_or_create(name="viewer")[0])
    return log_in(browser, live_server.url, "vnwt-watcher", "pw-vnwt-watcher-123")


def swaps(page) -> list[str]:
    return page.evaluate("window.vnwtSwaps")


def test_a_change_reaches_the_list_through_htmx(live_server, browser, test_host, make_network):
    network = make_network(test_host, "vnwt-swap", active=False)
    page = viewer_page(browser, live_server)
    url = f"{live_server.url}/networks/?q=vnwt-swap"
    page.goto(url)
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate(RECORD_SWAPS)
    history = page.evaluate("history.length")

    Network.objects.filter(pk=network.pk).update(active=True)
    live.send(test_host.pk, [network.pk])

    page.locator("tr[data-network='vnwt-swap'] .state .pill.on").wait_for(timeout=5000)
    wait_until(page, "window.vnwtSwaps.indexOf('net-table live') !== -1")
    assert page.url == url
    assert page.evaluate("history.length") == history
    page.context.close()


def test_a_job_moving_on_swaps_just_its_row(live_server, browser, test_host, make_network):
    network = make_network(test_host, "vnwt-row", active=False)
    make_network(test_host, "vnwt-other", active=False)
    page = viewer_page(browser, live_server)
    page.goto(f"{live_server.url}/networks/?q=vnwt")
    page.locator("#live-status.on").wait_for(timeout=10000)
    # The table stays the same element; the row is a new one, swapped in by htmx (out of band).
    page.evaluate(
        RECORD_SWAPS + "document.getElementById('net-table').vnwtSame = true;"
        f"document.getElementById('net-{network.pk}').vnwtOld = true;"
    )

    job = Job.objects.create(
        username="vnwt-actor",
        host=test_host,
        network=network,
        target=network.name,
        operation=Op.START,
    )
    live.send(test_host.pk, [network.pk], [job.pk], jobs_only=True)

    page.locator(f"tr[data-network='vnwt-row'] [data-job='{job.pk}']").wait_for(timeout=5000)
    assert f"net-{network.pk}" in swaps(page)
    assert page.evaluate(f"document.getElementById('net-{network.pk}').vnwtOld") is None
    assert page.evaluate("document.getElementById('net-table').vnwtSame") is True
    page.context.close()


def test_each_part_of_the_network_page_comes_from_its_own_url(
    live_server, browser, test_host, make_network
):
    network = make_network(test_host, "vnwt-page", active=False)
    page = viewer_page(browser, live_server)
    page.goto(f"{live_server.url}{network.get_absolute_url()}")
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate(RECORD_SWAPS)

    Network.objects.filter(pk=network.pk).update(active=True)
    live.send(test_host.pk, [network.pk])

    page.locator("#net-panel .state .pill.on").wait_for(timeout=5000)
    for part in ("net-live", "net-switch", "net-leases", "net-more"):
        wait_until(page, f"window.vnwtSwaps.indexOf('{part} live') !== -1")
    page.context.close()
