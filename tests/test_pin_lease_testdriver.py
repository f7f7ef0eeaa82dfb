"""Making a lease permanent (networks.worker.ops.pin_lease) on libvirt's test driver, whose state
lives in this process. It supports live updates of DHCP hosts, though not DHCPLeases: the jobs
here carry what the lease table would send.

Every network made here is called vnwt-td… and is undefined after the test.
"""

import pytest

from networks import gateway
from networks.models import Job, Network
from networks.spec import DhcpHost, DhcpRange, IpSpec, NetworkSpec, parse, to_xml
from networks.worker import tasks

URI = "test:///default"
NAME = "vnwt-tdpin"
FIXED = DhcpHost(mac="52:54:00:00:07:01", name="one", ip="10.213.7.10")
DUID = "00:01:00:01:2c:3d:4e:5f:52:54:00:00:07:09"
V4, V6 = 1, 2  # the index of the <ip> with IPv4 DHCP, and of the IPv6 one


def pin_spec() -> NetworkSpec:
    """An IPv4 subnet without DHCP before the one with it (libvirt serves DHCP on one IPv4
    subnet only), then IPv6: the <ip> a reservation goes to is counted among all of them."""
    return NetworkSpec(
        name=NAME,
        mode="nat",
        bridge="vnwttdpin",
        stp=False,
        ips=[
            IpSpec(address="10.213.8.1", prefix=24),
            IpSpec(
                address="10.213.7.1",
                prefix=24,
                dhcp_ranges=[DhcpRange("10.213.7.100", "10.213.7.150")],
                dhcp_hosts=[FIXED],
            ),
            IpSpec(
                address="fd00:213:7::1",
                prefix=64,
                family="ipv6",
                dhcp_ranges=[DhcpRange("fd00:213:7::100", "fd00:213:7::1ff")],
            ),
        ],
    )


@pytest.fixture
def network(test_host):
    gateway.define_network(URI, to_xml(pin_spec()), start=True)
    tasks.refresh(test_host)
    yield Network.objects.get(host=test_host, name=NAME)
    gateway.undefine_network(URI, NAME)


def pin(network: Network, **params) -> Job:
    job = Job.objects.create(
        username="oscar-operator",
        host=network.host,
        network=network,
        target=network.name,
        operation="pin_lease",
        params=params,
    )
    tasks.run_job(job.pk)
    job.refresh_from_db()
    return job


def hosts(index: int) -> list[DhcpHost]:
    """The reservations of the running network's index-th <ip>."""
    return parse(gateway.network_state(URI, NAME).xml).ips[index].dhcp_hosts


def test_pinning_a_lease_adds_a_host_to_the_running_network(network):
    job = pin(network, mac="52:54:00:AA:00:01", ip="10.213.7.120", hostname="web01")
    assert (job.state, job.message) == (
        Job.State.SUCCEEDED,
        f"10.213.7.120 is now reserved for 52:54:00:aa:00:01 (web01) on {NAME}, without a restart.",
    )
    assert hosts(V4) == [FIXED, DhcpHost(mac="52:54:00:aa:00:01", name="web01", ip="10.213.7.120")]
    assert gateway.network_state(URI, NAME).active is True
    # The job re-read the network: the database knows the reservation too.
    network.refresh_from_db()
    assert network.addresses[V4]["dhcp_hosts"] == 2


def test_an_address_of_a_subnet_without_dhcp_is_refused(network):
    job = pin(network, mac="52:54:00:aa:00:02", ip="10.213.8.120", hostname="db01")
    assert job.state == Job.State.FAILED
    assert job.message == f"No subnet of {NAME} with DHCP holds 10.213.8.120; nothing was changed."
    assert hosts(0) == [] and hosts(V4) == [FIXED]


