"""Drawing a switch in a real browser: the form, a mistake caught next to its field, the review,
the switch running on the real host, then a static host added live without a restart."""

import random
import subprocess
from pathlib import Path

import pytest

from networks.worker.tasks import refresh
from tests.browser import log_in
from tests.real import LOCAL_URI, free_subnet
from tests.test_browser import member
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def test_an_admin_draws_a_nat_switch_sees_it_running_and_adds_a_static_host_live(
    live_server, browser, real_host, celery_worker_process, switch_names
):
    tag = f"{random.randrange(16**6):06x}"
    name, bridge = f"vnwt-{tag}", f"vnwt{tag}"
    third = free_subnet()
    net = f"10.213.{third}"
    switch_names.append(name)
    member("vnwt-admin", "admin")
    refresh(real_host)
    celery_worker_process(real_host.name)

    page = log_in(browser, live_server.url, "vnwt-admin", "pw-vnwt-admin-123")
    page.goto(f"{live_server.url}{real_host.get_absolute_url()}")
    page.click("a[data-action=new-switch]")
    page.fill("input[name=name]", name)
    # The form shows only what the chosen mode takes.
    page.select_option("select[name=mode]", "bridge")
    assert page.locator("input[name=host_bridge]").is_visible()
    assert not page.locator("input[name=ipv4_network]").is_visible()
    page.select_option("select[name=mode]", "nat")
    assert not page.locator("input[name=host_bridge]").is_visible()
    assert not page.locator("select[name=macvtap_mode]").is_visible()
    page.fill("input[name=bridge]", bridge)
    page.uncheck("input[name=stp]")
    page.fill("input[name=ipv4_network]", f"{net}.0/24")
    page.fill("input[name=ipv4_gateway]", f"{net}.1")
    page.fill("textarea[name=ipv4_ranges]", f"{net}.1 {net}.50")  # contains the gateway
    page.click("button[name=review]")

    error = page.locator("[data-field=ipv4_ranges] .errorlist")
    assert "own address" in error.inner_text()
    assert page.locator("button:has-text('Create switch')").count() == 0
    assert (
        name
        not in subprocess.run(
            ["virsh", "-c", LOCAL_URI, "net-list", "--all", "--name"],
            capture_output=True,
            text=True,
        ).stdout
    )

    page.fill("textarea[name=ipv4_ranges]", f"{net}.100 {net}.150")
    page.click("button[name=review]")
    assert f"&lt;name&gt;{name}&lt;/name&gt;" in page.locator("#review pre").inner_html()
    page.click("button:has-text('Create switch')")

    # The job page follows the worker and then opens the new switch's page.
    page.wait_for_url(f"**/hosts/{real_host.name}/networks/{name}/", timeout=30000)
    page.locator("#net-panel .state:has-text('active')").wait_for(timeout=20000)
    assert virsh_state(name) == ("active", "yes")
    ifindex = Path(f"/sys/class/net/{bridge}/ifindex").read_text()

    page.click("a[data-action=edit]")
    page.fill("textarea[name=ipv4_hosts]", f"52:54:00:21:3a:01 vnwt-web {net}.20")
    page.click("button[name=review]")
    assert "without a restart" in page.locator("#review").inner_text()
    page.click("#review button[name=apply]")
    page.wait_for_url(f"**/hosts/{real_host.name}/networks/{name}/")
    page.locator("#net-panel .job-succeeded").wait_for(timeout=30000)
    page.locator("#net-panel:has-text('1 static host')").wait_for(timeout=10000)

    dumped = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-dumpxml", name], capture_output=True, text=True
    ).stdout
    assert "52:54:00:21:3a:01" in dumped and f"{net}.20" in dumped
    assert Path(f"/sys/class/net/{bridge}/ifindex").read_text() == ifindex, "it was restarted"
    page.context.close()
