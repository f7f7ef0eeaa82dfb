"""WCAG 2.1 A and AA in Chromium: axe-core finds no serious or critical violation on the twelve
main pages, as an admin sees them with rows in every state, nor in the states a person meets
there (a job queued, running or failed, a form refused, the editor's review, a lease arriving
live, a wrong password). No libvirt and no worker: the rows are written as a worker would.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from networks import live
from networks.models import AuditEntry, Host, Job, Lease, Network, PortForward
from networks.operations import Op
from networks.spec import to_xml
from tests.a11y import assert_accessible, axe_violations
from tests.browser import log_in
from tests.test_switch_views import nat_spec

pytestmark = [pytest.mark.browser]


def _jobs(host: Host, lab: Network, quiet: Network, admin) -> dict[str, Job]:
    """One job in each state, each with its audit entry, as networks.jobs leaves them."""
    now = timezone.now()
    rows = {
        "succeeded": (lab, Op.START, Job.State.SUCCEEDED, ""),
        "failed": (
            quiet,
            Op.STOP,
            Job.State.FAILED,
            "Requested operation is not valid: network 'quiet' is not active",
        ),
        "running": (lab, Op.UPDATE, Job.State.RUNNING, ""),
        "queued": (quiet, Op.START, Job.State.QUEUED, ""),
    }
    jobs = {}
    for key, (network, operation, state, message) in rows.items():
        finished = now if state in Job.FINISHED else None
        job = Job.objects.create(
            user=admin,
            username=admin.username,
            host=host,
            network=network,
            target=network.name,
            operation=operation,
            state=state,
            message=message,
            started=None if state == Job.State.QUEUED else now,
            finished=finished,
        )
        AuditEntry.objects.create(
            user=admin,
            username=admin.username,
            address="192.0.2.7",
            action=operation,
            host=host,
            host_name=host.name,
            network_name=network.name,
            job=job,
            result=state,
            message=message,
            before=network.xml,
            after=network.xml.replace("virbr50", "virbr51") if key == "succeeded" else "",
        )
        jobs[key] = job
    return jobs


@pytest.fixture
def site(test_host, make_network, make_guest, admin, operator, viewer) -> dict:
    """A host with a running NAT switch (leases, a static host), an isolated one stopped, a
    guest on it and one on none; an unreachable second host; jobs and audit entries; users."""
    test_host.reachable = True
    test_host.hostname, test_host.libvirt_version = "kvm1.example", "9.0.0"
    test_host.cpus, test_host.memory_kib = 8, 32 * 1024 * 1024
    test_host.last_checked = test_host.last_seen = timezone.now()
    test_host.interfaces = [{"name": "eth0", "kind": "device", "addresses": ["192.168.1.10/24"]}]
    test_host.routes = [{"dst": "0.0.0.0/0", "gateway": "192.168.1.1", "dev": "eth0"}]
    test_host.save()
    Host.objects.create(
        name="kvm2",
        uri="qemu+ssh://root@kvm2.example/system",
        reachable=False,
        last_error="Cannot recv data: ssh: connect to host kvm2.example port 22: No route to host",
    )
    spec = nat_spec()
    lab = make_network(
        test_host,
        "lab",
        active=True,
        autostart=True,
        bridge=spec.bridge,
        ipv4="10.9.50.1/24",
        xml=to_xml(spec),
        addresses=[{"family": "ipv4", "cidr": "10.9.50.1/24", "dhcp_ranges": [], "dhcp_hosts": 1}],
        leases_seen=timezone.now(),
    )
    quiet = make_network(test_host, "quiet", mode="isolated", ipv4="10.9.60.1/24")
    make_guest(test_host, "web", nics=[("lab", "52:54:00:00:00:01")])
    make_guest(test_host, "spare vm", state="shut off")
    expires = timezone.now() + timedelta(minutes=50)
    Lease.objects.create(
        network=lab,
        mac="52:54:00:00:00:01",
        ip="10.9.50.10",
        prefix=24,
        hostname="web1",
        expires=expires,
        static=True,
        guest="web",
    )
    Lease.objects.create(
        network=lab,
        mac="52:54:00:00:00:09",
        ip="10.9.50.120",
        prefix=24,
        hostname="laptop",
        expires=expires,
    )
    AuditEntry.objects.create(
        action=Op.DEFINE,
        outside=True,
        host=test_host,
        host_name=test_host.name,
        network_name="quiet",
        after=quiet.xml,
    )
    return {
        "host": test_host,
        "lab": lab,
        "quiet": quiet,
        "jobs": _jobs(test_host, lab, quiet, admin),
    }


def _pages(site: dict) -> dict[str, str]:
    host, lab = site["host"], site["lab"]
    return {
        "networks": reverse("network-list"),
        "hosts": reverse("host-list"),
        "a host": host.get_absolute_url(),
        "a network": lab.get_absolute_url(),
        "a topology": reverse("host-topology", args=[host.name]),
        "a topology as tables": reverse("host-topology", args=[host.name]) + "?view=table",
        "new switch": reverse("switch-create", args=[host.name]),
        "guests": reverse("guest-list", args=[host.name]),
        "leases": reverse("lease-search"),
        "jobs": reverse("job-list"),
        "audit": reverse("audit-list"),
        "users": reverse("user-list"),
        "API tokens": reverse("token-list"),
        "a queued job": reverse("job-detail", args=[site["jobs"]["queued"].pk]),
        "a running job": reverse("job-detail", args=[site["jobs"]["running"].pk]),
        "a failed job": reverse("job-detail", args=[site["jobs"]["failed"].pk]),
    }


PAGES = [
    "networks",
    "hosts",
    "a host",
    "a network",
    "a topology",
    "a topology as tables",
    "new switch",
    "guests",
    "leases",
    "jobs",
    "audit",
    "users",
    "API tokens",
    "a queued job",
    "a running job",
    "a failed job",
]


def _admin_at(browser, live_server, admin, path: str):
    """An admin's page at `path`, its scripts run and its live stream open."""
    page = log_in(browser, live_server.url, admin.username, "pw-" + admin.username, bypass_csp=True)
    assert page.goto(live_server.url + path).status == 200, path
    page.locator("#live-status.on").wait_for(timeout=10000)
    page.wait_for_timeout(300)  # htmx's settling, the topology's drawing
    return page


