"""A guest (a network namespace running udhcpc) takes a real dnsmasq lease; vnetweb shows it."""

import pytest

from networks.models import Lease, Network
from networks.tasks import refresh
from tests.real import wait_for

pytestmark = pytest.mark.libvirt


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
