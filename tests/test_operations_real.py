"""define, update, restart and undefine jobs on the real host (qemu:///system), run by the task
code in this process; one define through a real Celery worker.

Everything is named vnwt…, lives in 10.213.0.0/16 and is removed afterwards, also on failure.
"""

import dataclasses
import random
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from networks import gateway
from networks.jobs import create_job
from networks.models import Host, Job, Network
from networks.spec import DhcpHost, DhcpRange, parse, plan_update, to_xml
from networks.worker.tasks import refresh, run_job
from tests.real import LOCAL_URI, fast_network_spec, wait_for

pytestmark = pytest.mark.libvirt


@pytest.fixture
def someone(db) -> User:
    return User.objects.create_user("vnwt-ops-user")


@pytest.fixture
def made() -> list[str]:
    """Names of networks a test creates through jobs: undefined afterwards, whatever happens."""
    names: list[str] = []
    yield names
    for name in names:
        gateway.undefine_network(LOCAL_URI, name)


def new_network(made: list[str]):
    """A name, bridge and free /24 for a network a job will create."""
    tag = f"{random.randrange(16**6):06x}"
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    used = {int(p.split(".")[2]) for p in out.split() if p.startswith("10.213.")}
    subnet = random.choice([n for n in range(100, 250) if n not in used])
    made.append(f"vnwt-{tag}")
    return fast_network_spec(f"vnwt-{tag}", f"vnwt{tag}", subnet)


def ifindex(bridge: str) -> str:
    return Path(f"/sys/class/net/{bridge}/ifindex").read_text().strip()


def dnsmasq_pid(name: str) -> str:
    return Path(f"/run/libvirt/network/{name}.pid").read_text().strip()


