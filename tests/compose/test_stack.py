"""docker-compose.yml's stack, built and started by `make compose-check`, used as a person would:
through the containers (gunicorn, a Celery worker in the host's namespaces, beat, Redis,
PostgreSQL), against this machine's real libvirtd, in Chromium. Then the failures a deployment
meets: the worker's process killed, PostgreSQL restarted, the stack taken down and up again, a
port taken by another program. The tests run in this order; each leaves the stack up and healthy.
"""

import os
import random
import re
import signal
import socket
import subprocess
import time

import pytest

from tests.browser import log_in
from tests.real import free_subnet, virsh, wait_for

pytestmark = [pytest.mark.libvirt, pytest.mark.browser]
PROJECT_LABEL = "com.docker.compose.project"


def _state(name: str) -> str:
    active = virsh("net-list", "--all", "--name", check=False).split()
    if name not in active:
        return "absent"
    return "active" if name in virsh("net-list", "--name").split() else "inactive"


def _network_page(stack, page, name: str):
    """The switch's page, once the stack's worker has read it from libvirt (beat refreshes it)."""
    url = f"{stack.url}/hosts/local/networks/{name}/"

    def shown():
        return page.goto(url).status == 200

    wait_for(shown, timeout=40, interval=1, message=f"{name} never appeared on the site")
    return url


def _panel_state(page, state: str) -> None:
    pill = {"active": "on", "inactive": "off"}[state]
    page.locator(f"#net-panel .state .pill.{pill}").wait_for(timeout=40000)


def test_the_web_runs_unprivileged_and_its_log_tells_how_to_log_in(stack):
    assert stack.compose("exec", "-T", "web", "id", "-u").stdout.strip() != "0"
    assert stack.admin_password()


def test_a_nat_switch_made_on_the_site_gives_a_guest_a_lease_shown_on_its_page(
    stack, browser, namespace_guest, switch_names
):
    tag = f"{random.randrange(16**6):06x}"
    name, bridge, net = f"vnwt-{tag}", f"vnwt{tag}", f"10.213.{free_subnet()}"
    switch_names.append(name)
    page = log_in(browser, stack.url, "admin", stack.admin_password())
    page.goto(f"{stack.url}/hosts/local/")
    page.click("a[data-action=new-switch]")
    page.fill("input[name=name]", name)
    page.select_option("select[name=mode]", "nat")
    page.fill("input[name=bridge]", bridge)
    page.fill("input[name=ipv4_network]", f"{net}.0/24")
    page.fill("input[name=ipv4_gateway]", f"{net}.1")
    page.fill("textarea[name=ipv4_ranges]", f"{net}.100 {net}.150")
    page.click("button[name=review]")
    page.click("button:has-text('Create switch')")
    page.wait_for_url(f"**/hosts/local/networks/{name}/", timeout=60000)
    start = page.locator("#net-panel button[data-action=start]")
    if start.count():
        start.click()
    _panel_state(page, "active")
    assert _state(name) == "active"
    # The host side, as the worker in the host's namespaces reads it: the bridge over netlink,
    # the firewall with `nft -j` (NET_ADMIN), dnsmasq's process (host PID namespace).
    page.locator(f"[data-ifconfig]:has-text('{bridge}: flags=<UP')").wait_for(timeout=30000)
    page.locator("[data-firewall]:has-text('MASQUERADE')").wait_for(timeout=30000)
    assert f'iifname "{bridge}" ip saddr {net}.0/24' in page.locator("[data-firewall]").inner_text()
    page.locator("#health:has-text('Healthy:')").wait_for(timeout=30000)

    # A guest on the switch's bridge: its lease appears on the open page, from the worker that
    # reads dnsmasq's lease file through the container's mount.
    guest = namespace_guest(bridge, hostname="vnwt-compose")
    row = page.locator(f"tr[data-mac='{guest.mac}']")
    row.wait_for(timeout=30000)
    assert "vnwt-compose" in row.inner_text()
    assert re.search(rf"{re.escape(net)}\.1[0-5]\d", row.inner_text())

    page.locator("#net-panel button[data-action=stop]").click()
    _panel_state(page, "inactive")
    assert _state(name) == "inactive"
    page.click("a[data-action=delete]")
    page.click("button[data-action=delete]")
    wait_for(lambda: _state(name) == "absent", timeout=40, message="the switch was not deleted")