@pytest.mark.parametrize("name", PAGES)
def test_each_page_has_no_serious_violation(live_server, browser, site, admin, name):
    page = _admin_at(browser, live_server, admin, _pages(site)[name])
    assert_accessible(page, name)
    page.context.close()


# Faint text, and a link told from its sentence by colour alone: what the checks above look for.
FLAWED = """() => {
  const p = document.createElement("p");
  p.id = "flawed";
  p.innerHTML = 'Faint <span>grey</span> text and <a href="#">a link</a> in it.';
  p.querySelector("span").style.color = "#c0c4cc";
  p.querySelector("a").style.textDecoration = "none";
  document.querySelector("main").append(p);
}"""


def test_the_check_finds_faint_text_and_a_link_told_by_colour_alone(live_server, browser):
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate(FLAWED)
    found = {v["id"]: v["nodes"] for v in axe_violations(page, context="#flawed")}
    assert set(found) == {"color-contrast", "link-in-text-block"}
    assert [node["target"] for node in found["link-in-text-block"]] == ['a[href="#"]']
    context.close()


def test_the_login_page_and_a_refused_login_have_none(live_server, browser, admin):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(page, "login")
    page.fill("input[name=username]", admin.username)
    page.fill("input[name=password]", "wrong")
    page.click("button:has-text('Log in')")
    page.locator("p.error").wait_for()
    assert_accessible(page, "a refused login")
    context.close()


def test_a_refused_new_switch_has_none(live_server, browser, site, admin):
    page = _admin_at(browser, live_server, admin, _pages(site)["new switch"])
    page.fill("input[name=name]", "vnwt-a11y")
    page.fill("input[name=ipv4_network]", "10.9.77.0/24")
    page.fill("input[name=ipv4_gateway]", "10.9.77.1")
    page.fill("textarea[name=ipv4_ranges]", "10.9.77.1 10.9.77.50")  # holds the gateway
    page.click("button[name=review]")
    page.locator("[data-field=ipv4_ranges] .errorlist").wait_for()
    assert_accessible(page, "a refused new switch")
    page.context.close()


