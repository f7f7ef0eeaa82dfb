"""The switch editor end to end on the real host: the page's form, its job, the worker's code
(run here), and libvirtd, dnsmasq and the kernel's bridges as witnesses."""

import random
import subprocess
from pathlib import Path

import pytest

from networks.jobs import create_job
from networks.models import Job, Lease, Network
from networks.spec import parse, to_xml
from networks.spec_compare import same_spec
from networks.worker.tasks import refresh, run_job
from tests.real import LOCAL_URI, free_subnet, wait_for
from tests.test_gateway_real import virsh_state
from tests.test_switch_views import create_url, edit_data, edit_url, form_data, review_and_apply

pytestmark = pytest.mark.libvirt


def virsh_xml(name: str, *, inactive: bool = False) -> str:
    args = ["virsh", "-c", LOCAL_URI, "net-dumpxml", name] + (["--inactive"] if inactive else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def ifindex(bridge: str) -> str:
    return Path(f"/sys/class/net/{bridge}/ifindex").read_text().strip()


def run_last_job() -> Job:
    job = Job.objects.latest("created")
    run_job(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    return job


@pytest.mark.parametrize("mode", ["nat", "route", "isolated", "open", "bridge", "macvtap"])
def test_each_mode_is_drawn_in_the_form_and_runs_on_the_host(
    real_host, admin, client_as, switch_names, host_links, mode
):
    tag = f"{random.randrange(16**6):06x}"
    name, third = f"vnwt-{tag}", free_subnet()
    data = form_data(
        name=name,
        mode=mode,
        bridge=f"vnwt{tag}",
        stp=None,
        ipv4_network=f"10.213.{third}.0/24",
        ipv4_gateway=f"10.213.{third}.1",
        ipv4_ranges=f"10.213.{third}.100 10.213.{third}.150",
    )
    if mode == "bridge":
        data.update(host_bridge=host_links.bridge(), ipv4_network="", ipv4_ranges="")
    if mode == "macvtap":
        data.update(forward_interfaces=host_links.veth(), macvtap_mode="bridge", ipv4_network="")
    refresh(real_host)  # the worker's inventory: the host's bridges and NICs, as the form sees them
    switch_names.append(name)

    response = review_and_apply(client_as(admin), create_url(real_host), data)
    assert response.status_code == 302
    job = run_last_job()
    assert virsh_state(name) == ("active", "yes"), job.message
    running = parse(virsh_xml(name))
    assert running.mode == mode
    if mode == "bridge":
        assert running.bridge == data["host_bridge"]
    elif mode == "macvtap":
        assert running.forward_interfaces == [data["forward_interfaces"]]
    else:
        assert running.ips[0].cidr == f"10.213.{third}.1/24"
        assert Path(f"/sys/class/net/vnwt{tag}").exists()
    assert Network.objects.get(host=real_host, name=name).active is True


def test_static_hosts_and_ranges_change_live_and_guests_get_leases_without_a_restart(
    real_host, libvirt_network, namespace_guest, admin, client_as
):
    net = libvirt_network(start=True)  # range .100-.150, fast DHCP settings
    prefix = f"10.213.{net.subnet}"
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    first = namespace_guest(net.bridge, hostname="vnwt-first")

    def lease_of(mac: str):
        refresh(real_host)
        return Lease.objects.filter(network__name=net.name, mac=mac).first()

    wait_for(lambda: lease_of(first.mac), timeout=20, message="the first guest got no lease")
    bridge_before = ifindex(net.bridge)

    reserved_mac = "52:54:00:21:3b:07"
    data = edit_data(
        network,
        ipv4_hosts=f"{reserved_mac} vnwt-fixed {prefix}.20",
        ipv4_ranges=f"{prefix}.160 {prefix}.199",
    )
    review_and_apply(client_as(admin), edit_url(network), data)
    job = run_last_job()
    assert "restart" not in job.message.lower() or "without" in job.message.lower(), job.message

    live = parse(virsh_xml(net.name))
    assert [(h.mac, h.ip) for h in live.ips[0].dhcp_hosts] == [(reserved_mac, f"{prefix}.20")]
    assert [(r.start, r.end) for r in live.ips[0].dhcp_ranges] == [
        (f"{prefix}.160", f"{prefix}.199")
    ]
    saved = parse(virsh_xml(net.name, inactive=True))
    assert same_spec(saved, live), "saved and running config differ"
    # Not restarted: the same bridge, and the first guest's port never left it.
    assert ifindex(net.bridge) == bridge_before
    assert Path(f"/sys/class/net/{net.bridge}/brif/{first.host_end}").exists()

    fixed = namespace_guest(net.bridge, hostname="vnwt-fixed", mac=reserved_mac)
    lease = wait_for(lambda: lease_of(fixed.mac), timeout=20, message="the reserved guest got none")
    assert lease.ip == f"{prefix}.20"
    other = namespace_guest(net.bridge, hostname="vnwt-other")
    lease = wait_for(lambda: lease_of(other.mac), timeout=20, message="a new guest got no lease")
    assert 160 <= int(lease.ip.rsplit(".", 1)[1]) <= 199


def test_a_change_that_needs_a_restart_is_saved_first_and_applied_by_a_restart(
    real_host, libvirt_network, admin, client_as
):
    net = libvirt_network(start=True)  # stp off
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    client = client_as(admin)
    before = ifindex(net.bridge)

    review_and_apply(client, edit_url(network), edit_data(network, stp="on"))
    job = run_last_job()
    assert "restart" in job.message.lower(), job.message
    assert parse(virsh_xml(net.name)).stp is False, "the running switch must not change yet"
    assert parse(virsh_xml(net.name, inactive=True)).stp is True
    assert ifindex(net.bridge) == before
    refresh(real_host)
    page = client.get(network.get_absolute_url()).content.decode()
    assert "differs from the saved" in page

    network.refresh_from_db()
    review_and_apply(client, edit_url(network), edit_data(network, mtu="9000"), button="restart")
    run_last_job()
    running = parse(virsh_xml(net.name))
    assert (running.stp, running.mtu) == (True, 9000)
    assert virsh_state(net.name)[0] == "active"
    assert ifindex(net.bridge) != before, "a restart makes the bridge anew"


def test_deleting_from_the_page_stops_and_undefines_the_switch(
    real_host, libvirt_network, admin, client_as
):
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    client_as(admin).post(f"/hosts/{real_host.name}/networks/{net.name}/delete/")
    run_last_job()
    names = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-list", "--all", "--name"], capture_output=True, text=True
    ).stdout.split()
    assert net.name not in names
    assert not Network.objects.filter(pk=network.pk).exists()


def test_a_libvirt_failure_is_shown_in_words_and_leaves_the_host_as_it_was(
    real_host, libvirt_network, admin, client_as, switch_names
):
    # Same subnet as a running network: only libvirt notices, when it starts the new one.
    net = libvirt_network(start=True)
    refresh(real_host)
    tag = f"{random.randrange(16**6):06x}"
    switch_names.append(f"vnwt-{tag}")
    clash = parse(virsh_xml(net.name, inactive=True))
    clash.name, clash.uuid, clash.bridge, clash.mac = f"vnwt-{tag}", None, f"vnwt{tag}", ""
    job = create_job(
        admin,
        real_host,
        "define",
        target=clash.name,
        params={"xml": to_xml(clash), "start": True, "autostart": False},
    )
    run_job(job.pk)
    job.refresh_from_db()
    assert job.state == Job.State.FAILED
    assert "in use" in job.message.lower() or "already" in job.message.lower(), job.message
    names = subprocess.run(
        ["virsh", "-c", LOCAL_URI, "net-list", "--all", "--name"], capture_output=True, text=True
    ).stdout.split()
    assert f"vnwt-{tag}" not in names, "a failed create must not leave a defined network behind"
