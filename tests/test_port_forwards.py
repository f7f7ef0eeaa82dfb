"""What a port forward may be (networks.port_forwards): the one rule the form, the API and the
worker ask. On rows alone; the firewall is tests/test_gateway_forwards*.py's."""

import pytest
from django.utils import timezone

from networks import port_forwards
from networks.models import Lease, PortForward
from networks.port_forwards import Wanted

# The clash and guest queries, and the views' reads, on PostgreSQL too (inet columns).
pytestmark = pytest.mark.postgres

XML = """<network><name>{name}</name><forward mode='{mode}'/><bridge name='{bridge}'/>
<ip address='10.9.{n}.1' prefix='24'><dhcp><range start='10.9.{n}.100' end='10.9.{n}.200'/>
<host mac='52:54:00:00:0{n}:10' name='web' ip='10.9.{n}.10'/></dhcp></ip></network>"""


@pytest.fixture
def switch(make_network, test_host):
    def make(name="pf1", n=1, mode="nat", local=True):
        test_host.side = {
            "addresses": ["192.0.2.5", "10.9.1.1"],
            "listening": [
                {"protocol": "tcp", "address": "0.0.0.0", "port": 22},
                {"protocol": "tcp", "address": "127.0.0.1", "port": 6379},
                {"protocol": "udp", "address": "10.9.1.1", "port": 53},
            ],
        }
        test_host.save()
        bridge = f"vnwtpf{n}"
        return make_network(
            test_host,
            name,
            active=True,
            mode=mode,
            bridge=bridge,
            xml=XML.format(name=name, mode=mode, bridge=bridge, n=n),
            switch={"local": True} if local else {"local": False, "reason": "over ssh"},
        )

    return make


def wanted(**fields) -> Wanted:
    values = dict(
        protocol="tcp",
        listen=None,
        host_port=8080,
        host_port_end=None,
        guest_ip="10.9.1.10",
        guest_port=80,
    )
    values.update(fields)
    return Wanted(**values)


def lease(network, ip, mac, *, static=False, hostname="ns"):
    return Lease.objects.create(
        network=network, ip=ip, mac=mac, hostname=hostname, static=static, expires=timezone.now()
    )


def test_a_reserved_guest_of_a_nat_switch_may_be_forwarded_to(switch):
    assert port_forwards.refusals(switch(), wanted()) == {}


def test_candidates_are_reservations_then_leases_named_by_their_guest(switch):
    net = switch()
    net.guests = [{"domain": "vm-web", "mac": "52:54:00:00:01:10", "running": True}]
    net.save()
    lease(net, "10.9.1.150", "52:54:00:aa:bb:cc", hostname="laptop")
    found = port_forwards.candidates(net)
    assert [(c.ip, c.name, c.static) for c in found] == [
        ("10.9.1.10", "vm-web", True),
        ("10.9.1.150", "laptop", False),
    ]
    assert "make it permanent first" in found[1].label


def test_a_dynamic_lease_is_refused_until_it_is_made_permanent(switch):
    net = switch()
    lease(net, "10.9.1.150", "52:54:00:aa:bb:cc")
    errors = port_forwards.refusals(net, wanted(guest_ip="10.9.1.150"))
    assert "make the lease permanent first" in errors["guest"]


def test_an_address_no_guest_of_the_switch_has_is_refused(switch):
    net = switch()
    assert (
        "No guest of pf1 has 10.9.1.77"
        in port_forwards.refusals(net, wanted(guest_ip="10.9.1.77"))["guest"]
    )
    assert (
        "not in this switch's subnets"
        in port_forwards.refusals(net, wanted(guest_ip="10.9.2.10"))["guest"]
    )
    assert (
        "switch's own address" in port_forwards.refusals(net, wanted(guest_ip="10.9.1.1"))["guest"]
    )


def test_a_port_another_switch_of_the_host_forwards_is_refused(switch):
    first, second = switch("pf1", 1), switch("pf2", 2)
    PortForward.objects.create(
        network=second,
        protocol="tcp",
        host_port=8000,
        host_port_end=8090,
        guest_ip="10.9.2.10",
        guest_port=8000,
    )
    errors = port_forwards.refusals(first, wanted())
    assert "already forwarded by switch pf2" in errors["host_port"]
    # Another protocol, or ports beside the range, are free.
    assert port_forwards.refusals(first, wanted(protocol="udp")) == {}
    assert port_forwards.refusals(first, wanted(host_port=8091)) == {}


