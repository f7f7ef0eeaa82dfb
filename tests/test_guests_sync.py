"""The guests a worker reads (every domain with its NICs) written into Guest rows, and what open
pages hear of it on the live channel."""

import uuid

import pytest
from django.utils import timezone

from networks import audit, gateway
from networks.models import AuditEntry, Guest, PortForward
from networks.worker.sync import record_guests, record_network, record_snapshot
from networks.worker.tasks import refresh
from tests.test_live import FACTS, info

pytestmark = pytest.mark.postgres


def domain(name: str, *nics: gateway.NicInfo, state: str = "running") -> gateway.DomainInfo:
    return gateway.DomainInfo(
        name=name, uuid=str(uuid.uuid5(uuid.NAMESPACE_DNS, name)), state=state, nics=nics
    )


def test_a_refresh_writes_the_test_drivers_guest_with_its_nic(test_host):
    assert refresh(test_host) is None
    guest = Guest.objects.get(host=test_host, name="test")
    assert guest.state == "running" and guest.running
    assert guest.vcpus == 2 and guest.memory_kib == 2 * 1024 * 1024
    # The test driver's machine has no ACPI: no NIC while it runs.
    assert guest.hotplug is False
    assert [(n["mac"], n["type"], n["source"], n["network"], n["device"]) for n in guest.nics] == [
        ("aa:bb:cc:dd:ee:ff", "network", "default", "default", "testnet0")
    ]


def test_nics_straight_on_a_bridge_or_host_nic_belong_to_that_network(test_host, make_network):
    make_network(test_host, "lan", mode="bridge", bridge="br0")
    make_network(test_host, "tap", mode="macvtap", bridge="", forward_dev="eth1")
    record_guests(
        test_host,
        (
            domain(
                "vm",
                gateway.NicInfo(mac="52:54:00:00:00:01", type="bridge", source="br0"),
                gateway.NicInfo(mac="52:54:00:00:00:02", type="direct", source="eth1"),
                gateway.NicInfo(mac="52:54:00:00:00:03", type="network", source="gone"),
                gateway.NicInfo(mac="52:54:00:00:00:04", type="user"),
            ),
        ),
        timezone.now(),
    )
    nics = Guest.objects.get(name="vm").nics
    assert [n["network"] for n in nics] == ["lan", "tap", "", ""]


def test_guests_follow_the_host_and_pages_hear_only_of_changes(
    transactional_db, test_host, listener
):
    now = timezone.now()
    one = gateway.NicInfo(mac="52:54:00:00:00:01", type="network", source="a")
    snap = gateway.HostSnapshot(
        facts=FACTS, networks=(info("a"),), domains=(domain("vm1", one), domain("vm2"))
    )
    record_snapshot(test_host, snap)
    assert sorted(Guest.objects.values_list("name", flat=True)) == ["vm1", "vm2"]
    assert any(m.get("topic") == "guests" for m in listener.settle())
    listener.messages.clear()
    test_host.refresh_from_db()
    record_snapshot(test_host, snap)  # the same again: nothing to tell
    assert listener.settle() == []
    record_guests(test_host, (domain("vm1", one, state="shut off"),), now)
    assert list(Guest.objects.values_list("name", "state")) == [("vm1", "shut off")]
    assert [m["topic"] for m in listener.settle()] == ["guests"]


def test_a_snapshot_without_domains_keeps_the_guests(test_host):
    record_guests(test_host, (domain("vm1"),), timezone.now())
    record_snapshot(test_host, gateway.HostSnapshot(facts=FACTS, networks=(info("a"),)))
    assert Guest.objects.filter(name="vm1").exists()


def test_a_nic_leaving_its_switch_takes_its_port_forwards_along_in_the_audit_trail(
    test_host, make_network
):
    web = make_network(test_host, "web", bridge="vnwtweb")
    other = make_network(test_host, "other", bridge="vnwtother")
    nic = gateway.NicInfo(mac="52:54:00:00:00:01", type="network", source="web")
    record_guests(test_host, (domain("vm", nic),), timezone.now())

    def forward(network, port):
        return PortForward.objects.create(
            network=network,
            protocol="tcp",
            host_port=port,
            host_port_end=port,
            guest_ip="10.0.0.10",
            guest_port=80,
            guest_name="vm",
            guest_mac="52:54:00:00:00:01",
        )

    kept_elsewhere, gone = forward(other, 8081), forward(web, 8080)
    # The guest's NIC moves to another switch: the forward on the switch it left goes.
    moved = gateway.NicInfo(mac="52:54:00:00:00:01", type="network", source="other")
    record_guests(test_host, (domain("vm", moved),), timezone.now())
    assert list(PortForward.objects.all()) == [kept_elsewhere]
    entry = AuditEntry.objects.get(action=audit.FORWARDS_OUTSIDE)
    assert entry.network_name == "web" and entry.outside
    assert entry.before == gone.text and entry.after == ""
    assert "the guest's NIC left the switch (vm)" in entry.message
    # The guest goes altogether: so does its forward on the other switch.
    record_guests(test_host, (domain("vm2"),), timezone.now())
    assert not PortForward.objects.exists()


def test_a_switch_that_goes_takes_its_port_forwards_along_in_the_audit_trail(
    test_host, make_network
):
    web = make_network(test_host, "web", bridge="vnwtweb")
    PortForward.objects.create(
        network=web,
        protocol="udp",
        host_port=5353,
        host_port_end=5353,
        guest_ip="10.0.0.10",
        guest_port=53,
    )
    record_network(test_host, "web", None)
    assert not PortForward.objects.exists()
    entry = AuditEntry.objects.get(action=audit.FORWARDS_OUTSIDE)
    assert entry.network_name == "web" and entry.before == "UDP *:5353 -> 10.0.0.10:53"
    assert entry.message == "Port forwards removed with the switch."
