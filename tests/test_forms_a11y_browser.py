"""Forms and announcements for people who do not see the page: a refused save marks its fields
(aria-invalid, the error tied by aria-describedby) and puts the focus on the first one; the
review's diff says in words which lines are added and removed; a job's outcome and a lease
arriving are said once in the page's one polite status region, not at every refresh.
No libvirt and no worker: the tests write the rows a worker would and publish the change."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from networks import live
from networks.models import Job, Lease, Network
from networks.operations import Op
from networks.spec import to_xml
from tests.browser import log_in, wait_until
from tests.test_browser import member
from tests.test_switch_views import nat_spec

pytestmark = pytest.mark.browser

# Every non-empty message the announcer region is given, in order.
RECORD_ANNOUNCEMENTS = """
window.vnwtSaid = [];
new MutationObserver(function () {
  var text = document.getElementById("announcer").textContent;
  if (text) window.vnwtSaid.push(text);
}).observe(document.getElementById("announcer"), {childList: true, characterData: true,
  subtree: true});
"""

# Each aria-describedby of the page's fields that names no element: a reference read as nothing.
DANGLING = """
Array.from(document.querySelectorAll("[aria-describedby]")).flatMap(function (el) {
  return el.getAttribute("aria-describedby").split(/\\s+/).filter(function (id) {
    return !document.getElementById(id);
  }).map(function (id) { return el.name + " -> " + id; });
})
"""


@pytest.fixture
def switch(test_host, make_network) -> Network:
    """A running NAT switch with one static host, as a worker would have recorded it."""
    spec = nat_spec()
    return make_network(test_host, "lab", active=True, bridge=spec.bridge, xml=to_xml(spec))


def admin_page(browser, live_server):
    member("vnwt-admin", "admin")
    return log_in(browser, live_server.url, "vnwt-admin", "pw-vnwt-admin-123")


def said(page) -> list[str]:
    return page.evaluate("window.vnwtSaid")


def finish(job: Job, state: str = Job.State.SUCCEEDED, message: str = "") -> None:
    """Ends the job as the worker's jobs.finish would, and tells the pages."""
    Job.objects.filter(pk=job.pk).update(state=state, message=message, finished=timezone.now())
    live.send(job.host_id, [job.network_id] if job.network_id else [], [job.pk], jobs_only=True)


def test_a_refused_save_marks_the_field_ties_its_error_and_focuses_it(
    live_server, browser, test_host
):
    page = admin_page(browser, live_server)
    page.goto(f"{live_server.url}{reverse('switch-create', args=[test_host.name])}")
    page.fill("input[name=name]", "no spaces allowed")
    page.click("button[name=review]")

    field = page.locator("#id_name")
    field.wait_for()
    assert field.get_attribute("aria-invalid") == "true"
    described = field.get_attribute("aria-describedby").split()
    assert "id_name_error" in described
    assert page.locator("#id_name_error").inner_text().strip()
    assert page.evaluate("document.activeElement.id") == "id_name"
    assert page.evaluate(DANGLING) == []
    # The summary at the top links to the field, for whoever starts reading there.
    link = page.locator(".error-summary a[href='#id_name']")
    assert "Name" in link.inner_text()
    page.context.close()


def test_a_refused_login_marks_both_fields_and_focuses_the_first(live_server, browser, admin):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", "wrong")
    page.click("button:has-text('Log in')")

    page.locator("#login-error").wait_for()
    for name in ("username", "password"):
        field = page.locator(f"input[name={name}]")
        assert field.get_attribute("aria-invalid") == "true"
        assert field.get_attribute("aria-describedby") == "login-error"
    assert page.evaluate("document.activeElement.name") == "username"
    context.close()


def test_the_users_page_has_one_id_per_field_and_no_dangling_reference(
    live_server, browser, viewer
):
    page = admin_page(browser, live_server)
    page.goto(f"{live_server.url}{reverse('user-detail', args=[viewer.pk])}")
    ids = page.evaluate(
        "Array.from(document.querySelectorAll('[id]')).map(function (el) { return el.id; })"
    )
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    unlabelled = page.evaluate(
        "Array.from(document.querySelectorAll('form input:not([type=hidden]), form select'))"
        ".filter(function (el) { return !el.labels.length && !el.getAttribute('aria-label'); })"
        ".map(function (el) { return el.name; })"
    )
    assert unlabelled == []
    assert page.evaluate(DANGLING) == []
    page.context.close()


