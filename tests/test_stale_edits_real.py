"""On the real libvirt host: a `virsh net-define` between an edit's review and its apply. The
worker compares libvirt's saved definition with the one the edit was made on and refuses, so the
virsh change, modelled by vnetweb or not, is never overwritten; reviewed again, the edit goes
through and both changes are there.

The networks are vnwt-…, running (the saved definition differs from the running one once virsh
defines), and undefined after the test.
"""

import dataclasses
from pathlib import Path

import pytest

from networks.models import Job, Network
from networks.spec import DhcpHost, DnsHost, parse, plan_update, to_xml
from networks.worker import tasks
from tests import jobs
from tests.real import virsh

pytestmark = pytest.mark.libvirt

TFTP = "<tftp root='/srv/vnwt-tftp'/>"


def network_row(real_host, net) -> Network:
    tasks.refresh(real_host)
    return Network.objects.get(host=real_host, name=net.name)


def virsh_saved(name: str) -> str:
    return virsh("net-dumpxml", "--inactive", name)


def virsh_define(xml: str, tmp_path: Path) -> None:
    path = tmp_path / "net.xml"
    path.write_text(xml)
    virsh("net-define", str(path))


def static_host_edit(base: str, subnet: int) -> dict:
    """An editor's update on `base`: one static host more (a live change of the running network)."""
    new = parse(base)
    new.ips[0].dhcp_hosts.append(DhcpHost(mac="52:54:00:00:0a:01", ip=f"10.213.{subnet}.20"))
    plan = plan_update(parse(base), new, base=base)
    return {
        "xml": to_xml(new, base=base),
        "base_xml": base,
        "live": [dataclasses.asdict(u) for u in plan.updates],
    }


def test_a_dns_record_added_with_virsh_after_review_is_not_overwritten(
    real_host, libvirt_network, tmp_path
):
    net = libvirt_network(start=True)
    base = network_row(real_host, net).saved_xml
    params = static_host_edit(base, net.subnet)
    theirs = parse(base)
    theirs.dns_hosts = [DnsHost(f"10.213.{net.subnet}.10", ["ns"])]
    virsh_define(to_xml(theirs, base=base), tmp_path)

    job = jobs.run(real_host, "update", net.name, **params)

    assert job.state == Job.State.FAILED
    assert job.message == (
        f"{net.name} was changed on the host since the editor was opened (a DNS host record "
        f"10.213.{net.subnet}.10 was added); nothing was changed. Review again."
    )
    saved = virsh_saved(net.name)
    assert f"<host ip='10.213.{net.subnet}.10'>" in saved, "libvirt keeps the virsh definition"
    assert "52:54:00:00:0a:01" not in saved + virsh("net-dumpxml", net.name)


def test_a_change_vnetweb_does_not_model_made_with_virsh_is_not_overwritten(
    real_host, libvirt_network, tmp_path
):
    net = libvirt_network(start=True)
    base = network_row(real_host, net).saved_xml
    params = static_host_edit(base, net.subnet)
    virsh_define(virsh_saved(net.name).replace("<dhcp>", TFTP + "<dhcp>"), tmp_path)

    job = jobs.run(real_host, "update", net.name, **params)

    assert job.state == Job.State.FAILED
    assert "since the editor was opened (<tftp> in <ip> was added); nothing was changed." in (
        job.message
    )
    saved = virsh_saved(net.name)
    assert TFTP in saved and "52:54:00:00:0a:01" not in saved


def test_reviewed_again_after_a_virsh_change_the_edit_goes_through_and_both_are_kept(
    real_host, libvirt_network, tmp_path
):
    net = libvirt_network(start=True)
    base = network_row(real_host, net).saved_xml
    virsh_define(virsh_saved(net.name).replace("<dhcp>", TFTP + "<dhcp>"), tmp_path)
    assert jobs.run(real_host, "update", net.name, **static_host_edit(base, net.subnet)).state == (
        Job.State.FAILED
    )

    # The page opened again: the worker has read the new saved definition into the database.
    again = network_row(real_host, net).saved_xml
    assert TFTP in again, "the database's saved definition is libvirt's, unmodelled parts too"
    job = jobs.run(real_host, "update", net.name, **static_host_edit(again, net.subnet))

    assert job.state == Job.State.SUCCEEDED, job.message
    saved = virsh_saved(net.name)
    assert TFTP in saved and "52:54:00:00:0a:01" in saved
