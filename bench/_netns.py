"""Network namespaces of the benches' own, for hosts and workers "on other machines".

Everything here is named vnwt… (namespaces, veths, bridges: at most 15 characters), lives in
10.213.252.0/22, and is removed by `remove()` / the context managers, also on failure. Needs root
and iproute2 (plus nft for `drop`).

    with bridge("vnwtfbr") as hub:                 # 10.213.253.1/24 on the host side
        ns = hub.attach("vnwtfw1")                 # namespace + veth, 10.213.253.N/24 inside
        ns.exec(["redis-cli", "-h", hub.address, "ping"])
        ns.cut(); ns.restore()                     # the veth's host end down / up

`bridge(name, network)` takes another /24 (the test uses 10.213.254.0/24, so that it and the
bench can run at once). `pair(name)` makes a namespace joined to the host by a veth of its own,
with a private /30 (no bridge): a fake remote host whose input `drop()` drops in the namespace's
own nftables.
"""

import ipaddress
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from _procs import stop

REPO = Path(__file__).resolve().parent.parent
PAIRS = ipaddress.ip_network("10.213.252.0/24")  # /30s for fake hosts (pair)
HUB = ipaddress.ip_network("10.213.253.0/24")  # one bridge for namespaced workers (bridge)
DROP_TABLE = "vnwtdrop"


def ip(*args: str) -> None:
    """`ip ARGS`, failing with iproute2's own words."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _quiet_ip(*args: str) -> None:
    subprocess.run(["ip", *args], capture_output=True)


def used_addresses() -> set[ipaddress.IPv4Address]:
    """IPv4 addresses on this machine's links (the host's namespace only)."""
    out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
    found = set()
    for word in out.split():
        with suppress(ValueError):
            found.add(ipaddress.ip_interface(word).ip)
    return found


def _free_slash30() -> ipaddress.IPv4Network:
    used = used_addresses()
    for subnet in PAIRS.subnets(new_prefix=30):
        if not set(subnet) & used:
            return subnet
    raise RuntimeError(f"no free /30 left in {PAIRS}")


@dataclass
class Namespace:
    """A namespace joined to the host by a veth: `host_end` in the host's namespace, eth0 inside."""

    name: str
    host_end: str
    address: str  # the namespace's own address
    host_address: str  # the host end's address (or the bridge's)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def exec(self, argv: list[str], **popen) -> subprocess.Popen:
        """Start `argv` inside the namespace in a process group of its own; stopped by remove()."""
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv], start_new_session=True, **popen
        )
        self.processes.append(proc)
        return proc

    def run(self, argv: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True
        )

    def forwarder(self, ports: list[int]) -> subprocess.Popen:
        """bench/_forward.py inside the namespace: libvirtd's read-only socket on each port of
        the namespace's address."""
        proc = self.exec(forwarder_argv(self.address, ports), stdout=subprocess.DEVNULL)
        for port in ports:
            wait_listening(self, self.address, port)
        return proc

    def drop(self) -> None:
        """Drop every packet that comes into the namespace: connections to it hang, not fail."""
        rules = (
            f"table inet {DROP_TABLE} {{\n chain input {{\n"
            "  type filter hook input priority -10; policy drop;\n }\n}\n"
        )
        done = subprocess.run(
            ["ip", "netns", "exec", self.name, "nft", "-f", "-"],
            input=rules,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"nft in {self.name}: {done.stderr.strip()}")

    def undrop(self) -> None:
        self.run(["nft", "delete", "table", "inet", DROP_TABLE])

    def cut(self) -> None:
        """The link between the namespace and the host goes down (the host end)."""
        ip("link", "set", self.host_end, "down")

    def restore(self) -> None:
        ip("link", "set", self.host_end, "up")

    def stop_processes(self) -> None:
        for proc in self.processes:
            stop(proc)
        self.processes.clear()

    def remove(self) -> None:
        """Its processes, the namespace and the veth (deleting one end deletes the pair)."""
        self.stop_processes()
        _quiet_ip("netns", "del", self.name)
        _quiet_ip("link", "del", self.host_end)