def test_two_listen_addresses_do_not_clash_but_every_address_meets_each(switch):
    net = switch()
    PortForward.objects.create(
        network=net,
        protocol="tcp",
        listen="192.0.2.5",
        host_port=8080,
        host_port_end=8080,
        guest_ip="10.9.1.10",
        guest_port=80,
    )
    assert port_forwards.refusals(net, wanted(listen="10.9.1.1")) == {}
    assert "already forwarded by this switch" in port_forwards.refusals(net, wanted())["host_port"]


def test_a_port_the_host_listens_on_is_refused_unless_only_on_loopback(switch):
    net = switch()
    assert (
        "The host itself listens on TCP port 22"
        in port_forwards.refusals(net, wanted(host_port=20, host_port_end=30, guest_port=20))[
            "host_port"
        ]
    )
    assert port_forwards.refusals(net, wanted(host_port=6379)) == {}
    # dnsmasq's DNS on the bridge's address: taken there and on every address, not on another.
    assert (
        "UDP port 53"
        in port_forwards.refusals(net, wanted(protocol="udp", host_port=53, guest_port=53))[
            "host_port"
        ]
    )
    assert (
        port_forwards.refusals(
            net, wanted(protocol="udp", host_port=53, guest_port=53, listen="192.0.2.5")
        )
        == {}
    )


def test_ranges_of_different_length_and_ports_out_of_range_are_refused(switch):
    net = switch()
    errors = port_forwards.refusals(
        net, wanted(host_port=8080, host_port_end=8089, guest_port=80, guest_port_end=85)
    )
    assert "not as many as the host's" in errors["guest_port_end"]
    assert "from 1 to 65535" in port_forwards.refusals(net, wanted(host_port=0))["host_port"]
    assert (
        "from 8080 to 65535"
        in port_forwards.refusals(net, wanted(host_port_end=8000))["host_port_end"]
    )
    assert "guest_port_end" in port_forwards.refusals(
        net, wanted(host_port=60000, host_port_end=60010, guest_port=65530)
    )


def test_a_listen_address_must_be_one_of_the_host(switch):
    net = switch()
    assert (
        "not an address of" in port_forwards.refusals(net, wanted(listen="198.51.100.1"))["listen"]
    )
    assert "leave it empty" in port_forwards.refusals(net, wanted(listen="127.0.0.1"))["listen"]
    assert "not an IPv4 address" in port_forwards.refusals(net, wanted(listen="fe80::1"))["listen"]


def test_isolated_switches_and_hosts_seen_from_afar_take_no_forwards(switch):
    assert "NAT or routed" in port_forwards.refusals(switch(mode="isolated"), wanted())[""]
    assert "over ssh" in port_forwards.refusals(switch("pf3", 3, local=False), wanted())[""]
    assert (
        port_forwards.refusals(switch("pf4", 4, mode="route"), wanted(guest_ip="10.9.4.10")) == {}
    )


def test_the_listing_is_the_audit_entrys_before_and_after(switch):
    net = switch()
    PortForward.objects.create(
        network=net,
        protocol="udp",
        host_port=9000,
        host_port_end=9002,
        guest_ip="10.9.1.10",
        guest_port=7000,
        guest_name="web",
    )
    assert port_forwards.listing(net) == "UDP *:9000-9002 -> web 10.9.1.10:7000-7002"


def test_a_reservation_without_a_name_is_named_by_its_lease(switch, make_network, test_host):
    net = make_network(
        test_host,
        "pf9",
        active=True,
        bridge="vnwtpf9",
        switch={"local": True},
        xml="<network><name>pf9</name><forward mode='nat'/><bridge name='vnwtpf9'/>"
        "<ip address='10.9.9.1' prefix='24'><dhcp><host mac='52:54:00:00:09:10' ip='10.9.9.10'/>"
        "</dhcp></ip></network>",
    )
    lease(net, "10.9.9.10", "52:54:00:00:09:10", static=True, hostname="laptop")
    assert [(c.ip, c.name, c.static) for c in port_forwards.candidates(net)] == [
        ("10.9.9.10", "laptop", True)
    ]
