"""A guest's NICs on the real host, through vnetweb's jobs run by the worker's code: a real QEMU
guest (TCG, the guest kit's kernel and busybox, tests/real.py's qemu_guest) gets a NIC on a test
network and a lease there; the NIC moves to another network and gets a lease there; its link
goes down and up; it is detached; `virsh domiflist` agrees at every step. Also a stopped
guest's definition, refusals in words, and a NIC plugged in with virsh reaching the database
through the worker's monitor (domain events).

Only the test's own networks and guests (vnwt…) are touched.
"""

import subprocess
import time

import pytest

from networks.jobs import create_job
from networks.models import Guest, Job
from networks.worker.tasks import refresh, run_job
from tests.real import LOCAL_URI, domiflist, lease_for, wait_for

pytestmark = pytest.mark.libvirt


def _job(user, host, key: str, guest: Guest, **params) -> Job:
    job = create_job(user, host, key, params=params, guest=guest)
    run_job(job.pk)  # the worker's task, in this process
    job.refresh_from_db()
    return job


def _guest(host, name: str) -> Guest:
    return Guest.objects.get(host=host, name=name)


def _link(name: str, mac: str) -> str:
    out = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "domif-getlink", name, mac],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()[-1]


def test_attach_move_link_and_detach_a_nic_of_a_running_guest(
    real_host, libvirt_network, qemu_guest, admin
):
    a, b = libvirt_network(start=True), libvirt_network(start=True)
    vm = qemu_guest([a.name], hostname="vnwt-nics")
    wait_for(lambda: lease_for(a.name, vm.macs[0]), timeout=90, message=vm.console())
    assert refresh(real_host) is None
    guest = _guest(real_host, vm.name)
    assert guest.running and guest.hotplug
    assert [n["network"] for n in guest.nics] == [a.name]

    # Attach: plugged in now and kept in the definition; the guest asks for a lease on b.
    started = time.monotonic()
    job = _job(admin, real_host, "nic_attach", guest, network=b.name, model="virtio", mac="")
    assert job.state == Job.State.SUCCEEDED, job.message
    mac = job.params["mac"]
    assert "live and in its definition" in job.message
    for inactive in (False, True):
        rows = domiflist(vm.name, inactive=inactive)
        assert [(r["source"], r["mac"]) for r in rows] == [(a.name, vm.macs[0]), (b.name, mac)]
    ip = wait_for(lambda: lease_for(b.name, mac), timeout=30, message=vm.console())
    print(f"attach job -> lease on the new NIC: {time.monotonic() - started:.1f} s ({ip})")
    nic = _guest(real_host, vm.name).nic(mac)
    assert (nic["network"], nic["type"], nic["model"], nic["config"]) == (
        b.name,
        "network",
        "virtio",
        True,
    )
    assert nic["device"].startswith("vnet")

    # Move it to a: live and in the definition; its link goes down and up, and it asks again.
    started = time.monotonic()
    job = _job(admin, real_host, "nic_move", guest, network=a.name, mac=mac)
    assert job.state == Job.State.SUCCEEDED, job.message
    for inactive in (False, True):
        rows = domiflist(vm.name, inactive=inactive)
        assert [(r["source"], r["mac"]) for r in rows] == [(a.name, vm.macs[0]), (a.name, mac)]
    wait_for(lambda: lease_for(a.name, mac), timeout=30, message=vm.console())
    print(f"move job -> lease on the other network: {time.monotonic() - started:.1f} s")
    assert _guest(real_host, vm.name).nic(mac)["network"] == a.name
    again = _job(admin, real_host, "nic_move", guest, network=a.name, mac=mac)
    assert again.state == Job.State.SUCCEEDED and "nothing to do" in again.message

    # The link: down, then up again.
    job = _job(admin, real_host, "nic_link", guest, mac=mac, up=False)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert _link(vm.name, mac) == "down"
    assert _guest(real_host, vm.name).nic(mac)["link"] == "down"
    assert _job(admin, real_host, "nic_link", guest, mac=mac, up=True).state == "succeeded"
    assert _link(vm.name, mac) == "up"

    # Detach: gone live (the guest let go of it) and from the definition.
    started = time.monotonic()
    job = _job(admin, real_host, "nic_detach", guest, mac=mac)
    assert job.state == Job.State.SUCCEEDED, job.message
    print(f"detach job: {time.monotonic() - started:.1f} s")
    for inactive in (False, True):
        assert [r["mac"] for r in domiflist(vm.name, inactive=inactive)] == [vm.macs[0]]
    assert _guest(real_host, vm.name).nic(mac) is None


