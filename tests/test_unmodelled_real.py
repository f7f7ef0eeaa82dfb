"""On the real libvirt host: libvirt keeps a newline in <tftp root> (it would reach dnsmasq's
configuration as a line of its own), and vnetweb's worker refuses to send one.

The networks are vnwt-…, stopped (dnsmasq never runs here), and undefined after the test.
"""

import pytest

from networks import gateway
from networks.models import Job, Network
from networks.spec import parse, to_xml
from networks.worker import tasks
from tests.real import LOCAL_URI

pytestmark = pytest.mark.libvirt

TFTP_NEWLINE = "<tftp root='/srv&#10;conf-script=id &gt;/tmp/vnwt-x'/>"


def saved(name: str) -> str:
    info = gateway.find_network(LOCAL_URI, name)
    return info.config_xml or info.xml


def test_the_worker_refuses_what_libvirt_itself_would_take(real_host, libvirt_network):
    net = libvirt_network()
    tasks.refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    before = saved(net.name)
    spec = parse(before)
    spec.stp = True  # a modelled change carries the unmodelled addition along
    hostile = to_xml(spec, base=before).replace("<dhcp>", TFTP_NEWLINE + "<dhcp>")
    job = Job.objects.create(
        username="netadmin",
        host=real_host,
        network=network,
        target=net.name,
        operation="update",
        params={"xml": hostile, "base_xml": before, "restart": True},
    )
    tasks.run_job(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "the root= attribute of <tftp>" in job.message
    assert "holds a control character" in job.message
    assert saved(net.name) == before, "nothing reached libvirt"
    # The witness: libvirt (define with validation) takes the same XML and keeps the newline.
    gateway.define_network(LOCAL_URI, hostile)
    assert "<tftp root='/srv\nconf-script=id &gt;/tmp/vnwt-x'/>" in saved(net.name)
