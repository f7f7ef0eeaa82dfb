"""A NAT network's page in a real browser, as an administrator uses it: a guest plugs in and its
lease and port appear without a reload, the lease is made permanent, the counters move, the
firewall rules are listed, and a rule removed behind libvirt's back is named and fixed from the
page.

Real libvirtd, dnsmasq, nftables, Redis, Celery worker (with its monitor; no beat, so the monitor
alone brings the changes) and Chromium. Only the test's own network and rules are touched.
"""

import subprocess
import time

import pytest
from django.contrib.auth.models import Group, User

from networks.gateway import hostside
from networks.models import Network
from tests.browser import log_in
from tests.real import wait_for
from tests.test_monitor_real import _our_masquerade_handles

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def test_an_operator_watches_a_lease_arrive_and_fixes_a_broken_firewall(
    live_server, browser, real_host, libvirt_network, namespace_guest, celery_worker_process
):
    net = libvirt_network(start=True)
    user = User.objects.create_user("vnwt-op", password="pw-vnwt-op-123")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    celery_worker_process(real_host.name, pool="threads")
    row = wait_for(
        lambda: (r := Network.objects.filter(name=net.name).first()) and r.switch.get("link") and r,
        timeout=40,
        message="the worker never read the switch",
    )

    page = log_in(browser, live_server.url, "vnwt-op", "pw-vnwt-op-123")
    page.goto(live_server.url + row.get_absolute_url())
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate("window.vnwtMarker = 'same page'")
    ifconfig = page.locator("[data-ifconfig]").inner_text()
    assert ifconfig.startswith(f"{net.bridge}: flags=<UP")
    assert f"inet 10.213.{net.subnet}.1  netmask 255.255.255.0" in ifconfig
    firewall = page.locator("[data-firewall]").inner_text()
    assert "table ip nat {" in firewall and "xt target MASQUERADE" in firewall
    assert f'iifname "{net.bridge}" ip saddr 10.213.{net.subnet}.0/24' in firewall
    assert "Healthy:" in page.locator("#health").inner_text()

    # A guest plugs in: its port and its lease appear on the open page.
    guest = namespace_guest(net.bridge, hostname="vnwt-browser")
    page.locator(f"tr[data-port='{guest.host_end}']").wait_for(timeout=10000)
    lease_row = page.locator(f"tr[data-mac='{guest.mac}']")
    lease_row.wait_for(timeout=10000)
    shown = time.time()
    acked = hostside.lease_file(net.bridge).stat().st_mtime
    delay = shown - acked
    assert "vnwt-browser" in lease_row.inner_text()
    # Pinned: the worker adds the reservation to the running network, the row turns static.
    lease_row.locator("button[data-action=pin-lease]").click()
    page.locator(f"tr.is-static[data-mac='{guest.mac}']").wait_for(timeout=15000)
    assert "static" in page.locator(f"tr[data-mac='{guest.mac}']").inner_text()
    # Counters are sampled while the page is open: rates and then the chart show.
    page.locator("[data-rate=rx]").wait_for(timeout=10000)
    page.locator("svg.chart").wait_for(timeout=15000)
    assert "RX packets" in page.locator("[data-ifconfig]").inner_text()

    # Behind libvirt's back, the test network's own masquerade rules go.
    subnet = f"10.213.{net.subnet}.0/24"
    for handle in _our_masquerade_handles(subnet):
        subprocess.run(
            ["nft", "delete", "rule", "ip", "nat", "LIBVIRT_PRT", "handle", str(handle)],
            check=True,
        )
    problem = page.locator("[data-problem=nat-rules-missing]")
    problem.wait_for(timeout=10000)
    assert subnet in problem.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("button[data-fix=nat-rules-missing]").click()
    page.locator("#health.good").wait_for(timeout=30000)
    assert _our_masquerade_handles(subnet)
    assert page.evaluate("window.vnwtMarker") == "same page"  # never reloaded
    print(f"DHCP acknowledgement (lease file written) -> row on the open page: {delay:.2f} s")
    assert delay < 1.0, delay
    page.context.close()
