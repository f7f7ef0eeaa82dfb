"""Two admins on one guest, in Chromium: the NIC forms of the guest's page and the topology's
canvas send the version of the NICs they show; a change someone else made that the page has not
shown yet gets the refusal in words where the answer goes (409) and queues nothing; once the
live page has followed (the change's live message), the same gesture goes through. No worker:
the test writes what the worker would, and sends the live message it would."""

import pytest
from django.urls import reverse

from networks import live
from networks.models import Guest, Host, Job
from tests.browser import log_in
from tests.test_topology import make_guest, nic
from tests.test_topology_browser import form_field, open_topology

pytestmark = [pytest.mark.browser]

MAC1 = "52:54:00:00:00:01"


@pytest.fixture
def lab(test_host, make_network) -> Host:
    make_network(test_host, "lan", mode="nat", active=True)
    make_network(test_host, "quiet", mode="isolated", active=True, ipv4="10.9.0.1/24")
    make_guest(test_host, "web", nic("lan", MAC1))
    make_guest(test_host, "spare vm", state="shut off")
    return test_host


def _moved_with_virsh(host: Host, guest: str, network: str) -> None:
    """The worker read the guest again after someone moved its NIC; its live message is not
    sent yet, so the open page still shows the NIC where it was."""
    Guest.objects.filter(host=host, name=guest).update(nics=[nic(network, MAC1)])


def test_the_guest_page_refuses_a_move_it_drew_before_and_takes_it_once_it_followed(
    live_server, browser, lab, operator
):
    page = log_in(browser, live_server.url, operator.username, "pw-" + operator.username)
    page.goto(live_server.url + reverse("guest-detail", args=[lab.name, "web"]))
    page.locator("#live-status.on").wait_for(timeout=10000)

    # The attach form's version lives in the live part (form="attach-nic"): htmx sends it.
    page.select_option("#attach-nic select[name=network]", "quiet")
    with page.expect_response(lambda r: "/nics/attach/" in r.url) as answered:
        page.click("#attach-nic button")
    assert answered.value.status == 202
    assert "version=0." in answered.value.request.post_data  # htmx posts it url-encoded
    assert Job.objects.get(operation="nic_attach").params["seen_macs"] == MAC1
    # The job's live message: the page follows, and so does the version its forms carry.
    page.locator("#guest-live table:has-text('Attach NIC')").wait_for()

    _moved_with_virsh(lab, "web", "quiet")
    move = page.locator(f'tr[data-mac="{MAC1}"] form[action*="/move/"]')
    move.locator("select").select_option("quiet")
    with page.expect_response(lambda r: "/move/" in r.url) as answered:
        move.locator("button").click()
    assert answered.value.status == 409
    status = page.locator("#nic-status")
    status.locator("p.error").wait_for()
    assert "web's NICs changed since this page was drawn" in status.inner_text()
    assert f"It has now {MAC1} on quiet" in status.inner_text()
    assert Job.objects.count() == 1

    live.send(lab.pk, topic="guests")
    page.locator(f'tr[data-mac="{MAC1}"] td:nth-child(2) a:text-is("quiet")').wait_for()
    move = page.locator(f'tr[data-mac="{MAC1}"] form[action*="/move/"]')
    move.locator("select").select_option("lan")
    with page.expect_response(lambda r: "/move/" in r.url) as answered:
        move.locator("button").click()
    assert answered.value.status == 202
    job = Job.objects.get(operation="nic_move")
    assert (job.operation, job.params["network"], job.params["seen_source"]) == (
        "nic_move",
        "lan",
        "quiet",
    )
    page.context.close()


def test_the_canvas_refuses_a_connect_it_drew_before_and_takes_it_once_it_followed(
    live_server, browser, lab, operator
):
    page = open_topology(browser, live_server, operator, lab)
    Guest.objects.filter(host=lab, name="spare vm").update(nics=[nic("lan", "52:54:00:00:00:09")])

    page.select_option("form.topo-connect select[name=guest]", "spare vm")
    page.select_option("form.topo-connect select[name=network]", "quiet")
    with page.expect_response(lambda r: "/nics/attach/" in r.url) as answered:
        page.click("form.topo-connect button")
    assert answered.value.status == 409
    assert form_field(answered.value.request.post_data, "version")
    status = page.locator("#topo-status")
    assert "spare vm's NICs changed since this page was drawn" in status.inner_text()
    assert "changed outside vnetweb" in status.inner_text()
    assert not Job.objects.exists()

    live.send(lab.pk, topic="guests")
    page.locator('svg.topo g.nic[data-guest="spare vm"][data-network="lan"]').wait_for()
    with page.expect_response(lambda r: "/nics/attach/" in r.url) as answered:
        page.click("form.topo-connect button")
    assert answered.value.status == 202
    assert Job.objects.get().params["seen_macs"] == "52:54:00:00:00:09"
    page.context.close()