def virsh_names() -> list[str]:
    args = ["virsh", "-c", LOCAL_URI, "net-list", "--all", "--name"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()


def run(user, host: Host, operation: str, network=None, **job_fields) -> Job:
    job = create_job(user, host, operation, network=network, **job_fields)
    run_job(job.pk)
    job.refresh_from_db()
    return job


def edit(user, network: Network, change, *, restart: bool = False) -> Job:
    """An update job as the editor makes it: `change(spec)` applied to the saved definition."""
    network.refresh_from_db()
    base = network.saved_xml
    new = parse(base)
    change(new)
    plan = plan_update(parse(base), new, base=base)
    params = {
        "xml": to_xml(new, base=base),
        "base_xml": base,
        "live": [dataclasses.asdict(u) for u in plan.updates],
        "restart": restart,
    }
    return run(user, network.host, "update", network=network, params=params)


def live_spec(name: str):
    return parse(gateway.network_state(LOCAL_URI, name).xml)


def saved_spec(name: str):
    return parse(gateway.network_config_xml(LOCAL_URI, name))


def test_a_define_job_creates_and_starts_a_nat_network(real_host, someone, made):
    spec = new_network(made)
    params = {"xml": to_xml(spec), "start": True, "autostart": False}
    job = run(someone, real_host, "define", target=spec.name, params=params)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == f"Created {spec.name} and started it."
    assert Path(f"/sys/class/net/{spec.bridge}").exists()
    row = Network.objects.get(host=real_host, name=spec.name)
    assert (row.active, row.mode, row.bridge) == (True, "nat", spec.bridge)
    assert row.config_xml == "", "a network just started runs its saved definition"
    assert job.network == row
    again = run(someone, real_host, "define", target=spec.name, params=params)
    assert "nothing to do" in again.message


def test_a_define_that_cannot_start_fails_in_words_and_leaves_nothing_behind(
    real_host, libvirt_network, someone, made
):
    running = libvirt_network(start=True)
    clash = new_network(made)
    clash.ips = parse(gateway.network_config_xml(LOCAL_URI, running.name)).ips
    params = {"xml": to_xml(clash), "start": True}
    job = run(someone, real_host, "define", target=clash.name, params=params)
    assert job.state == Job.State.FAILED
    assert "already in use" in job.message, job.message  # libvirt's own words
    assert clash.name not in virsh_names()
    assert not Network.objects.filter(name=clash.name).exists()


def test_dhcp_hosts_and_ranges_change_live_while_a_guest_keeps_its_lease(
    real_host, libvirt_network, namespace_guest, someone
):
    net = libvirt_network(start=True)  # range .100-.150
    prefix = f"10.213.{net.subnet}"
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    guest = namespace_guest(net.bridge, hostname="vnwt-stay")

    def guest_lease():
        leases = gateway.network_state(LOCAL_URI, net.name).leases or ()
        return next((lease for lease in leases if lease.mac == guest.mac), None)

    before = wait_for(guest_lease, timeout=20, message="the guest got no lease")
    bridge, pid = ifindex(net.bridge), dnsmasq_pid(net.name)

    fixed = DhcpHost(mac="52:54:00:21:3b:07", name="vnwt-fixed", ip=f"{prefix}.20")
    job = edit(someone, network, lambda spec: spec.ips[0].dhcp_hosts.append(fixed))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert job.message == f"Changed {net.name} while it runs (1 change), without a restart."
    assert dnsmasq_pid(net.name) == pid, "a static host only makes dnsmasq re-read its hosts"

    more = DhcpRange(f"{prefix}.160", f"{prefix}.199", lease_minutes=2)
    job = edit(someone, network, lambda spec: spec.ips[0].dhcp_ranges.append(more))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "without a restart" in job.message

    for spec in (live_spec(net.name), saved_spec(net.name)):
        assert spec.ips[0].dhcp_hosts == [fixed]
        assert [(r.start, r.end) for r in spec.ips[0].dhcp_ranges] == [
            (f"{prefix}.100", f"{prefix}.150"),
            (f"{prefix}.160", f"{prefix}.199"),
        ]
    assert ifindex(net.bridge) == bridge, "the network was not restarted"
    assert Path(f"/sys/class/net/{net.bridge}/brif").exists()
    assert guest.process.poll() is None
    after = guest_lease()
    assert after is not None and after.ip == before.ip, "the guest kept its lease"
    network.refresh_from_db()
    assert network.config_differs is False


def test_a_change_that_needs_a_restart_is_saved_and_waits_for_one(
    real_host, libvirt_network, someone
):
    net = libvirt_network(start=True)  # stp off
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    bridge = ifindex(net.bridge)

    job = edit(someone, network, lambda spec: setattr(spec, "stp", True))
    assert job.state == Job.State.SUCCEEDED, job.message
    assert "restart needed" in job.message and "STP" in job.message
    assert (live_spec(net.name).stp, saved_spec(net.name).stp) == (False, True)
    assert ifindex(net.bridge) == bridge
    network.refresh_from_db()
    assert network.config_differs is True
    assert parse(network.saved_xml).stp is True

    job = run(someone, real_host, "restart", network=network)
    assert job.message == f"Restarted {net.name}."
    assert live_spec(net.name).stp is True
    assert ifindex(net.bridge) != bridge, "a restart makes the bridge anew"
    network.refresh_from_db()
    assert network.config_differs is False


def test_an_edit_applied_with_a_restart_runs_at_once(real_host, libvirt_network, someone):
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    job = edit(someone, network, lambda spec: setattr(spec, "mtu", 9000), restart=True)
    assert job.message == f"Saved and restarted {net.name}.", job.message
    assert live_spec(net.name).mtu == 9000


def test_an_edit_that_does_not_start_puts_the_old_definition_back(
    real_host, libvirt_network, someone
):
    other = libvirt_network(start=True)
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    before = saved_spec(net.name)
    clash = saved_spec(other.name).ips

    job = edit(someone, network, lambda spec: setattr(spec, "ips", clash), restart=True)
    assert job.state == Job.State.FAILED
    assert "already in use" in job.message and "put back" in job.message, job.message
    assert gateway.network_state(LOCAL_URI, net.name).active is True
    assert saved_spec(net.name) == before
    assert live_spec(net.name).ips == before.ips


def test_a_failed_live_update_is_rolled_back_on_the_host(real_host, libvirt_network, someone):
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    before_live, before_saved = live_spec(net.name), saved_spec(net.name)
    host = DhcpHost(mac="52:54:00:21:3b:08", name="vnwt-twice", ip=f"10.213.{net.subnet}.21")
    base = network.saved_xml
    new = parse(base)
    new.ips[0].dhcp_hosts.append(host)
    update = dataclasses.asdict(plan_update(parse(base), new, base=base).updates[0])
    params = {"xml": to_xml(new, base=base), "base_xml": base, "live": [update, update]}
    job = run(someone, real_host, "update", network=network, params=params)
    assert job.state == Job.State.FAILED
    assert "existing dhcp host entry" in job.message, job.message
    assert (live_spec(net.name), saved_spec(net.name)) == (before_live, before_saved)


def test_an_undefine_job_stops_and_removes_the_network(real_host, libvirt_network, someone):
    net = libvirt_network(start=True)
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    job = run(someone, real_host, "undefine", network=network)
    assert job.state == Job.State.SUCCEEDED, job.message
    assert net.name not in virsh_names()
    assert not Path(f"/sys/class/net/{net.bridge}").exists()
    assert not Network.objects.filter(pk=network.pk).exists()


@pytest.fixture
def vnwt_bridge_with_port():
    """A Linux bridge with one veth end in it, made for the test and deleted afterwards."""
    tag = f"{random.randrange(16**6):06x}"
    bridge, end, peer = f"vnwtbr{tag}", f"vnwtva{tag}", f"vnwtvb{tag}"
    try:
        for args in (
            ["link", "add", bridge, "type", "bridge"],
            ["link", "add", end, "type", "veth", "peer", "name", peer],
            ["link", "set", end, "master", bridge],
        ):
            subprocess.run(["ip", *args], check=True, capture_output=True)
        yield bridge, end
    finally:
        for name in (end, bridge):
            subprocess.run(["ip", "link", "del", name], capture_output=True)


def test_a_refresh_reads_the_hosts_bridges_nics_and_routes(real_host, vnwt_bridge_with_port):
    bridge, port = vnwt_bridge_with_port
    assert refresh(real_host) is None
    real_host.refresh_from_db()
    bridges = {b["name"]: b for b in real_host.bridges}
    assert bridges[bridge]["ports"] == [port]
    interfaces = {i["name"]: i for i in real_host.interfaces}
    assert (interfaces[port]["kind"], interfaces[port]["master"]) == ("veth", bridge)
    assert "lo" not in interfaces and bridge not in interfaces
    default = [r for r in real_host.routes if r["dst"] in ("0.0.0.0/0", "::/0")]
    assert default and all(r["dev"] for r in default)


@pytest.mark.worker
def test_a_celery_worker_defines_a_network_from_its_hosts_queue(
    real_host, celery_worker_process, made
):
    spec = new_network(made)
    celery_worker_process(real_host.name)
    user = User.objects.create_user("vnwt-ops-worker")
    params = {"xml": to_xml(spec), "start": True, "autostart": True}
    job = create_job(user, real_host, "define", target=spec.name, params=params)

    def finished() -> Job | None:
        job.refresh_from_db()
        return job if job.is_finished else None

    wait_for(finished, timeout=60, message="the worker did not finish the define job")
    assert job.state == Job.State.SUCCEEDED, job.message
    state = gateway.network_state(LOCAL_URI, spec.name)
    assert (state.active, state.autostart) == (True, True)
    assert Network.objects.get(host=real_host, name=spec.name).active is True
