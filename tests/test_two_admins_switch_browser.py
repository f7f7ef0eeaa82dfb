"""The issue's own scenario, in two browsers on the real host with a real worker: two admins open
the XML editor of one running switch; alice adds a DNS host record and applies it; bob, from the
page he opened before, adds another. His review is refused, saying what alice changed, and
nothing reaches the host; reviewed again on top of the current definition, his record goes in
and both are in libvirt. Then the create form, typed into as a person would: the switch is made
on the subnet typed, not on the suggestion the form started with."""

import random
import subprocess

import pytest

from networks.worker.tasks import refresh
from tests.browser import log_in
from tests.real import LOCAL_URI, free_subnet
from tests.test_browser import member
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def _dump(name: str) -> str:
    command = ["virsh", "-c", LOCAL_URI, "net-dumpxml", "--inactive", name]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def _add_dns_host(page, ip: str, hostname: str) -> None:
    """Type a DNS host record into the XML editor, before the closing </network>."""
    editor = page.locator("textarea[name=xml]")
    record = f"<host ip='{ip}'><hostname>{hostname}</hostname></host>"
    xml = editor.input_value()
    if "<dns>" in xml:
        xml = xml.replace("<dns>", "<dns>" + record, 1)
    else:
        xml = xml.replace("</network>", f"<dns>{record}</dns></network>")
    editor.fill(xml)


def test_two_admins_edit_one_switch_and_neither_loses_an_edit_unawares(
    live_server, browser, real_host, libvirt_network, celery_worker_process
):
    net = libvirt_network(start=True)
    member("alice", "admin")
    member("bob", "admin")
    refresh(real_host)
    celery_worker_process(real_host.name)
    url = f"{live_server.url}/hosts/{real_host.name}/networks/{net.name}/xml/"
    alice = log_in(browser, live_server.url, "alice", "pw-alice-123")
    bob = log_in(browser, live_server.url, "bob", "pw-bob-123")
    alice.goto(url)
    bob.goto(url)  # both editors hold the same definition

    _add_dns_host(alice, f"10.213.{net.subnet}.10", "vnwt-alice")
    alice.click("button[name=review]")
    alice.locator("#review button[name=apply], #review button[name=restart]").first.click()
    alice.wait_for_url(f"**/hosts/{real_host.name}/networks/{net.name}/", timeout=30000)
    alice.locator("#net-panel .job-succeeded").wait_for(timeout=30000)
    assert "vnwt-alice" in _dump(net.name)

    _add_dns_host(bob, f"10.213.{net.subnet}.11", "vnwt-bob")
    bob.click("button[name=review]")
    stale = bob.locator("#stale")
    stale.wait_for(timeout=10000)
    told = stale.inner_text()
    assert "was changed since you opened it; nothing was sent" in told
    assert "alice" in told and f"10.213.{net.subnet}.10" in told, told
    assert bob.locator("#review button[name=apply], #review button[name=restart]").count() == 0
    assert "vnwt-bob" not in _dump(net.name) and "vnwt-alice" in _dump(net.name)

    # Both added the switch's first <dns>: the same lines, so the editor now holds alice's
    # definition and asks bob to make his change again, showing it to him.
    assert "make your change again" in told
    assert "vnwt-bob" in bob.locator("[data-diff=yours]").inner_text()
    assert "vnwt-alice" in bob.locator("textarea[name=xml]").input_value()
    _add_dns_host(bob, f"10.213.{net.subnet}.11", "vnwt-bob")
    bob.click("button[name=review]")
    bob.locator("#review button[name=apply], #review button[name=restart]").first.click()
    bob.wait_for_url(f"**/hosts/{real_host.name}/networks/{net.name}/", timeout=30000)
    bob.locator("#net-panel .job-succeeded").wait_for(timeout=30000)
    saved = _dump(net.name)
    assert "vnwt-alice" in saved and "vnwt-bob" in saved, saved


def test_a_switch_is_made_on_the_subnet_typed_not_on_the_suggestion(
    live_server, browser, real_host, celery_worker_process, switch_names
):
    tag = f"{random.randrange(16**6):06x}"
    name, third = f"vnwt-{tag}", free_subnet()
    switch_names.append(name)
    member("alice", "admin")
    refresh(real_host)
    celery_worker_process(real_host.name)
    page = log_in(browser, live_server.url, "alice", "pw-alice-123")
    page.click("a:has-text('New switch')")  # from the networks list
    page.wait_for_url("**/new-network/**", timeout=10000)
    page.fill("input[name=name]", name)
    page.fill("input[name=bridge]", f"vnwt{tag}")
    network = page.locator("input[name=ipv4_network]")
    network.fill("")
    network.press_sequentially(f"10.213.{third}.0/24")  # key by key, as a person types
    assert page.locator("input[name=ipv4_gateway]").input_value() == f"10.213.{third}.1"
    page.click("button[name=review]")
    review = page.locator("#review pre").inner_text()
    assert f"10.213.{third}.1" in review and "192.168.100.1" not in review, review
    page.click("button:has-text('Create switch')")
    page.wait_for_url(f"**/hosts/{real_host.name}/networks/{name}/", timeout=30000)
    assert f"address='10.213.{third}.1'" in _dump(name).replace('"', "'")
    assert virsh_state(name)[0] in ("active", "inactive")
