"""The keyboard-only journey of issue 23, for real: an admin logs in, draws a switch, starts it,
connects a running QEMU guest to it on the topology, reads the guest's new lease there (what a
screen reader says of the guest) and logs out, and the pages never see a mouse event.

Pages are reached by their links (focus, then Enter) or by their address, as a person types it;
a field is reached by focusing it (no pointer), then typed into key by key. Real libvirtd, QEMU
(TCG), dnsmasq, Redis, a Celery worker and Chromium; only the test's own networks and guest.
"""

import random

import pytest
from django.urls import reverse

from networks.models import Guest, Job, Network
from tests.real import free_subnet, lease_for, wait_for
from tests.test_live_browser import member
from tests.test_topology_browser import focused, tab_to_the_drawing

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]

# Installed in every page before its own scripts: each mouse event is noted in sessionStorage,
# which outlives the page's navigations (a key's click on a button has no pointer type).
WATCH = """
(() => {
  window.vnwtWatching = true;
  const note = what => {
    const seen = JSON.parse(sessionStorage.getItem("vnwtMouse") || "[]");
    seen.push(what + " on " + location.pathname);
    sessionStorage.setItem("vnwtMouse", JSON.stringify(seen));
  };
  ["mousedown", "mouseup", "mousemove", "pointerdown", "pointerup", "pointermove", "wheel"]
    .forEach(type => document.addEventListener(type, () => note(type), true));
  document.addEventListener("click", e => { if (e.pointerType) note("click by " + e.pointerType); },
    true);
})();
"""


def type_into(page, selector: str, text: str) -> None:
    page.locator(selector).focus()
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def press(page, selector: str, key: str = "Enter") -> None:
    """Focus a link, button or box and press a key on it."""
    page.locator(selector).focus()
    page.keyboard.press(key)


def arrow_to(page, key: str, starts: str, most: int = 30) -> None:
    """Press `key` until what has the focus is named (or says) `starts`…"""
    for _ in range(most):
        said = focused(page) or page.evaluate("document.activeElement.textContent")
        if said.startswith(starts):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {starts!r}")


def test_the_keyboard_alone_draws_starts_connects_reads_a_lease_and_logs_out(
    live_server,
    browser,
    real_host,
    libvirt_network,
    qemu_guest,
    celery_worker_process,
    switch_names,
):
    first = libvirt_network(start=True)
    vm = qemu_guest([first.name], hostname="vnwt-keys")
    wait_for(lambda: lease_for(first.name, vm.macs[0]), timeout=90, message=vm.console())
    tag = f"{random.randrange(16**6):06x}"
    name, bridge, net = f"vnwt-{tag}", f"vnwt{tag}", f"10.213.{free_subnet()}"
    switch_names.append(name)
    member("vnwt-keys", "admin")
    celery_worker_process(real_host.name, pool="threads")
    wait_for(
        lambda: Guest.objects.filter(name=vm.name, state="running").exists(),
        timeout=60,
        message="the worker never read the host",
    )
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WATCH)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # a confirmation, answered by Enter
    topology = live_server.url + reverse("host-topology", args=[real_host.name])

    # Log in.
    page.goto(live_server.url + "/accounts/login/")
    assert page.evaluate("window.vnwtWatching")
    type_into(page, "input[name=username]", "vnwt-keys")
    type_into(page, "input[name=password]", "pw-vnwt-keys-123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/networks/")

    # Draw a switch from the topology, not started yet.
    page.goto(topology)
    press(page, "a[data-action=new-switch]")
    page.locator("input[name=name]").wait_for()
    type_into(page, "input[name=name]", name)
    type_into(page, "input[name=bridge]", bridge)
    press(page, "input[name=stp]", " ")
    type_into(page, "input[name=ipv4_network]", f"{net}.0/24")
    type_into(page, "input[name=ipv4_gateway]", f"{net}.1")
    type_into(page, "textarea[name=ipv4_ranges]", f"{net}.100 {net}.150")
    press(page, "input[name=start]", " ")
    assert not page.locator("input[name=start]").is_checked()
    press(page, "button[name=review]")
    press(page, "button:has-text('Create switch')")
    wait_for(
        lambda: Network.objects.filter(host=real_host, name=name).exists(),
        timeout=30,
        message="the switch was never defined",
    )

    # Start it from its page.
    page.goto(live_server.url + reverse("network-detail", args=[real_host.name, name]))
    press(page, "[data-action=start]")
    page.locator("#net-panel .state .pill.on").wait_for(timeout=30000)

    # Connect the guest on the topology: one tab stop, the arrows, its actions.
    page.goto(topology)
    page.locator(f'svg.topo g.switch[data-switch="{name}"]').wait_for(timeout=10000)
    tab_to_the_drawing(page)
    arrow_to(page, "ArrowDown", f"Guest {vm.name}:")
    page.keyboard.press("Enter")
    arrow_to(page, "ArrowDown", f"Connect to {name}")
    with page.expect_response(lambda r: r.url.endswith("/nics/attach/")) as answered:
        page.keyboard.press("Enter")
    assert answered.value.status == 202

    # Read its lease: the guest's name, as a screen reader says it, gains the address.
    wait_for(
        lambda: Job.objects.filter(operation="nic_attach", state=Job.State.SUCCEEDED).exists(),
        timeout=60,
        message="the NIC was never attached",
    )
    mac = Job.objects.get(operation="nic_attach").params["mac"]
    ip = wait_for(lambda: lease_for(name, mac), timeout=60, message=vm.console())
    wait_for(
        lambda: f"NIC {mac} on {name} ({ip}" in (focused(page) or ""),
        timeout=15,
        message=f"the focused guest never said its lease: {focused(page)!r}",
    )
    assert focused(page).startswith(f"Guest {vm.name}: running")

    # Log out.
    press(page, "form[action$='/logout/'] button")
    page.wait_for_url("**/accounts/login/**")
    assert page.evaluate("sessionStorage.getItem('vnwtMouse')") in (None, "[]")
    context.close()
