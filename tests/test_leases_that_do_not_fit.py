"""A guest chooses its DHCP client ID, hardware address and hostname: one longer than its column
must not stop its host's refresh (PostgreSQL refuses a value longer than a varchar, SQLite does not,
so these tests check every value written against the model's own max_length)."""

import uuid

import pytest
from django.urls import reverse

from networks import gateway
from networks.models import Host, Job, Lease, Network
from networks.worker.sync import record_snapshot
from networks.worker.tasks import refresh
from tests.real import LOCAL_URI, wait_for

pytestmark = pytest.mark.postgres

FACTS = gateway.HostFacts(
    hostname="kvm9.example.org",
    libvirt_version="9.0.0",
    hypervisor="QEMU",
    hypervisor_version="7.2.0",
    cpu_model="x86_64",
    cpus=8,
    memory_kib=8 * 1024 * 1024,
)
XML = (
    "<network><name>lab</name><forward mode='nat'/><bridge name='virbr1'/>"
    "<ip address='10.9.1.1' prefix='24'><dhcp><range start='10.9.1.100' end='10.9.1.199'/>"
    "</dhcp></ip></network>"
)
# A client ID may have up to 255 bytes, as hex pairs 764 characters (the real guest below shows
# one of 299 reaching libvirt); a hardware address up to 16 bytes, 47 characters.
LONG_ID = ":".join(["ab"] * 255)
LONG_MAC = ":".join(["0a"] * 16)


def lease(mac: str, ip: str, client_id: str = "", hostname: str = "") -> gateway.LeaseInfo:
    return gateway.LeaseInfo(
        mac=mac, ip=ip, prefix=24, hostname=hostname, client_id=client_id, expires=None
    )


def snapshot(*leases: gateway.LeaseInfo) -> gateway.HostSnapshot:
    info = gateway.NetworkInfo(
        name="lab",
        uuid=str(uuid.UUID(int=1)),
        active=True,
        persistent=True,
        autostart=False,
        xml=XML,
        leases=leases,
    )
    return gateway.HostSnapshot(facts=FACTS, networks=(info,))


def assert_every_value_fits(row: Lease) -> None:
    for field in Lease._meta.get_fields():
        limit = getattr(field, "max_length", None)
        if limit and field.concrete:
            value = getattr(row, field.attname)
            assert len(value) <= limit, f"{field.name} is {len(value)} long, its column {limit}"


@pytest.fixture
def kvm9(db) -> Host:
    return Host.objects.create(name="kvm9", uri="qemu+ssh://root@kvm9/system")


def test_a_guest_with_a_long_client_id_and_mac_does_not_stop_its_hosts_refresh(kvm9):
    ordinary = lease("52:54:00:00:00:01", "10.9.1.101", hostname="web")
    greedy = lease(LONG_MAC, "10.9.1.102", client_id=LONG_ID, hostname="x" * 300)
    record_snapshot(kvm9, snapshot(ordinary, greedy))
    kvm9.refresh_from_db()
    assert kvm9.reachable is True
    rows = {row.ip: row for row in Lease.objects.filter(network__host=kvm9)}
    assert sorted(rows) == ["10.9.1.101", "10.9.1.102"], "the other leases are recorded too"
    for row in rows.values():
        assert_every_value_fits(row)
    cut = rows["10.9.1.102"]
    assert cut.client_id.endswith(Lease.CUT) and LONG_ID.startswith(cut.client_id[:-1])
    assert cut.mac.endswith(Lease.CUT) and LONG_MAC.startswith(cut.mac[:-1])
    assert cut.hostname == "x" * 254 + Lease.CUT
    assert (rows["10.9.1.101"].mac, rows["10.9.1.101"].hostname) == ("52:54:00:00:00:01", "web")


def test_a_lease_cut_to_fit_is_kept_as_it_is_on_the_next_refresh(kvm9):
    greedy = lease(LONG_MAC, "10.9.1.102", client_id=LONG_ID)
    record_snapshot(kvm9, snapshot(greedy))
    before = Lease.objects.get()
    version = Network.objects.get().leases_version
    record_snapshot(kvm9, snapshot(greedy))
    assert Lease.objects.get().pk == before.pk
    assert Network.objects.get().leases_version == version, "nothing changed, nothing written"


def test_a_nul_from_a_guest_is_not_written(kvm9):
    record_snapshot(kvm9, snapshot(lease("52:54:00:00:00:01", "10.9.1.101", hostname="a\x00b")))
    assert Lease.objects.get().hostname == "ab"


def test_a_lease_cut_to_fit_cannot_be_made_permanent(kvm9, operator, client_as):
    record_snapshot(kvm9, snapshot(lease(LONG_MAC, "10.9.1.102", client_id=LONG_ID)))
    network, row = Network.objects.get(), Lease.objects.get()
    client = client_as(operator)
    url = reverse("lease-pin", args=[kvm9.name, network.name])
    response = client.post(url, {"mac": row.mac, "ip": row.ip})
    assert response.status_code == 400
    assert b"more than can be stored; nothing was queued" in response.content
    assert not Job.objects.exists()
    leases = client.get(reverse("network-leases", args=[kvm9.name, network.name]))
    assert 'data-ip="10.9.1.102"' in leases.content.decode()
    assert "pin-lease" not in leases.content.decode()


@pytest.mark.libvirt
def test_a_real_guest_s_long_client_id_is_stored_cut_and_its_neighbour_s_lease_too(
    real_host, libvirt_network, namespace_guest
):
    net = libvirt_network(start=True)
    # Option 61, the client ID, of 100 bytes (-C: instead of udhcpc's own one from the MAC).
    # dnsmasq 2.90 drops one of 255 bytes before libvirt sees it, but passes this one on.
    client_id = ["-C", "-x", "0x3d:" + "ab" * 100]
    greedy = namespace_guest(net.bridge, hostname="vnwt-greedy", udhcpc_args=client_id)
    plain = namespace_guest(net.bridge, hostname="vnwt-plain")

    def both_leased():
        assert refresh(real_host) is None, "the refresh went through"
        rows = Lease.objects.filter(network__name=net.name)
        return rows if rows.count() == 2 else None

    rows = {row.hostname: row for row in wait_for(both_leased, timeout=20, message="no 2 leases")}
    # libvirt hands the ID on as hex pairs: 299 characters, more than the column holds.
    as_read = ":".join(["ab"] * 100)
    seen = gateway.network_state(LOCAL_URI, net.name)
    assert as_read in [lease.client_id for lease in seen.leases]
    for row in rows.values():
        assert_every_value_fits(row)
    assert rows["vnwt-greedy"].mac == greedy.mac
    assert rows["vnwt-greedy"].client_id == as_read[:254] + Lease.CUT
    assert rows["vnwt-plain"].mac == plain.mac
