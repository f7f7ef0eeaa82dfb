"""A guest (a network namespace running udhcpc) takes a real dnsmasq lease; vnetweb shows it, and
Make permanent turns it into a reservation that dnsmasq honours without a restart."""

import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.urls import reverse

from networks import gateway
from networks.models import Job, Lease, Network
from networks.spec import DhcpHost, parse
from networks.worker.tasks import refresh, run_job
from tests.browser import log_in, wait_until
from tests.real import LOCAL_URI, wait_for
from tests.test_browser import member

pytestmark = [pytest.mark.libvirt, pytest.mark.postgres]


def test_a_guests_lease_appears_on_the_network_page_and_goes_on_release(
    real_host, libvirt_network, namespace_guest, client_as, viewer
):
    net = libvirt_network(start=True)
    guest = namespace_guest(net.bridge, hostname="vnwt-leaser")

    def leased():
        refresh(real_host)
        return Lease.objects.filter(network__name=net.name, mac=guest.mac).first()

    lease = wait_for(leased, timeout=20, message="the guest got no lease within 20 s")
    assert lease.hostname == "vnwt-leaser"
    assert lease.ip.startswith(f"10.213.{net.subnet}.")
    assert lease.expires is not None

    page = client_as(viewer).get(f"/hosts/{real_host.name}/networks/{net.name}/leases/")
    assert guest.mac in page.content.decode()
    assert lease.ip in page.content.decode()

    guest.stop()  # udhcpc -R sends DHCPRELEASE
    wait_for(
        lambda: (refresh(real_host), not Lease.objects.filter(mac=guest.mac).exists())[1],
        timeout=10,
        message="the released lease stayed in the table",
    )
    assert Network.objects.get(name=net.name).leases_seen is not None


def _dnsmasq_pid(name: str) -> str:
    return Path(f"/run/libvirt/network/{name}.pid").read_text().strip()