def test_a_killed_worker_comes_back_and_runs_the_start_asked_meanwhile(
    stack, browser, libvirt_network
):
    net = libvirt_network(start=False)
    page = log_in(browser, stack.url, "admin", stack.admin_password())
    _network_page(stack, page, net.name)
    _panel_state(page, "inactive")
    restarts = int(stack.inspect("worker", "{{.RestartCount}}"))

    # The worker runs in the host's PID namespace: its main process is killed as the kernel's
    # OOM killer would, not stopped through Docker (which would switch its restart policy off).
    os.kill(int(stack.inspect("worker", "{{.State.Pid}}")), signal.SIGKILL)
    page.locator("#net-panel button[data-action=start]").click()

    wait_for(
        lambda: int(stack.inspect("worker", "{{.RestartCount}}")) > restarts,
        timeout=30,
        message="Docker did not restart the worker",
    )
    wait_for(lambda: _state(net.name) == "active", timeout=90, message="the Start never ran")
    _panel_state(page, "active")
    jobs = stack.sql(
        "SELECT state FROM networks_job WHERE target = %s AND operation = 'start'", net.name
    )
    assert jobs == [("succeeded",)]
    stack.wait_healthy("worker")


def test_pages_answer_soon_after_postgresql_restarts_and_no_job_is_left_running(
    stack, browser, libvirt_network
):
    net = libvirt_network(start=True)
    page = log_in(browser, stack.url, "admin", stack.admin_password())
    url = _network_page(stack, page, net.name)
    _panel_state(page, "active")

    page.locator("#net-panel button[data-action=stop]").click()
    stack.compose("restart", "-t", "10", "postgres")
    restarted = time.monotonic()
    wait_for(lambda: page.goto(url).status == 200, timeout=30, interval=0.5)
    answered = time.monotonic() - restarted
    print(f"pages answered {answered:.1f} s after PostgreSQL was back")
    assert answered < 15

    def settled():
        rows = stack.sql("SELECT state FROM networks_job WHERE target = %s", net.name)
        return rows and all(state in ("succeeded", "failed") for (state,) in rows)

    wait_for(settled, timeout=90, interval=1, message="a job was left queued or running")
    assert stack.sql("SELECT count(*) FROM networks_job WHERE state = 'running'") == [(0,)]
    stack.wait_healthy("web", "worker", "beat")


def _kept(stack) -> dict[str, set]:
    """What the volume must keep: users, hosts, and the audit trail and jobs so far (the worker
    may add entries for what it notices after the restart, never lose one)."""
    return {
        "users": set(stack.sql("SELECT username, password FROM auth_user")),
        "hosts": set(stack.sql("SELECT name, uri FROM networks_host")),
        "audit": set(stack.sql("SELECT id, action, network_name FROM networks_auditentry")),
        "jobs": set(stack.sql("SELECT id, state FROM networks_job")),
    }


def test_down_and_up_keep_users_hosts_and_the_audit_trail(stack, browser):
    before = _kept(stack)
    assert before["audit"] and before["hosts"] and before["jobs"]
    password = stack.admin_password()
    stack.compose("down", "-t", "20")
    stack.compose("up", "-d")
    stack.wait_healthy("postgres", "redis", "web", "worker", "beat")
    after = _kept(stack)
    assert after["users"] == before["users"] and after["hosts"] == before["hosts"]
    assert before["audit"] <= after["audit"] and before["jobs"] <= after["jobs"]
    assert stack.admin_password() == password
    log_in(browser, stack.url, "admin", password)


def test_a_taken_port_stops_up_with_its_name_and_starts_nothing(stack):
    stack.compose("down", "-t", "20")
    port = int(stack.env["VNETWEB_PORT"])
    with socket.socket() as holder:  # another program (a `make run`, say) on the site's port
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do
        holder.bind(("127.0.0.1", port))
        holder.listen()
        refused = stack.compose("up", "-d", check=False)
        assert refused.returncode != 0
        said = stack.compose("logs", "--no-color", "ports-free").stdout
        assert f"port {port} on 127.0.0.1 is in use on this machine (set VNETWEB_PORT" in said
        running = subprocess.run(
            [
                "/usr/bin/docker",
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={stack.project}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert running == []
    stack.compose("up", "-d")
    stack.wait_healthy("postgres", "redis", "web", "worker", "beat")


def test_a_second_up_on_a_running_stack_changes_nothing(stack):
    web = stack.container("web")
    stack.compose("up", "-d")
    assert stack.container("web") == web
    assert stack.inspect("web", "{{.State.Status}}") == "running"


def test_the_central_worker_gets_its_key_as_a_secret(stack):
    stack.compose("--profile", "central", "up", "-d", "central-worker")
    stack.wait_healthy("central-worker")
    listing = stack.compose("exec", "-T", "central-worker", "ls", "/run/secrets").stdout.split()
    assert listing == ["vnetweb_known_hosts", "vnetweb_ssh_key"]
    # Never in the image: the web (same image) has no such file.
    assert stack.compose("exec", "-T", "web", "ls", "/run/secrets", check=False).returncode != 0
    stack.compose("--profile", "central", "rm", "-s", "-f", "central-worker")
