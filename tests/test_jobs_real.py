"""Jobs carried out by the task code on the real host (in this process; see test_worker_real for
the same through a Celery worker over Redis)."""

import pytest
from django.contrib.auth.models import User

from networks.jobs import create_job
from networks.models import Job, Network
from networks.operations import Op
from networks.worker.tasks import refresh, run_job
from tests.test_gateway_real import virsh_state

pytestmark = pytest.mark.libvirt


@pytest.fixture
def someone(db) -> User:
    return User.objects.create_user("vnwt-someone")


def test_refresh_records_the_hosts_networks(real_host, libvirt_network):
    net = libvirt_network(start=True)
    assert refresh(real_host) is None
    row = Network.objects.get(host=real_host, name=net.name)
    assert row.active is True
    assert row.mode == "nat"
    assert row.bridge == net.bridge
    assert row.ipv4 == f"10.213.{net.subnet}.1/24"
    assert row.dhcp_ranges == f"10.213.{net.subnet}.100-10.213.{net.subnet}.150"
    assert row.leases_seen is not None
    real_host.refresh_from_db()
    assert real_host.reachable is True and real_host.hypervisor == "QEMU"


def run_on(host, name: str, operation: Op, user: User) -> tuple[Job, Network]:
    """Read the host, then create the job as a page would and run its task here."""
    refresh(host)
    network = Network.objects.get(host=host, name=name)
    job = create_job(user, host, operation, network=network)
    run_job(job.pk)
    job.refresh_from_db()
    return job, network


def test_a_start_job_starts_the_network_and_the_row_follows(real_host, libvirt_network, someone):
    net = libvirt_network()
    job, network = run_on(real_host, net.name, Op.START, someone)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert virsh_state(net.name)[0] == "active"
    network.refresh_from_db()
    assert network.active is True
    # Running the same task again changes nothing: the job was claimed already.
    run_job(job.pk)
    job.refresh_from_db()
    assert job.attempts == 1


def test_a_stop_job_on_a_stopped_network_is_a_no_op(real_host, libvirt_network, someone):
    net = libvirt_network()
    job, _ = run_on(real_host, net.name, Op.STOP, someone)
    assert job.state == Job.State.SUCCEEDED
    assert "nothing to do" in job.message
    assert virsh_state(net.name)[0] == "inactive"


def test_a_network_that_fails_to_start_fails_the_job_in_words(real_host, libvirt_network, someone):
    first = libvirt_network(start=True)
    # A second network on the same subnet is accepted at define but cannot start.
    clash = libvirt_network()
    from networks import gateway
    from networks.spec import to_xml
    from tests.real import LOCAL_URI, fast_network_spec

    gateway.undefine_network(LOCAL_URI, clash.name)
    gateway.define_network(
        LOCAL_URI, to_xml(fast_network_spec(clash.name, clash.bridge, first.subnet))
    )
    job, _ = run_on(real_host, clash.name, Op.START, someone)
    assert job.state == Job.State.FAILED
    assert "already in use" in job.message  # libvirt's own words
    assert virsh_state(clash.name)[0] == "inactive"


def test_a_viewer_who_posts_stop_anyway_is_refused_and_the_network_keeps_running(
    real_host, libvirt_network, viewer, client_as
):
    net = libvirt_network(start=True)
    refresh(real_host)
    response = client_as(viewer).post(f"/hosts/{real_host.name}/networks/{net.name}/stop/")
    assert response.status_code == 403
    assert not Job.objects.exists()
    assert virsh_state(net.name)[0] == "active"
