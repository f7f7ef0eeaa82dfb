"""The switch editor in Chromium, as a person types (issue 17): the suggested gateway and DHCP range
follow the network key by key, what the person typed stays and is judged at review; and New switch
on the networks list asks an admin of two hosts which one first."""

import pytest
from django.urls import reverse

from networks.models import Grant, Host, Job
from tests.browser import log_in
from tests.test_browser import member

pytestmark = [pytest.mark.browser]


def value(page, selector: str) -> str:
    return page.locator(selector).input_value()


def retype(page, selector: str, text: str) -> None:
    """Clear a field, then type `text` key by key (every half-typed network on the way)."""
    field = page.locator(selector)
    field.fill("")
    field.press_sequentially(text)


def test_the_gateway_and_range_follow_the_network_as_it_is_typed(live_server, browser, admin):
    host = Host.objects.create(name="testdrv", uri="test:///default")
    page = log_in(browser, live_server.url, admin.username, "pw-" + admin.username)
    page.goto(live_server.url + reverse("switch-create", args=[host.name]))
    assert value(page, "input[name=ipv4_gateway]") == "192.168.100.1"

    retype(page, "input[name=ipv4_network]", "10.215.41.0/24")
    assert value(page, "input[name=ipv4_gateway]") == "10.215.41.1"
    assert value(page, "textarea[name=ipv4_ranges]") == "10.215.41.2 10.215.41.254"

    # A gateway the person typed stays where it is; the range, still the suggestion, follows.
    page.fill("input[name=ipv4_gateway]", "10.215.41.9")
    retype(page, "input[name=ipv4_network]", "10.215.43.0/24")
    assert value(page, "input[name=ipv4_gateway]") == "10.215.41.9"
    assert value(page, "textarea[name=ipv4_ranges]") == "10.215.43.2 10.215.43.254"

    # A first IPv6 network gets a gateway and a range of its own.
    retype(page, "input[name=ipv6_network]", "fd00:41::/64")
    assert value(page, "input[name=ipv6_gateway]") == "fd00:41::1"
    assert value(page, "textarea[name=ipv6_ranges]") == "fd00:41::100 fd00:41::1ff"

    page.fill("input[name=name]", "vnwt-follow")
    page.click("button[name=review]")
    error = page.locator("[data-field=ipv4_gateway] .errorlist").inner_text()
    assert "10.215.41.9 is outside 10.215.43.0/24" in error
    assert value(page, "textarea[name=ipv4_ranges]") == "10.215.43.2 10.215.43.254"
    assert page.locator("button:has-text('Create switch')").count() == 0

    # Fixed, the review shows the network typed, and nothing of the old suggestion.
    page.fill("input[name=ipv4_gateway]", "10.215.43.1")
    page.click("button[name=review]")
    xml = page.locator("#review pre").inner_text()
    assert "10.215.43.1" in xml and "192.168.100" not in xml
    assert Job.objects.count() == 0
    page.context.close()


def test_new_switch_on_the_list_asks_an_admin_of_two_hosts_which_one(live_server, browser):
    user = member("vnwt-twohosts", "viewer")
    for name in ("kvm-a", "kvm-b"):
        host = Host.objects.create(name=name, uri="test:///default")
        Grant.objects.create(user=user, role="admin", host=host)
    page = log_in(browser, live_server.url, user.username, "pw-vnwt-twohosts-123")
    page.click("a[data-action=new-switch]")
    page.click("a[data-host=kvm-b]")
    page.wait_for_url(f"**{reverse('switch-create', args=['kvm-b'])}")
    assert page.locator("h1").inner_text() == "New switch on kvm-b"
    page.context.close()
