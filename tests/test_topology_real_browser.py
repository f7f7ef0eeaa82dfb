"""The whole drag, for real: an operator opens the host's topology, drags a running QEMU guest onto
a switch; the worker plugs a NIC in (live and in the definition), the line is drawn, then the
guest's lease on the new switch shows on it; the guest's page lists the NIC and `virsh
domiflist` agrees. A viewer's drag asks for nothing, and the server refuses the viewer anyway.

Real libvirtd, QEMU (TCG), dnsmasq, Redis, a Celery worker with its monitor (no beat: the job and
libvirt's events bring the changes) and Chromium. Only the test's own networks and guest.
"""

import subprocess
import time

import pytest
from django.urls import reverse

from networks.models import Guest, Job, Network
from tests.browser import log_in
from tests.real import LOCAL_URI, domiflist, lease_for, wait_for
from tests.test_live_browser import member
from tests.test_topology_browser import centre

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def test_an_operator_drags_a_running_guest_onto_a_switch_and_watches_it_connect(
    live_server, browser, real_host, libvirt_network, qemu_guest, celery_worker_process
):
    a, b = libvirt_network(start=True), libvirt_network(start=True)
    vm = qemu_guest([a.name], hostname="vnwt-drag")
    wait_for(lambda: lease_for(a.name, vm.macs[0]), timeout=90, message=vm.console())
    member("vnwt-op", "operator")
    member("vnwt-viewer", "viewer")
    celery_worker_process(real_host.name, pool="threads")
    wait_for(
        lambda: Guest.objects.filter(name=vm.name, state="running").exists()
        and Network.objects.filter(name=b.name, active=True).exists(),
        timeout=60,
        message="the worker never read the host",
    )
    topology = live_server.url + reverse("host-topology", args=[real_host.name])
    guest = f'g.guest[data-guest="{vm.name}"]'
    switch = f'g.switch[data-switch="{b.name}"]'
    # A solid line: the guest's NIC on b (dashed "pending" ones are the job's, before the NIC).
    line = f'svg.topo g.nic:not(.pending)[data-guest="{vm.name}"][data-network="{b.name}"]'

    # A viewer sees the drawing, but dragging the guest asks for nothing ...
    viewer = log_in(browser, live_server.url, "vnwt-viewer", "pw-vnwt-viewer-123")
    viewer.goto(topology)
    viewer.locator(switch).wait_for(timeout=10000)
    sent: list[str] = []
    viewer.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    viewer.mouse.move(*centre(viewer, guest))
    viewer.mouse.down()
    viewer.mouse.move(*centre(viewer, switch), steps=12)
    viewer.mouse.up()
    viewer.wait_for_timeout(500)
    assert sent == []
    assert viewer.locator("#topology[data-edit]").count() == 0  # nothing there to drag
    # ... and the server refuses it anyway.
    csrf = viewer.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']")
    refused = viewer.request.post(
        live_server.url + reverse("guest-nic-attach", args=[real_host.name, vm.name]),
        form={"network": b.name},
        headers={"X-CSRFToken": csrf, "HX-Request": "true"},
    )
    assert refused.status == 403
    assert not Job.objects.filter(operation="nic_attach").exists()
    viewer.context.close()

    page = log_in(browser, live_server.url, "vnwt-op", "pw-vnwt-op-123")
    page.goto(topology)
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.evaluate("window.vnwtMarker = 'same page'")
    assert page.locator(line).count() == 0
    page.mouse.move(*centre(page, guest))
    page.mouse.down()
    page.mouse.move(*centre(page, switch), steps=12)
    started = time.monotonic()
    with page.expect_response(lambda r: r.url.endswith("/nics/attach/")) as answered:
        page.mouse.up()
    assert answered.value.status == 202
    page.locator(line).wait_for(timeout=30000)
    drawn = time.monotonic() - started
    job = Job.objects.get(operation="nic_attach")
    assert job.state == Job.State.SUCCEEDED, job.message
    mac = job.params["mac"]
    ip = wait_for(lambda: lease_for(b.name, mac), timeout=30, message=vm.console())
    wait_for(
        lambda: ip in page.locator(f"{line} title").text_content(),
        timeout=10,
        message="the new NIC's address never showed on its line",
    )
    addressed = time.monotonic() - started
    print(f"drop -> line drawn: {drawn:.2f} s; -> its address on the line: {addressed:.2f} s")
    assert page.evaluate("window.vnwtMarker") == "same page"  # no reload

    # The guest's page shows the new NIC on b, with its address; virsh agrees, live and saved.
    guest_page = page.context.new_page()
    guest_page.goto(live_server.url + reverse("guest-detail", args=[real_host.name, vm.name]))
    row = guest_page.locator(f"tr[data-mac='{mac}']")
    assert b.name in row.inner_text() and ip in row.inner_text()
    for inactive in (False, True):
        rows = domiflist(vm.name, inactive=inactive)
        assert [(r["source"], r["mac"]) for r in rows] == [(a.name, vm.macs[0]), (b.name, mac)]

    # Outside vnetweb, the guest is switched off: the drawing follows (libvirt's domain events).
    started = time.monotonic()
    subprocess.run(["virsh", "-c", LOCAL_URI, "destroy", vm.name], check=True, capture_output=True)
    page.locator(f"g.guest.down[data-guest='{vm.name}']").wait_for(timeout=5000)
    print(f"virsh destroy -> guest drawn off: {time.monotonic() - started:.2f} s")
    assert page.evaluate("window.vnwtMarker") == "same page"
    page.context.close()