def test_a_new_token_s_key_and_a_refused_token_have_none(live_server, browser, site, admin):
    page = _admin_at(browser, live_server, admin, reverse("token-list"))
    page.fill("input[name=name]", "ci")
    page.fill("input[name=days]", "30")
    page.click("#token-form button.start")
    page.locator("#new-key").wait_for()
    # The focus moves once htmx has settled what it swapped in (static/vnetweb/forms.js), a moment
    # after the key shows: expect() waits for it, and fails if it never comes.
    expect(page.locator("#new-key")).to_be_focused()
    assert_accessible(page, "a new token's key")
    page.fill("input[name=name]", "ci")  # taken
    page.click("#token-form button.start")
    page.locator("[data-field=name] .errorlist").wait_for()
    assert_accessible(page, "a refused token")
    page.context.close()


def test_the_editors_review_has_none(live_server, browser, site, admin):
    lab = site["lab"]
    page = _admin_at(
        browser, live_server, admin, reverse("switch-edit", args=[lab.host.name, lab.name])
    )
    page.fill("textarea[name=ipv4_hosts]", "52:54:00:00:00:01 web1 10.9.50.12")
    page.click("button[name=review]")
    page.locator("#review pre.diff .add").first.wait_for()
    assert "without a restart" in page.locator("#review").inner_text()
    assert_accessible(page, f"the review of {lab.name}")
    page.context.close()


def test_a_lease_arriving_on_the_open_network_page_has_none(live_server, browser, site, admin):
    lab = site["lab"]
    page = _admin_at(browser, live_server, admin, lab.get_absolute_url())
    Lease.objects.create(
        network=lab,
        mac="52:54:00:00:00:42",
        ip="10.9.50.142",
        prefix=24,
        hostname="arrived",
        expires=timezone.now() + timedelta(minutes=50),
    )
    Network.objects.filter(pk=lab.pk).update(leases_version=lab.leases_version + 1)
    live.send(lab.host_id, [lab.pk])
    page.locator("#leases tr[data-mac='52:54:00:00:00:42']").wait_for(timeout=5000)
    assert_accessible(page, "a network page after a lease arrived")
    page.context.close()


def test_the_port_forwards_a_forward_refused_for_a_dynamic_lease_and_one_queued_have_none(
    live_server, browser, site, admin
):
    lab = site["lab"]
    lab.switch = {
        "local": True,
        "device": lab.bridge,
        "link": None,
        "ports": [],
        "dnsmasq": {"expected": True, "pid": 4242},
        "firewall": [],
        "problems": [],
    }
    lab.save()
    PortForward.objects.create(
        network=lab, protocol="tcp", host_port=8080, host_port_end=8080,
        guest_ip="10.9.50.10", guest_port=80, guest_name="web",
    )  # fmt: skip
    page = _admin_at(browser, live_server, admin, lab.get_absolute_url())
    assert_accessible(page, "a network page with port forwards")
    page.select_option("#forward-guest", "10.9.50.120")  # laptop: a dynamic lease
    page.fill("#forward-host_port", "8081")
    page.fill("#forward-guest_port", "80")
    page.click("button[data-action=forward-add]")
    page.locator("[data-pin-first] button[data-action=pin-lease]").wait_for(timeout=5000)
    # The person lands on the field to change (once htmx settled the swap), its error read with it.
    expect(page.locator("#forward-guest")).to_be_focused()
    assert_accessible(page, "a port forward refused for a dynamic lease")
    page.select_option("#forward-guest", "10.9.50.10")  # web1: reserved
    page.click("button[data-action=forward-add]")
    page.locator("#net-forwards .job-queued").wait_for(timeout=5000)
    assert page.input_value("#forward-host_port") == "", "the form is empty again"
    assert_accessible(page, "a port forward queued")
    page.context.close()
