"""The guest kit on the real host: a QEMU guest gets a lease when it boots, on a NIC plugged in
while it runs, and again after its NIC moves to another switch with a link down/up; an unplugged
NIC leaves the domain. One guest tells the whole story: booting one under TCG costs seconds.
Run with -s to see the times measured (they are recorded as test properties too)."""

import time

import pytest
from lxml import etree

from tests.real import domiflist, lease_for, virsh, wait_for

pytestmark = pytest.mark.libvirt


def nic_xml(network: str, mac: str) -> str:
    nic = etree.Element("interface", type="network")
    etree.SubElement(nic, "source", network=network)
    etree.SubElement(nic, "mac", address=mac)
    etree.SubElement(nic, "model", type="virtio")
    return etree.tostring(nic, encoding="unicode")


def test_a_guest_gets_leases_on_boot_on_a_hotplugged_nic_and_after_a_move_and_unplugs(
    libvirt_network, qemu_guest, record_property, tmp_path
):
    a, b = libvirt_network(start=True), libvirt_network(start=True)
    timings: dict[str, float] = {}

    def timed(step: str, started: float) -> None:
        timings[step] = round(time.monotonic() - started, 2)
        record_property(step, timings[step])

    started = time.monotonic()
    guest = qemu_guest([a.name], hostname="vnwt-kit-test", start=False)
    timed("define_s", started)
    first = guest.macs[0]
    started = time.monotonic()
    virsh("start", guest.name)
    ip = wait_for(
        lambda: lease_for(a.name, first),
        timeout=60,
        message=f"no lease on {a.name} 60 s after start:\n{guest.console()}",
    )
    timed("start_to_first_lease_s", started)
    assert ip.startswith(f"10.213.{a.subnet}.")

    started = time.monotonic()
    virsh("attach-interface", guest.name, "network", b.name, "--model=virtio", "--live", "--config")
    plugged = next(nic["mac"] for nic in domiflist(guest.name) if nic["source"] == b.name)
    ip = wait_for(
        lambda: lease_for(b.name, plugged),
        timeout=30,
        message=f"no lease for the hot-plugged NIC:\n{guest.console()}",
    )
    timed("hotplug_to_lease_s", started)
    assert ip.startswith(f"10.213.{b.subnet}.")

    # A NIC moved to another switch keeps its link: the mover bounces it, and the guest asks again.
    started = time.monotonic()
    moved = tmp_path / "moved-nic.xml"
    moved.write_text(nic_xml(b.name, first))
    virsh("update-device", guest.name, str(moved), "--live")
    virsh("domif-setlink", guest.name, first, "down")
    virsh("domif-setlink", guest.name, first, "up")
    wait_for(
        lambda: lease_for(b.name, first),
        timeout=30,
        message=f"no lease on {b.name} after the move and link bounce:\n{guest.console()}",
    )
    timed("move_to_lease_s", started)

    started = time.monotonic()
    virsh("detach-interface", guest.name, "network", "--mac", plugged, "--live", "--config")
    wait_for(
        lambda: plugged not in {nic["mac"] for nic in domiflist(guest.name)},
        timeout=30,
        message=f"the unplugged NIC is still there:\n{guest.console()}",
    )
    timed("unplug_s", started)
    assert plugged not in {nic["mac"] for nic in domiflist(guest.name, inactive=True)}
    print(f"\nguest kit timings: {timings}")
