"""The fleet's simulated hosts: a libvirt test-driver host description per host (bench/fleet.py).

Each file is a `<node>` (libvirt's test driver format, as networks/demo/demo-host.xml) with
NETWORKS networks in every forward mode and GUESTS guests with one or two NICs on them. Subnets are
distinct across the whole fleet (network k of the fleet is 10.(16 + k // 256).(k % 256).0/24),
so a subnet search finds one network. Names start with `vnwt` (the shared machine's rule for
anything a test makes, although the test driver creates nothing on the machine):

    host n  -> vnwt-fKK-JJJ   (worker KK = n // HOSTS_PER_WORKER serves vnwt-fKK-*)
    network -> vnwt-fKK-JJJ-nII (unique in the fleet: a row is found by its name alone)

Networks whose index is in STOPPED are stopped by the bench through the site once the workers
have read them (the test driver starts every network of its file, and its state lives in the
worker process, so only the worker can stop them).
"""

import ipaddress
import uuid
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

NETWORKS = 25
GUESTS = 10
HOSTS_PER_WORKER = 25
# nat, route, isolated, open carry an IPv4 subnet with DHCP; bridge and macvtap use the host's.
MODES = ("nat", "route", "isolated", "open", "nat", "bridge", "macvtap", "route", "isolated")
DHCP_MODES = {"nat", "route", "isolated", "open"}
STOPPED = {2, 7, 12, 17, 22}  # 5 of 25 networks per host are inactive
STATIC_HOSTS = 2  # <host> reservations per DHCP network (for the first guests' MACs)


@dataclass(frozen=True)
class NetPlan:
    """What the bench knows of one generated network (for leases and picking targets)."""

    name: str
    mode: str
    subnet: ipaddress.IPv4Network | None
    stopped: bool

    @property
    def dhcp(self) -> bool:
        return self.subnet is not None


def host_name(n: int) -> str:
    return f"vnwt-f{n // HOSTS_PER_WORKER:02d}-{n % HOSTS_PER_WORKER:03d}"


def worker_pattern(k: int) -> str:
    return f"vnwt-f{k:02d}-*"


def subnet(n: int, i: int) -> ipaddress.IPv4Network:
    k = n * NETWORKS + i
    return ipaddress.IPv4Network(f"10.{16 + k // 256}.{k % 256}.0/24")


def plan(n: int) -> list[NetPlan]:
    """The networks of host n."""
    nets = []
    for i in range(NETWORKS):
        mode = MODES[i % len(MODES)]
        net = subnet(n, i) if mode in DHCP_MODES else None
        nets.append(NetPlan(f"{host_name(n)}-n{i:02d}", mode, net, i in STOPPED))
    return nets


def _mac(n: int, slot: int) -> str:
    return f"52:54:00:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}:{slot:02x}"