def _guest_addresses(namespace: str) -> str:
    return subprocess.run(
        ["ip", "-n", namespace, "-4", "-o", "addr", "show", "dev", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_a_lease_made_permanent_is_a_reservation_the_guest_keeps_when_it_renews(
    real_host, libvirt_network, namespace_guest, client_as, operator
):
    net = libvirt_network(start=True)
    guest = namespace_guest(net.bridge, hostname="vnwt-pinned")

    def lease_of(**conditions):
        refresh(real_host)
        return Lease.objects.filter(network__name=net.name, mac=guest.mac, **conditions).first()

    lease = wait_for(lease_of, timeout=20, message="the guest got no lease within 20 s")
    assert lease.static is False
    dnsmasq = _dnsmasq_pid(net.name)

    # Make permanent, as the lease table's button asks for it; the job runs here, as a worker
    # would run it.
    url = reverse("lease-pin", args=[real_host.name, net.name])
    response = client_as(operator).post(url, {"mac": guest.mac, "ip": lease.ip})
    assert response.status_code == 302
    job = Job.objects.get(operation="pin_lease")
    assert job.params["hostname"] == "vnwt-pinned"
    run_job(job.pk)
    job.refresh_from_db()
    assert (job.state, job.message) == (
        Job.State.SUCCEEDED,
        f"{lease.ip} is now reserved for {guest.mac} (vnwt-pinned) on {net.name}, "
        "without a restart.",
    )

    # libvirt has the reservation, in the running network and in its saved definition…
    reservation = DhcpHost(mac=guest.mac, name="vnwt-pinned", ip=lease.ip)
    dumped = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-dumpxml", net.name],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert reservation in parse(dumped).ips[0].dhcp_hosts
    assert reservation in parse(gateway.network_config_xml(LOCAL_URI, net.name)).ips[0].dhcp_hosts
    # …and handed it to the same dnsmasq, which was signalled, not restarted.
    hostsfile = Path(f"/var/lib/libvirt/dnsmasq/{net.name}.hostsfile").read_text()
    assert f"{guest.mac},{lease.ip},vnwt-pinned" in hostsfile
    assert _dnsmasq_pid(net.name) == dnsmasq
    assert gateway.network_state(LOCAL_URI, net.name).active

    # The job re-read the network, and so does a refresh: the lease is a reservation now.
    assert Lease.objects.get(pk=lease.pk).static is True
    assert lease_of(static=True) is not None
    assert (
        "pin-lease"
        not in client_as(operator)
        .get(reverse("network-leases", args=[real_host.name, net.name]))
        .content.decode()
    ), "no Make permanent on a reservation"

    # The guest renews (udhcpc does on SIGUSR1) and keeps its address, now a reserved one.
    time.sleep(1.1)  # dnsmasq's expiry is in whole seconds: a renewal moves it on
    guest.process.send_signal(signal.SIGUSR1)
    renewed = wait_for(
        lambda: lease_of(expires__gt=lease.expires),
        timeout=10,
        message="the guest's lease was not renewed",
    )
    assert (renewed.ip, renewed.static) == (lease.ip, True)
    assert f"inet {lease.ip}/24" in _guest_addresses(guest.namespace)


@pytest.mark.worker
@pytest.mark.browser
def test_an_operator_filters_the_leases_and_makes_one_permanent_without_a_reload(
    live_server,
    browser,
    real_host,
    libvirt_network,
    namespace_guest,
    celery_worker_process,
    celery_beat_process,
):
    net = libvirt_network(start=True)
    refresh(real_host)
    member("vnwt-pinner", "operator")
    celery_worker_process(real_host.name)
    celery_beat_process(seconds=1)
    alpha = namespace_guest(net.bridge, hostname="vnwt-alpha")
    beta = namespace_guest(net.bridge, hostname="vnwt-beta")
    wait_for(
        lambda: Lease.objects.filter(mac__in=[alpha.mac, beta.mac]).count() == 2,
        timeout=20,
        message="the guests got no leases within 20 s",
    )

    page = log_in(browser, live_server.url, "vnwt-pinner", "pw-vnwt-pinner-123")
    page.goto(f"{live_server.url}/hosts/{real_host.name}/networks/{net.name}/")
    page.evaluate("window.vnwtMarker = 'same page'")  # survives only if the page never reloads
    page.locator("#live-status.on").wait_for()
    for guest in (alpha, beta):
        assert page.locator(f"#net-leases tr[data-mac='{guest.mac}']").count() == 1

    # The filter narrows the table as one types, and the address bar follows.
    page.fill("#lease-filter input[name=q]", "alpha")
    page.locator(f"#net-leases tr[data-mac='{beta.mac}']").wait_for(state="detached")
    assert page.locator("#net-leases tr[data-mac]").count() == 1
    wait_until(page, "location.search === '?q=alpha'")
    # A column header sorts, keeping the filter; the form learns the sort.
    page.click("#net-leases th a:has-text('MAC')")
    wait_until(page, "location.search === '?q=alpha&sort=mac'")
    assert page.input_value("#lease-sort") == "mac"
    # So does the kind of lease: none is static yet.
    page.select_option("#lease-filter select[name=kind]", "static")
    page.locator("#net-leases td.empty:has-text('No lease matches.')").wait_for()
    wait_until(page, "location.search === '?q=alpha&kind=static&sort=mac'")
    page.select_option("#lease-filter select[name=kind]", "")
    page.locator(f"#net-leases tr[data-mac='{alpha.mac}']").wait_for()

    # Make permanent: the job shows above the table, and the row turns static once the worker
    # is done, without a reload and without losing the filter.
    row = page.locator(f"#net-leases tr[data-mac='{alpha.mac}']")
    row.locator("button[data-action=pin-lease]").click()
    page.locator(f"#net-leases tr.is-static[data-mac='{alpha.mac}']").wait_for(timeout=20000)
    assert "Make permanent: succeeded" in page.locator("#net-leases .job").inner_text()
    assert page.locator("#net-leases tr[data-mac]").count() == 1
    assert page.input_value("#lease-filter input[name=q]") == "alpha"
    assert page.evaluate("window.vnwtMarker") == "same page"
    lease = Lease.objects.get(network__name=net.name, mac=alpha.mac)
    live = parse(gateway.network_state(LOCAL_URI, net.name).xml)
    assert DhcpHost(mac=alpha.mac, name="vnwt-alpha", ip=lease.ip) in live.ips[0].dhcp_hosts
    page.context.close()
