"""Issue 22's "done means", in a real browser as an operator does it: a guest on a NAT switch has
a dynamic lease; adding a forward to it is refused with *Make permanent* offered; the lease is
made permanent; the forward from host port 8080 to its port 80 is added; "the LAN" (a namespace
linked to the host by a veth pair of the test's own) reaches it; the switch is restarted from its
page, and the LAN reaches it again. Nothing is typed outside the browser but the test's own
plumbing (namespaces, and plugging the namespace guest back into the new bridge, which libvirt
does by itself for real guests).

Real libvirtd, dnsmasq, iptables, Redis, Celery worker (its monitor surveys the host) and
Chromium; the worker runs on tests.settings, so only VNWT_* chains are written.
"""

import contextlib
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User

from networks.models import PortForward
from tests import forward_traffic as traffic
from tests.browser import log_in
from tests.forwards_world import (
    UDHCPC_SCRIPT,
    address_of,
    guest,
    keep_firewall_clean,
    lan,
    ours_in_firewall,
    serve_host,
    switch,
)
from tests.real import random_mac, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.worker, pytest.mark.browser]


def bridge_index(name: str) -> int | None:
    try:
        return int(Path(f"/sys/class/net/{name}/ifindex").read_text())
    except (OSError, ValueError):
        return None


def reached(world_lan, namespace_web: str):
    answer = traffic.reach("tcp", world_lan.host_ip, 8080, world_lan.namespace)
    return answer if answer and answer.server == namespace_web else None


def test_an_operator_pins_a_lease_forwards_8080_to_it_and_keeps_it_across_a_restart(
    live_server, browser, real_host, celery_worker_process, tmp_path
):
    user = User.objects.create_user("vnwt-op", password="pw-vnwt-op-123")
    user.groups.add(Group.objects.get_or_create(name="operator")[0])
    with contextlib.ExitStack() as stack:
        keep_firewall_clean(stack)
        net = switch(stack, random_mac())  # its reservation is for another MAC
        script = tmp_path / "udhcpc.sh"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        web = guest(stack, net, script, "vnwt-web")
        web_ip = address_of(web)
        server = traffic.serve(web.namespace, "web", 80)
        stack.callback(traffic.stop, server)
        the_lan = lan(stack)
        serve_host(stack, real_host, celery_worker_process, net)

        page = log_in(browser, live_server.url, "vnwt-op", "pw-vnwt-op-123")
        stack.callback(page.context.close)
        page.goto(f"{live_server.url}/hosts/{real_host.name}/networks/{net.name}/")
        page.locator("#live-status.on").wait_for(timeout=10000)
        form = page.locator("form#forward-add")
        form.wait_for(timeout=10000)

        # The guest has only a dynamic lease: refused, and Make permanent is offered.
        page.locator(f"tr[data-mac='{web.mac}']").wait_for(timeout=10000)
        form.locator("[name=host_port]").fill("8080")
        form.locator("[name=guest_port]").fill("80")
        form.locator("[name=guest]").select_option(web_ip)
        form.locator("button[data-action=forward-add]").click()
        offer = page.locator("[data-pin-first]")
        offer.wait_for(timeout=10000)
        assert "make the lease permanent first" in page.locator("#forward-errors").inner_text()
        offer.locator("button").click()
        page.locator(f"tr.is-static[data-mac='{web.mac}']").wait_for(timeout=15000)

        # Now the forward is taken; from the click to the LAN's first answer.
        form = page.locator("form#forward-add")
        form.locator("[name=host_port]").fill("8080")
        form.locator("[name=guest_port]").fill("80")
        form.locator("[name=guest]").select_option(web_ip)
        clicked = time.monotonic()
        form.locator("button[data-action=forward-add]").click()
        answer = wait_for(
            lambda: reached(the_lan, "web"), timeout=20, interval=0.05, message="LAN not answered"
        )
        add_to_working = time.monotonic() - clicked
        assert answer.port == 80 and answer.peer == the_lan.ip
        row = page.locator("#net-forwards tr[data-forward]")
        row.locator(".pill.on").wait_for(timeout=10000)  # "in place", from the worker's survey
        assert f"{web_ip}:80" in row.inner_text()
        assert "Port forwards in place (1)" in page.locator("#health").inner_text()
        [forward] = PortForward.objects.all()
        assert forward.text == f"TCP *:8080 -> vnwt-web {web_ip}:80"

        # The switch restarts from its page; the guest is plugged back into the new bridge.
        old_bridge = bridge_index(net.bridge)
        page.once("dialog", lambda dialog: dialog.accept())
        page.locator("#net-panel button[data-action=restart]").click()
        restarted = time.monotonic()
        wait_for(
            lambda: bridge_index(net.bridge) not in (None, old_bridge),
            timeout=30,
            interval=0.05,
            message="the switch's bridge was not made again",
        )
        traffic.run("ip", "link", "set", web.host_end, "master", net.bridge, "up")
        wait_for(
            lambda: reached(the_lan, "web"), timeout=20, interval=0.05, message="not after restart"
        )
        restart_to_working = time.monotonic() - restarted
        page.locator("#net-forwards .pill.on").wait_for(timeout=10000)
        assert ours_in_firewall()
        print(
            f"browser: Add clicked -> LAN answered: {add_to_working:.2f} s; "
            f"Restart clicked -> LAN answered again: {restart_to_working:.2f} s"
        )
        assert add_to_working < 5, add_to_working