def test_refusals_change_nothing_on_the_host(real_host, libvirt_network, qemu_guest, admin):
    a = libvirt_network(start=True)
    stopped = libvirt_network(start=False)
    vm = qemu_guest([a.name], hostname="vnwt-refuse")
    other = qemu_guest([a.name], hostname="vnwt-other", start=False)
    assert refresh(real_host) is None
    guest = _guest(real_host, vm.name)
    before = [(r["source"], r["mac"]) for r in domiflist(vm.name)]

    taken = _job(admin, real_host, "nic_attach", guest, network=a.name, mac=other.macs[0])
    assert taken.state == Job.State.FAILED
    assert f"MAC {other.macs[0]} is already on {a.name}, on guest {other.name}" in taken.message
    cold = _job(admin, real_host, "nic_attach", guest, network=stopped.name)
    assert cold.state == Job.State.FAILED
    assert f"{stopped.name} is not running, and {vm.name} is" in cold.message
    for inactive in (False, True):
        assert [(r["source"], r["mac"]) for r in domiflist(vm.name, inactive=inactive)] == before


def test_a_running_guest_without_acpi_is_refused_in_words(
    real_host, libvirt_network, qemu_guest, admin
):
    a = libvirt_network(start=True)
    vm = qemu_guest([a.name], hostname="vnwt-noacpi", acpi=False)
    assert refresh(real_host) is None
    guest = _guest(real_host, vm.name)
    assert guest.running and not guest.hotplug
    job = _job(admin, real_host, "nic_attach", guest, network=a.name)
    assert job.state == Job.State.FAILED
    assert "cannot take a NIC while running (no ACPI)" in job.message
    job = _job(admin, real_host, "nic_detach", guest, mac=vm.macs[0])
    assert job.state == Job.State.FAILED
    assert "cannot drop a NIC while running (no ACPI)" in job.message
    assert [r["mac"] for r in domiflist(vm.name)] == vm.macs
    assert [r["mac"] for r in domiflist(vm.name, inactive=True)] == vm.macs


def test_a_stopped_guest_gets_the_nic_in_its_definition(
    real_host, libvirt_network, qemu_guest, admin
):
    a, b = libvirt_network(start=True), libvirt_network(start=False)
    vm = qemu_guest([a.name], hostname="vnwt-cold", start=False)
    assert refresh(real_host) is None
    guest = _guest(real_host, vm.name)
    job = _job(admin, real_host, "nic_attach", guest, network=b.name, model="e1000")
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "from its next start" in job.message
    rows = domiflist(vm.name, inactive=True)
    assert [(r["source"], r["model"]) for r in rows] == [(a.name, "virtio"), (b.name, "e1000")]
    nic = _guest(real_host, vm.name).nic(job.params["mac"])
    assert (nic["network"], nic["model"], nic["device"]) == (b.name, "e1000", "")


@pytest.mark.worker
def test_a_nic_plugged_in_with_virsh_reaches_the_database_through_domain_events(
    real_host, libvirt_network, qemu_guest, celery_worker_process
):
    a, b = libvirt_network(start=True), libvirt_network(start=True)
    vm = qemu_guest([a.name], hostname="vnwt-events")
    celery_worker_process(real_host.name, pool="threads")
    wait_for(
        lambda: Guest.objects.filter(name=vm.name, state="running").exists(),
        timeout=60,
        message="the worker never read the guest",
    )
    started = time.monotonic()
    subprocess.run(
        [
            "virsh",
            "-c",
            LOCAL_URI,
            "attach-interface",
            vm.name,
            "network",
            b.name,
            "--model",
            "virtio",
            "--live",
        ],
        check=True,
        capture_output=True,
    )
    wait_for(
        lambda: any(n["network"] == b.name for n in _guest(real_host, vm.name).nics),
        timeout=10,
        interval=0.05,
    )
    seen = time.monotonic() - started
    print(f"virsh attach-interface -> database: {seen:.2f} s")
    assert seen < 3.0, seen
    nic = next(n for n in _guest(real_host, vm.name).nics if n["network"] == b.name)
    assert nic["config"] is False  # plugged live only: gone at the next boot