def test_the_review_diff_says_which_lines_are_added_and_removed(live_server, browser, switch):
    page = admin_page(browser, live_server)
    page.goto(f"{live_server.url}{reverse('switch-edit', args=[switch.host.name, switch.name])}")
    page.fill("textarea[name=ipv4_hosts]", "52:54:00:00:00:01 web1 10.9.50.12")
    page.click("button[name=review]")

    added = page.locator("#review pre.diff ins")
    removed = page.locator("#review pre.diff del")
    added.first.wait_for()
    assert all(text.startswith("added: ") for text in added.all_text_contents())
    assert all(text.startswith("removed: ") for text in removed.all_text_contents())
    assert any("10.9.50.12" in text for text in added.all_inner_texts())
    assert any("10.9.50.10" in text for text in removed.all_inner_texts())
    # The words are for screen readers: one pixel, clipped.
    box = page.locator("#review pre.diff ins .visually-hidden").first.bounding_box()
    assert box["width"] <= 1 and box["height"] <= 1
    page.context.close()


def test_a_job_outcome_is_announced_once_on_its_page(live_server, browser, test_host):
    page = admin_page(browser, live_server)
    job = Job.objects.create(
        username="vnwt-admin", host=test_host, target="testdrv", operation=Op.PROBE
    )
    page.goto(f"{live_server.url}{reverse('job-detail', args=[job.pk])}")
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate(RECORD_ANNOUNCEMENTS)

    Job.objects.filter(pk=job.pk).update(state=Job.State.RUNNING)
    live.send(test_host.pk, [], [job.pk])
    page.locator("#job-status .pill.job-running").wait_for(timeout=5000)
    finish(job, message="reachable")
    page.locator("#job-status .pill.job-succeeded").wait_for(timeout=5000)
    wait_until(page, "window.vnwtSaid.length > 0")
    # Another refresh of the same outcome says nothing again.
    live.send(test_host.pk, [], [job.pk])
    page.wait_for_timeout(600)

    assert said(page) == [f"{job.get_operation_display()} testdrv: succeeded. reachable"]
    # The part refreshed at every change is not a live region itself.
    assert page.locator("#job-status[aria-live], #job-status [aria-live]").count() == 0
    page.context.close()


def test_only_my_own_job_ending_on_a_row_is_announced(
    live_server, browser, test_host, make_network
):
    mine_net = make_network(test_host, "vnwt-mine", active=False)
    theirs_net = make_network(test_host, "vnwt-theirs", active=False)
    page = admin_page(browser, live_server)
    mine = Job.objects.create(
        username="vnwt-admin",
        host=test_host,
        network=mine_net,
        target="vnwt-mine",
        operation=Op.START,
    )
    theirs = Job.objects.create(
        username="someone-else",
        host=test_host,
        network=theirs_net,
        target="vnwt-theirs",
        operation=Op.START,
    )
    page.goto(f"{live_server.url}/networks/?q=vnwt")
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate(RECORD_ANNOUNCEMENTS)

    finish(theirs)
    page.locator(f"[data-job='{theirs.pk}'].job-succeeded").wait_for(timeout=5000)
    finish(mine, Job.State.FAILED, "network 'vnwt-mine' is already active")
    page.locator(f"[data-job='{mine.pk}'].job-failed").wait_for(timeout=5000)
    wait_until(page, "window.vnwtSaid.length > 0")
    page.wait_for_timeout(300)

    assert said(page) == [
        f"{mine.get_operation_display()} vnwt-mine: failed. network 'vnwt-mine' is already active"
    ]
    page.context.close()


def test_a_lease_arriving_on_the_watched_switch_is_announced_once(
    live_server, browser, test_host, make_network
):
    network = make_network(
        test_host,
        "vnwt-leases",
        active=True,
        leases_seen=timezone.now(),
        addresses=[{"family": "ipv4", "cidr": "10.0.0.1/24", "dhcp_ranges": [], "dhcp_hosts": 0}],
    )
    lease(network, "52:54:00:aa:00:01", "10.0.0.11", "old")
    page = admin_page(browser, live_server)
    page.goto(f"{live_server.url}{network.get_absolute_url()}")
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate(RECORD_ANNOUNCEMENTS)

    lease(network, "52:54:00:aa:00:02", "10.0.0.12", "web02")
    live.send(test_host.pk, [network.pk])
    page.locator("tr[data-ip='10.0.0.12']").wait_for(timeout=5000)
    wait_until(page, "window.vnwtSaid.length > 0")
    live.send(test_host.pk, [network.pk])  # a refresh with nothing new
    page.wait_for_timeout(600)

    assert said(page) == ["New lease: 10.0.0.12 to web02."]
    assert page.locator("#net-leases[aria-live], #net-leases [aria-live]").count() == 0
    page.context.close()


def lease(network: Network, mac: str, ip: str, hostname: str) -> None:
    """A lease as the worker records it: the row, and the version that the cached rows follow."""
    Lease.objects.create(
        network=network,
        mac=mac,
        ip=ip,
        prefix=24,
        hostname=hostname,
        expires=timezone.now() + timedelta(hours=1),
    )
    Network.objects.filter(pk=network.pk).update(leases_version=F("leases_version") + 1)