def forwarder_argv(address: str, ports: list[int]) -> list[str]:
    """The command line of bench/_forward.py listening on ADDRESS at each port."""
    forward = REPO / "bench" / "_forward.py"
    return [sys.executable, str(forward), address, ",".join(map(str, ports))]


def wait_listening(ns: Namespace | None, address: str, port: int, timeout: float = 10) -> None:
    """Until something accepts TCP connections at ADDRESS:PORT (inside `ns`, if given)."""
    probe = (
        "import socket,sys; s=socket.socket(); s.settimeout(0.5); "
        "sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))"
    )
    argv = [sys.executable, "-c", probe, address, str(port)]
    if ns is not None:
        argv = ["ip", "netns", "exec", ns.name, *argv]
    deadline = time.monotonic() + timeout
    while subprocess.run(argv, capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on {address}:{port} after {timeout:g} s")
        time.sleep(0.1)


def _veth_into(name: str, host_end: str, address: str) -> None:
    """Namespace `name` with eth0 (the peer of `host_end`) at `address` (CIDR), lo up."""
    ip("netns", "add", name)
    ip("link", "add", host_end, "type", "veth", "peer", "name", f"{host_end}p")
    ip("link", "set", f"{host_end}p", "netns", name)
    ip("-n", name, "link", "set", f"{host_end}p", "name", "eth0")
    ip("-n", name, "addr", "add", address, "dev", "eth0")
    ip("-n", name, "link", "set", "eth0", "up")
    ip("-n", name, "link", "set", "lo", "up")


def pair(name: str) -> Namespace:
    """Namespace `name` (vnwt…) joined to the host by its own veth and a private /30: the host
    end has the first address, the namespace the second. Remove it with `remove()`."""
    if not name.startswith("vnwt") or len(name) > 12:
        raise ValueError(f"namespace names are vnwt… of at most 12 characters, not {name!r}")
    subnet = _free_slash30()
    host_addr, ns_addr = list(subnet.hosts())
    ns = Namespace(name, f"{name}h", str(ns_addr), str(host_addr))
    try:
        _veth_into(name, ns.host_end, f"{ns_addr}/30")
        ip("addr", "add", f"{host_addr}/30", "dev", ns.host_end)
        ip("link", "set", ns.host_end, "up")
    except BaseException:
        ns.remove()
        raise
    return ns


@dataclass
class Hub:
    """A Linux bridge on the host with the first address of `network`; namespaces attached to it
    get the next ones. Services bound to `address` are reached from every attached namespace."""

    name: str
    network: ipaddress.IPv4Network = HUB
    attached: list[Namespace] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(self.network.network_address + 1)

    def attach(self, name: str) -> Namespace:
        if not name.startswith("vnwt") or len(name) > 12:
            raise ValueError(f"namespace names are vnwt… of at most 12 characters, not {name!r}")
        address = self.network.network_address + 2 + len(self.attached)
        ns = Namespace(name, f"{name}h", str(address), self.address)
        self.attached.append(ns)
        _veth_into(name, ns.host_end, f"{address}/{self.network.prefixlen}")
        ip("link", "set", ns.host_end, "master", self.name, "up")
        return ns


@contextmanager
def bridge(name: str = "vnwtfbr", network: str = str(HUB)) -> Iterator[Hub]:
    """The hub bridge (the network's first address), removed with every namespace attached to
    it. Another run using the same network (the bench and a test at once) is refused."""
    hub = Hub(name, ipaddress.ip_network(network))
    if set(hub.network) & used_addresses():
        raise RuntimeError(f"{network} is in use on this machine (another run of the bench?)")
    try:
        ip("link", "add", name, "type", "bridge")
        ip("addr", "add", f"{hub.address}/{hub.network.prefixlen}", "dev", name)
        ip("link", "set", name, "up")
        yield hub
    finally:
        for ns in hub.attached:
            ns.remove()
        _quiet_ip("link", "del", name)