def test_pinning_the_same_lease_twice_is_nothing_to_do(network):
    params = {"mac": "52:54:00:aa:00:01", "ip": "10.213.7.120", "hostname": "web01"}
    assert pin(network, **params).state == Job.State.SUCCEEDED
    again = pin(network, **params)
    assert (again.state, again.message) == (
        Job.State.SUCCEEDED,
        f"10.213.7.120 is already reserved for 52:54:00:aa:00:01 on {NAME}; nothing to do.",
    )
    assert len(hosts(V4)) == 2


def test_a_hostname_that_is_not_a_dns_label_is_left_out(network):
    job = pin(network, mac="52:54:00:aa:00:03", ip="10.213.7.121", hostname="my_laptop.local")
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == (
        f"10.213.7.121 is now reserved for 52:54:00:aa:00:03 on {NAME}, without a restart."
    )
    assert hosts(V4)[-1] == DhcpHost(mac="52:54:00:aa:00:03", ip="10.213.7.121")


def test_a_hostname_another_reservation_has_is_left_out_and_said(network):
    job = pin(network, mac="52:54:00:aa:00:04", ip="10.213.7.122", hostname="one")
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "without the name one: another reservation has it" in job.message
    assert hosts(V4)[-1] == DhcpHost(mac="52:54:00:aa:00:04", ip="10.213.7.122")


def test_a_mac_reserved_for_another_address_is_refused_and_nothing_changes(network):
    job = pin(network, mac=FIXED.mac, ip="10.213.7.123", hostname="one")
    assert job.state == Job.State.FAILED
    assert job.message == (
        f"52:54:00:00:07:01 already has a reservation on {NAME}, for 10.213.7.10; nothing was "
        "changed. Edit the switch's static hosts to move it."
    )
    assert hosts(V4) == [FIXED]


def test_an_address_reserved_for_another_mac_is_refused_and_nothing_changes(network):
    job = pin(network, mac="52:54:00:aa:00:05", ip=FIXED.ip, hostname="other")
    assert job.state == Job.State.FAILED
    assert job.message == (
        f"10.213.7.10 is already reserved on {NAME} for 52:54:00:00:07:01 (one); "
        "nothing was changed."
    )
    assert hosts(V4) == [FIXED]


def test_an_ipv6_lease_is_reserved_by_its_duid(network):
    job = pin(network, mac="", ip="fd00:213:7::150", hostname="six", client_id=DUID)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == (
        f"fd00:213:7::150 is now reserved for DUID {DUID} (six) on {NAME}, without a restart."
    )
    assert hosts(V6) == [DhcpHost(id=DUID, name="six", ip="fd00:213:7::150")]


def test_an_ipv6_lease_without_a_client_id_is_refused(network):
    job = pin(network, mac="52:54:00:aa:00:06", ip="fd00:213:7::151", hostname="six")
    assert job.state == Job.State.FAILED
    assert "names its client by DUID" in job.message
    assert hosts(V6) == []


def test_an_address_outside_every_subnet_is_refused(network):
    job = pin(network, mac="52:54:00:aa:00:07", ip="192.168.1.5")
    assert job.state == Job.State.FAILED
    assert job.message == f"No subnet of {NAME} with DHCP holds 192.168.1.5; nothing was changed."


def test_a_stopped_network_is_refused(network):
    gateway.stop_network(URI, NAME)
    job = pin(network, mac="52:54:00:aa:00:08", ip="10.213.7.124")
    assert job.state == Job.State.FAILED
    assert job.message == f"{NAME} is not running, so it has no leases; nothing was changed."
    assert hosts(V4) == [FIXED]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"mac": "52:54:00:aa:00:09", "ip": "10.213.7"}, "'10.213.7' is not an IP address"),
        ({"mac": "52:54:00:aa", "ip": "10.213.7.125"}, "'52:54:00:aa' is not a MAC address"),
    ],
)
def test_a_malformed_request_is_refused(network, params, message):
    job = pin(network, **params)
    assert job.state == Job.State.FAILED
    assert job.message.startswith(message)
    assert hosts(V4) == [FIXED]
