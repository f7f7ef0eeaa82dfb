"""What tests/test_forwards_real.py needs on the real host: a NAT switch of its own with a
reservation, namespace guests (one serving TCP and UDP on port 80, one neighbour), a namespace
playing the LAN, a real Celery worker for the host with its monitor, and the forwards' jobs as
the pages make them. `build` registers every removal on an ExitStack as it goes, so whatever
fails, everything made is removed, the worker first (it would write the rules back), our VNWT
chains last.
"""

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User

from networks import gateway, operations, permissions
from networks.gateway import forwards as fw
from networks.jobs import create_job
from networks.models import Host, Job, Network, PortForward
from networks.operations import Op
from networks.spec import DhcpHost, to_xml
from tests import forward_traffic as traffic
from tests.real import (
    LOCAL_URI,
    REPO,
    NamespaceGuest,
    TestNetwork,
    fast_network_spec,
    free_subnet,
    random_mac,
    remove_namespace_guest,
    start_namespace_guest,
    virsh,
    wait_for,
)

PREFIX = "VNWT"  # tests.settings.VNETWEB_FORWARD_CHAINS: the tests check the worker writes these
SWITCH_SECONDS = 2  # the worker's survey: how soon it puts flushed rules back
HOST_PORT, GUEST_PORT = 8080, 80
MENDED = "were not in place: writing them again"  # networks.worker.forwards.ensure's log line

# udhcpc's event script for these guests: their address, and a default route through the switch,
# since the forward's answers go back to callers outside the switch's subnet.
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew)
    ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface" ;;
esac
exit 0
"""


@dataclass
class Switch:
    """The test's switch on the real host, served by a worker, and its forwards' jobs."""

    host: Host
    user: User
    net: TestNetwork
    log: Path  # the worker's log

    @property
    def gateway_ip(self) -> str:
        return self.net.gateway_ip

    @property
    def web_ip(self) -> str:
        return f"10.213.{self.net.subnet}.10"

    def network(self) -> Network:
        return Network.objects.get(host=self.host, name=self.net.name)

    def forwards(self) -> list[PortForward]:
        return list(PortForward.objects.filter(network__name=self.net.name).order_by("pk"))

    def job(self, op: Op, **params) -> Job:
        """The job as the pages make it: the user's right checked, then create_job."""
        network = self.network()
        permissions.require(self.user, operations.get(op), network)
        return create_job(self.user, self.host, op, network=network, params=params or None)

    def add(self, protocol: str) -> Job:
        return self.job(
            Op.FORWARD_ADD,
            protocol=protocol,
            listen="",
            host_port=HOST_PORT,
            host_port_end=None,
            guest_ip=self.web_ip,
            guest_port=GUEST_PORT,
            guest_port_end=None,
        )

    def succeeded(self, job: Job) -> Job:
        done = wait_for(
            lambda: (j := Job.objects.get(pk=job.pk)).is_finished and j,
            timeout=60,
            interval=0.05,
            message=f"{job.operation} did not finish",
        )
        assert done.state == Job.State.SUCCEEDED, done.message
        return done

    def mended(self) -> int:
        return self.log.read_text().count(MENDED)

    def undefine(self, domain: str) -> None:
        """The guest goes, and its NIC with it. (A NIC detached from a stopped guest's definition
        sends no libvirt event, measured on libvirt 9: only the next refresh would see it.)"""
        virsh("undefine", domain)


@dataclass
class Lan:
    namespace: str
    host_end: str
    ip: str  # the LAN namespace's own address
    host_ip: str  # the host's address on the LAN


@dataclass
class World(Switch):
    """The switch with a web guest, its neighbour and the LAN."""

    web: NamespaceGuest | None = None
    neighbour: NamespaceGuest | None = None
    lan: Lan | None = None

    @property
    def lan_host_ip(self) -> str:
        return self.lan.host_ip

    def reach(self, protocol: str, address: str, namespace: str | None = None):
        """(server, port, the caller it saw) of the answer to the forward's port, or None."""
        answer = traffic.reach(protocol, address, HOST_PORT, namespace)
        return answer and (answer.server, answer.port, answer.peer)

    def replug(self) -> None:
        for guest in (self.web, self.neighbour):
            traffic.run("ip", "link", "set", guest.host_end, "master", self.net.bridge, "up")

    def flush_by_hand(self) -> None:
        traffic.run("iptables", "-t", "nat", "-F", f"{PREFIX}_PRE")
        traffic.run("iptables", "-F", f"{PREFIX}_FWD")

    def restart_libvirtd(self) -> float:
        """Stop libvirtd (by the pid in its pidfile) and start it again, as
        tests/test_monitor_real.py does; returns when it was started again (time.monotonic)."""
        pid = int(Path("/run/libvirtd.pid").read_text())
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not _alive(pid), message="libvirtd did not stop")
        started = time.monotonic()
        subprocess.run(["libvirtd", "-d"], check=True)
        wait_for(lambda: virsh("net-info", self.net.name, check=False), timeout=30)
        return started


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def until_reached(world: World, started: float, protocol: str, timeout: float = 20) -> float:
    """Seconds from `started` (time.monotonic) to the first answer from the LAN."""
    wait_for(
        lambda: world.reach(protocol, world.lan_host_ip, world.lan.namespace),
        timeout=timeout,
        interval=0.02,
        message=f"no {protocol} answer from the LAN within {timeout} s",
    )
    return time.monotonic() - started


