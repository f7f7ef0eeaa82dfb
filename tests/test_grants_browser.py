"""Roles per network in a real browser: an admin creates a user in the site, makes it operator of
the `lab-*` networks of one host, and that user sees and runs only those."""

import pytest
from django.contrib.auth.models import Group, User

from networks.models import AuditEntry, Grant, Host, Job
from tests.browser import log_in

pytestmark = [pytest.mark.browser]


def test_an_admin_grants_a_network_pattern_and_the_user_sees_only_that_network(
    live_server, browser, make_network
):
    admin = User.objects.create_user("vnwt-boss", password="pw-vnwt-boss-123")
    admin.groups.add(Group.objects.get_or_create(name="admin")[0])
    host_a = Host.objects.create(name="vnwt-a", uri="test:///default")
    host_b = Host.objects.create(name="vnwt-b", uri="test:///default")
    for index, host in enumerate((host_a, host_b)):
        make_network(host, "lab-1", ipv4=f"10.231.{index}.1/24", bridge=f"vnwtl{index}")
        make_network(host, "prod-1", ipv4=f"10.232.{index}.1/24", bridge=f"vnwtp{index}")

    page = log_in(browser, live_server.url, "vnwt-boss", "pw-vnwt-boss-123")
    page.click("nav a:has-text('Users')")
    page.click("a:has-text('New user')")
    page.fill("input[name=username]", "vnwt-lena")
    page.fill("input[name=password1]", "short")
    page.fill("input[name=password2]", "short")
    page.click("button:has-text('Create')")
    assert "too short" in page.content()  # Django's validators, next to the field
    page.fill("input[name=password1]", "lena-Strong-pw-42")
    page.fill("input[name=password2]", "lena-Strong-pw-42")
    page.click("button:has-text('Create')")
    page.wait_for_selector("h1:has-text('vnwt-lena')")
    grant_form = page.locator("#grant-form")
    grant_form.locator("select[name=role]").select_option("operator")
    grant_form.locator("select[name=host]").select_option(label="vnwt-a")
    grant_form.locator("input[name=networks]").fill("lab-*")
    grant_form.locator("button").click()
    page.wait_for_selector("tr[data-grant]")
    assert Grant.objects.get(user__username="vnwt-lena").networks == "lab-*"
    assert AuditEntry.objects.filter(action="user-add").exists()
    assert AuditEntry.objects.filter(action="grant-add", host=host_a).exists()

    lena = log_in(browser, live_server.url, "vnwt-lena", "lena-Strong-pw-42")
    rows = lena.locator("tr[data-network]")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-network") == "lab-1"
    assert "vnwt-a" in rows.first.inner_text()
    lena.click("tr[data-network] a:has-text('lab-1')")
    lena.wait_for_url(f"{live_server.url}/hosts/vnwt-a/networks/lab-1/")
    start = lena.locator("#net-panel [data-action=start]")
    assert start.is_visible()
    assert lena.locator("[data-action=edit-xml]").count() == 0
    start.click()
    lena.wait_for_selector("#net-panel .job")
    job = Job.objects.get(username="vnwt-lena")
    assert (job.operation, job.network.name, job.host) == ("start", "lab-1", host_a)

    for path in ("/hosts/vnwt-a/networks/prod-1/", "/hosts/vnwt-b/networks/lab-1/"):
        assert lena.goto(f"{live_server.url}{path}").status == 404, path
    assert lena.goto(f"{live_server.url}/hosts/vnwt-a/guests/").status == 404
    assert lena.goto(f"{live_server.url}/users/").status == 403
