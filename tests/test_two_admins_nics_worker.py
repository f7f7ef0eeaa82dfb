"""The worker checks again, right before it acts, that a guest's NIC is where the person saw it
(networks.worker.nics): the guest is read from libvirt (faked here: the gateway's answers), and a
job whose NIC was moved meanwhile is refused in words and changes nothing. A real guest's
definition changed with virsh is in the last test."""

import pytest
from django.urls import reverse

from networks import gateway
from networks.gateway import DomainInfo, NicInfo
from networks.models import Guest, Job
from networks.worker import nics
from networks.worker.ops import Refused
from networks.worker.tasks import refresh, run_job
from tests.real import domiflist, virsh

MAC1, MAC2 = "52:54:00:00:00:01", "52:54:00:00:00:02"


@pytest.fixture
def libvirt_has(monkeypatch):
    """The guest as libvirt would describe it now, and the gateway calls the worker made."""
    calls: list[tuple] = []

    def has(*nics: NicInfo) -> list[tuple]:
        info = DomainInfo("vm1", "00000000-0000-0000-0000-000000000001", "running", nics=nics)
        monkeypatch.setattr(gateway, "domain_state", lambda uri, name: info)
        for name, answer in [("move_nic", True), ("detach_nic", True), ("attach_nic", MAC2)]:
            monkeypatch.setattr(
                gateway,
                name,
                lambda *a, name=name, answer=answer, **k: calls.append((name, *a)) or answer,
            )
        monkeypatch.setattr(gateway, "set_nic_link", lambda *a: True)
        return calls

    return has


@pytest.fixture
def job_for(test_host, make_guest):
    guest = make_guest(test_host, "vm1", nics=[("net1", MAC1)])

    def make(operation: str, **params) -> Job:
        return Job.objects.create(
            username="bob-admin",
            host=test_host,
            guest=guest,
            target="vm1",
            operation=operation,
            params={"renew": False, **params},
        )

    return make


def test_a_move_whose_nic_was_moved_meanwhile_is_refused_and_changes_nothing(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "network", "net3"))
    job = job_for("nic_move", network="net2", mac=MAC1, seen_type="network", seen_source="net1")
    with pytest.raises(Refused) as refused:
        nics.nic_move(job)
    assert str(refused.value) == (
        f"vm1's NIC {MAC1} is on net3 now, not on net1 where bob-admin saw it: it was changed "
        "since. Nothing was changed; look at the guest again."
    )
    assert calls == []


def test_a_detach_whose_nic_is_on_a_host_bridge_now_is_refused(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "bridge", "br0"))
    job = job_for("nic_detach", mac=MAC1, seen_type="network", seen_source="net1")
    with pytest.raises(Refused, match="is on bridge br0 now, not on net1 where bob-admin saw it"):
        nics.nic_detach(job)
    assert calls == []


def test_a_nic_where_the_person_saw_it_is_moved_and_detached(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "network", "net1"))
    seen = {"seen_type": "network", "seen_source": "net1"}
    nics.nic_move(job_for("nic_move", network="net2", mac=MAC1, **seen))
    nics.nic_detach(job_for("nic_detach", mac=MAC1, **seen))
    assert [call[0] for call in calls] == ["move_nic", "detach_nic"]


def test_a_move_run_twice_finds_its_nic_already_there_and_is_not_refused(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "network", "net2"))
    job = job_for("nic_move", network="net2", mac=MAC1, seen_type="network", seen_source="net1")
    nics.nic_move(job)
    assert [call[0] for call in calls] == ["move_nic"]


def test_a_gone_nic_is_left_to_the_operation_to_say_so(libvirt_has, job_for):
    calls = libvirt_has()
    nics.nic_detach(job_for("nic_detach", mac=MAC1, seen_type="network", seen_source="net1"))
    assert [call[0] for call in calls] == ["detach_nic"]


def test_an_attach_to_a_switch_the_guest_got_a_nic_on_meanwhile_is_refused(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "network", "net1"), NicInfo(MAC2, "network", "net2"))
    job = job_for("nic_attach", network="net2", model="virtio", mac="", seen_macs=MAC1)
    with pytest.raises(
        Refused,
        match=f"vm1 has a NIC on net2 now that was not there when bob-admin asked \\({MAC2}\\)",
    ):
        nics.nic_attach(job)
    assert calls == []
    # The NIC the person saw does not count, nor the job's own (a job run twice).
    nics.nic_attach(job_for("nic_attach", network="net2", mac="", seen_macs=f"{MAC1} {MAC2}"))
    nics.nic_attach(job_for("nic_attach", network="net2", mac=MAC2, seen_macs=MAC1))
    assert [call[0] for call in calls] == ["attach_nic", "attach_nic"]


def test_a_job_that_says_nothing_of_what_was_seen_is_not_checked(libvirt_has, job_for):
    calls = libvirt_has(NicInfo(MAC1, "network", "net3"))
    nics.nic_move(job_for("nic_move", network="net2", mac=MAC1))
    assert [call[0] for call in calls] == ["move_nic"]


@pytest.mark.libvirt
def test_a_move_asked_on_the_page_is_refused_after_virsh_moved_the_nic_in_the_definition(
    real_host, libvirt_network, qemu_guest, admin, client_as, tmp_path
):
    a, b, c = (libvirt_network(start=False) for _ in range(3))
    vm = qemu_guest([a.name], start=False)  # its definition only: no boot needed
    assert refresh(real_host) is None
    client = client_as(admin)
    page = client.get(reverse("guest-detail", args=[real_host.name, vm.name])).content.decode()
    seen = page.split('name="version" value="')[1].split('"')[0]
    url = reverse("guest-nic-move", args=[real_host.name, vm.name, vm.macs[0]])
    assert client.post(url, {"network": b.name, "version": seen}).status_code == 302
    job = Job.objects.get(operation="nic_move")

    # Meanwhile, someone moves the NIC with virsh, outside vnetweb.
    nic = tmp_path / "nic.xml"
    nic.write_text(
        f"<interface type='network'><mac address='{vm.macs[0]}'/>"
        f"<source network='{c.name}'/><model type='virtio'/></interface>"
    )
    virsh("update-device", vm.name, str(nic), "--config")

    run_job(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert f"is on {c.name} now, not on {a.name} where {admin.username} saw it" in job.message
    assert [r["source"] for r in domiflist(vm.name, inactive=True)] == [c.name]
    assert Guest.objects.get(name=vm.name).nics[0]["network"] == c.name  # read again after