@contextlib.contextmanager
def survey_mends(world: Switch) -> Iterator:
    """Yields a check: whether the worker's survey wrote the forwards again since entering."""
    before = world.mended()
    yield lambda: world.mended() > before


def switch(stack: contextlib.ExitStack, reserved_mac: str) -> TestNetwork:
    """A started NAT switch (fast DHCP) whose .10 is reserved for `reserved_mac`."""
    tag = f"{random.randrange(16**6):06x}"
    net = TestNetwork(name=f"vnwt-{tag}", bridge=f"vnwt{tag}", subnet=free_subnet())
    spec = fast_network_spec(net.name, net.bridge, net.subnet)
    spec.ips[0].dhcp_hosts = [
        DhcpHost(mac=reserved_mac, ip=f"10.213.{net.subnet}.10", name="vnwt-web")
    ]
    stack.callback(gateway.undefine_network, LOCAL_URI, net.name)
    gateway.define_network(LOCAL_URI, to_xml(spec), start=True)
    return net


def _saved(word: str) -> list[str]:
    saved = subprocess.run(["iptables-save"], check=True, capture_output=True, text=True).stdout
    return [line for line in saved.splitlines() if word in line]


def ours_in_firewall() -> list[str]:
    """Every line of iptables-save that names one of our chains: the test's own reading."""
    return _saved(f"{PREFIX}_")


def keep_firewall_clean(stack: contextlib.ExitStack) -> None:
    """Our VNWT chains go last; a site's VNETWEB_* rules are checked to be as they were."""

    def site() -> list[str]:
        return _saved("VNETWEB")

    before = site()

    def clean() -> None:
        fw.apply([], PREFIX)
        assert site() == before, "a site's VNETWEB_* rules changed"

    stack.callback(clean)


def serve_host(
    stack: contextlib.ExitStack,
    host,
    celery_worker_process,
    net: TestNetwork,
    seconds: int = SWITCH_SECONDS,
) -> Path:
    """The worker for the host, surveying every `seconds` (0: back to back), stopped first of
    all at the end (it would put rules back); returns its log once it surveyed the switch (a
    forward needs the host's side seen)."""
    worker = celery_worker_process(host.name, pool="threads", VNETWEB_SWITCH_SECONDS=str(seconds))
    stack.callback(lambda: (worker.terminate(), worker.wait(15)))
    wait_for(
        lambda: (row := Network.objects.filter(host=host, name=net.name).first())
        and (row.switch or {}).get("local"),
        timeout=60,
        message="the worker never surveyed the switch",
    )
    return REPO / "var" / "test-worker-1.log"


def guest(stack, net: TestNetwork, script: Path, name: str, mac: str = "") -> NamespaceGuest:
    made = start_namespace_guest(net.bridge, script, name, mac)
    stack.callback(remove_namespace_guest, made)
    wait_for(
        lambda: "default" in _out("ip", "-n", made.namespace, "route", "show", "default"),
        timeout=20,
        message=f"{name} got no lease",
    )
    return made


def address_of(guest: NamespaceGuest) -> str:
    out = _out("ip", "-n", guest.namespace, "-4", "-o", "addr", "show", "dev", "eth0")
    return out.split()[3].split("/")[0]


def _out(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True).stdout


def lan(stack: contextlib.ExitStack) -> Lan:
    subnet = free_subnet()
    host_ip, ip = f"10.213.{subnet}.1", f"10.213.{subnet}.2"
    namespace, host_end = traffic.linked_namespace(f"{ip}/24", host_ip)
    stack.callback(traffic.remove_namespace, namespace, host_end)
    return Lan(namespace, host_end, ip, host_ip)


def build(stack, host, user, celery_worker_process, tmp_path: Path) -> World:
    keep_firewall_clean(stack)
    web_mac = random_mac()
    net = switch(stack, web_mac)
    script = tmp_path / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    web = guest(stack, net, script, "vnwt-web", web_mac)
    assert address_of(web) == f"10.213.{net.subnet}.10", "the reservation was not given"
    neighbour = guest(stack, net, script, "vnwt-neighbour")
    server = traffic.serve(web.namespace, "web", GUEST_PORT)
    stack.callback(traffic.stop, server)
    world = World(host, user, net, Path(), web, neighbour, lan(stack))
    world.log = serve_host(stack, host, celery_worker_process, net)
    return world