def _uuid(n: int, kind: int, i: int) -> str:
    return str(uuid.UUID(int=(0x76E7 << 112) | (n << 32) | (kind << 16) | i))


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str):
    el = etree.SubElement(parent, tag, {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _network(node, n: int, i: int, net: NetPlan, guest_macs: list[tuple[str, str]]) -> None:
    el = _sub(node, "network")
    _sub(el, "name", net.name)
    _sub(el, "uuid", _uuid(n, 1, i))
    bridge = f"vnwt{n:03d}x{i:02d}"
    if net.mode == "bridge":
        _sub(el, "forward", mode="bridge")
        _sub(el, "bridge", name="br0")
        return
    if net.mode == "macvtap":
        forward = _sub(el, "forward", mode="bridge")
        _sub(forward, "interface", dev="eth1")
        return
    if net.mode != "isolated":
        _sub(el, "forward", mode=net.mode)
    _sub(el, "bridge", name=bridge, stp="off")
    assert net.subnet is not None
    hosts = list(net.subnet.hosts())
    ip = _sub(el, "ip", address=str(hosts[0]), prefix="24")
    dhcp = _sub(ip, "dhcp")
    _sub(dhcp, "range", start=str(hosts[99]), end=str(hosts[198]))
    for s, (mac, guest) in enumerate(guest_macs[:STATIC_HOSTS]):
        _sub(dhcp, "host", mac=mac, name=guest, ip=str(hosts[9 + s]))
    if i % 4 == 1:
        _sub(el, "ip", family="ipv6", address=f"fd00:{n:x}:{i:x}::1", prefix="64")


def _guest_nics(n: int, nets: list[NetPlan]) -> list[list[tuple[str, str]]]:
    """For each guest, its NICs as (mac, network name): one NIC, or two for odd guests."""
    out = []
    for g in range(GUESTS):
        first = nets[(g * 3) % NETWORKS].name
        nics = [(_mac(n, g * 2), first)]
        if g % 2:
            nics.append((_mac(n, g * 2 + 1), nets[(g * 7 + 1) % NETWORKS].name))
        out.append(nics)
    return out


def _interfaces(node) -> None:
    """The host's own NICs and bridge, which bridge and macvtap networks name."""
    for name in ("eth0", "eth1"):
        iface = _sub(node, "interface", type="ethernet", name=name)
        _sub(iface, "start", mode="onboot")
    br = _sub(node, "interface", type="bridge", name="br0")
    _sub(br, "start", mode="onboot")
    bridge = _sub(br, "bridge", stp="off")
    _sub(bridge, "interface", type="ethernet", name="eth3")


def host_xml(n: int) -> bytes:
    """The test driver's description of host n."""
    nets = plan(n)
    nics = _guest_nics(n, nets)
    by_network: dict[str, list[tuple[str, str]]] = {}
    for g, guest_nics in enumerate(nics):
        for mac, network in guest_nics:
            by_network.setdefault(network, []).append((mac, f"{host_name(n)}-g{g}"))
    node = etree.Element("node")
    cpu = _sub(node, "cpu")
    for tag, value in (("mhz", "2600"), ("model", "fleet-x86_64"), ("active", "16")):
        _sub(cpu, tag, value)
    for tag in ("nodes", "sockets"):
        _sub(cpu, tag, "1")
    _sub(cpu, "cores", "8")
    _sub(cpu, "threads", "2")
    _sub(node, "memory", str(64 << 20))
    for i, net in enumerate(nets):
        _network(node, n, i, net, by_network.get(net.name, []))
    _interfaces(node)
    for g, guest_nics in enumerate(nics):
        dom = _sub(node, "domain", type="test")
        _sub(dom, "name", f"{host_name(n)}-g{g}")
        _sub(dom, "uuid", _uuid(n, 2, g))
        _sub(dom, "memory", "1048576")
        _sub(dom, "vcpu", "1")
        os_ = _sub(dom, "os")
        _sub(os_, "type", "hvm")
        devices = _sub(dom, "devices")
        for mac, network in guest_nics:
            iface = _sub(devices, "interface", type="network")
            _sub(iface, "mac", address=mac)
            _sub(iface, "source", network=network)
    return etree.tostring(node, pretty_print=True, xml_declaration=False)


def write_host(folder: Path, n: int) -> str:
    """Write host n's file into `folder` and return its test:/// URI."""
    path = folder / f"{host_name(n)}.xml"
    path.write_bytes(host_xml(n))
    return f"test://{path}"


def check_opens(uri: str) -> tuple[int, int]:
    """Open the file with libvirt's test driver as a worker will (through the gateway, which
    also asks networks.host_uri whether the URI is allowed): (networks, guests) it holds. Fails
    loudly on a file the driver refuses, before any worker sees it. Needs Django set up."""
    from networks.gateway.connection import call, forget

    try:
        return call(uri, lambda conn: (len(conn.listAllNetworks()), len(conn.listAllDomains())))
    finally:
        forget(uri)  # this process keeps no connection to 200 hosts
