"""The switches as the machine itself sees them: bridge links, their ports and counters, routes,
IP forwarding, dnsmasq processes and the firewall.

Only a worker running on the KVM host can read these (netlink with pyroute2, /proc, `nft -j`); for
a host reached over the network, libvirt's API is all there is (see `inventory.is_local`). One
`read()` takes one netlink dump and one ruleset for every network of the host.
"""

import ipaddress
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pyroute2 import IPRoute

from . import firewall

log = logging.getLogger(__name__)

IFF_UP = 0x1
IFF_LOOPBACK = 0x8
MAIN_TABLE = 254
RTN_UNICAST = 1
COUNTERS = (
    "rx_bytes",
    "tx_bytes",
    "rx_packets",
    "tx_packets",
    "rx_errors",
    "tx_errors",
    "rx_dropped",
    "tx_dropped",
)
# libvirt's runtime directories (Debian's packages; the same upstream).
PID_DIR = Path("/run/libvirt/network")
LEASE_DIR = Path("/var/lib/libvirt/dnsmasq")
PROC = Path("/proc")


@dataclass(frozen=True)
class Link:
    name: str
    index: int
    kind: str  # "bridge", "veth", "tun", "macvtap", "" (a NIC)
    mac: str
    mtu: int
    up: bool  # administratively up (ip link set … up)
    operstate: str  # the kernel's view: UP, DOWN (no carrier), UNKNOWN (tap), …
    master: str
    addresses: tuple[str, ...]
    counters: dict[str, int]
    loopback: bool = False


@dataclass(frozen=True)
class Route:
    dst: str  # CIDR
    dev: str
    gateway: str = ""


@dataclass
class HostNetworking:
    links: dict[str, Link] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    forwarding: dict[str, bool | None] = field(default_factory=dict)  # {"ipv4": …, "ipv6": …}
    # None when the firewall could not be read (nft missing, not permitted).
    ruleset: list[dict] | None = None
    _route_networks: list | None = field(default=None, repr=False, compare=False)

    def route_networks(self) -> list[tuple[Route, ipaddress.IPv4Network | ipaddress.IPv6Network]]:
        """The routes with their destinations parsed (once: every network's verdict asks)."""
        if self._route_networks is None:
            parsed = []
            for route in self.routes:
                try:
                    parsed.append((route, ipaddress.ip_network(route.dst, strict=False)))
                except ValueError:
                    continue
            self._route_networks = parsed
        return self._route_networks

    def ports(self, bridge: str) -> list[Link]:
        return sorted(
            (link for link in self.links.values() if link.master == bridge),
            key=lambda link: link.name,
        )


def _dump() -> tuple[list, list, list]:
    with IPRoute() as ipr:
        return list(ipr.get_links()), list(ipr.get_addr()), list(ipr.get_routes(table=MAIN_TABLE))


def netlink() -> tuple[list, list, list]:
    """Links, addresses and main-table routes, as netlink messages."""
    # pyroute2's synchronous API runs an asyncio loop of its own: never in a thread that already
    # has one running (an async caller), so always in a short-lived thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="netlink") as pool:
        return pool.submit(_dump).result()


def kind(link) -> str:
    """The kernel's link kind of a netlink link message: bridge, veth, tun, ..., "" for a NIC."""
    info = link.get("IFLA_LINKINFO")
    return (info.get("IFLA_INFO_KIND") if info else None) or ""


def _links(raw_links, raw_addrs) -> dict[str, Link]:
    names = {link["index"]: link.get("IFLA_IFNAME") or "" for link in raw_links}
    addresses: dict[int, list[str]] = {}
    for addr in raw_addrs:
        ip = addr.get("IFA_ADDRESS") or ""
        if ip:
            addresses.setdefault(addr["index"], []).append(f"{ip}/{addr['prefixlen']}")
    links = {}
    for link in raw_links:
        stats = link.get("IFLA_STATS64") or link.get("IFLA_STATS") or {}
        name = names[link["index"]]
        links[name] = Link(
            name=name,
            index=link["index"],
            kind=kind(link),
            mac=link.get("IFLA_ADDRESS") or "",
            mtu=link.get("IFLA_MTU") or 0,
            up=bool(link["flags"] & IFF_UP),
            operstate=link.get("IFLA_OPERSTATE") or "",
            master=names.get(link.get("IFLA_MASTER") or 0, ""),
            addresses=tuple(addresses.get(link["index"], ())),
            counters={key: int(stats.get(key) or 0) for key in COUNTERS},
            loopback=bool(link["flags"] & IFF_LOOPBACK),
        )
    return links


def parse_routes(raw_routes, names: dict[int, str]) -> list[Route]:
    """Unicast routes of netlink's dump (names: link index -> name), link-local ones left out."""
    found = []
    for route in raw_routes:
        if route["type"] != RTN_UNICAST:
            continue
        family = route["family"]
        dst = route.get("RTA_DST") or ("0.0.0.0" if family == socket.AF_INET else "::")
        if dst.startswith("fe80:"):
            continue
        found.append(
            Route(
                dst=f"{dst}/{route['dst_len']}",
                dev=names.get(route.get("RTA_OIF") or 0, ""),
                gateway=route.get("RTA_GATEWAY") or "",
            )
        )
    return found


def _flag(path: Path) -> bool | None:
    try:
        return path.read_text().strip() == "1"
    except OSError:
        return None


def forwarding() -> dict[str, bool | None]:
    return {
        "ipv4": _flag(PROC / "sys/net/ipv4/ip_forward"),
        "ipv6": _flag(PROC / "sys/net/ipv6/conf/all/forwarding"),
    }


def read(*, rules: bool = True) -> HostNetworking:
    """This machine's links, routes and forwarding, and (with `rules`) its firewall ruleset.

    Raises OSError when netlink cannot be read at all (a sandbox without it).
    """
    raw_links, raw_addrs, raw_routes = netlink()
    links = _links(raw_links, raw_addrs)
    return HostNetworking(
        links=links,
        routes=parse_routes(raw_routes, {link.index: link.name for link in links.values()}),
        forwarding=forwarding(),
        ruleset=firewall.read_ruleset() if rules else None,
    )


def dnsmasq_pid(network: str) -> int | None:
    """The pid of the dnsmasq libvirt runs for `network`, if it is alive; None otherwise.

    libvirt writes its pid file at start; a dnsmasq that died (or was killed) leaves it behind,
    so the process itself is checked: alive, a dnsmasq, and reading this network's config.
    """
    try:
        pid = int((PID_DIR / f"{network}.pid").read_text().strip())
        comm = (PROC / str(pid) / "comm").read_text().strip()
        cmdline = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    conf = f"--conf-file={LEASE_DIR / network}.conf".encode()
    return pid if comm == "dnsmasq" and conf in cmdline else None


def lease_file(bridge: str) -> Path:
    """The lease status file libvirt's leases helper rewrites at every DHCP change."""
    return LEASE_DIR / f"{bridge}.status"


def lease_file_stamp(bridge: str) -> tuple[int, int] | None:
    try:
        stat = lease_file(bridge).stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


# --- what the host itself listens on (port forwards may not take it) --------------------------

_TCP_LISTEN = "0A"
_UDP_BOUND = "07"  # an unconnected UDP socket: one that receives from anyone


def _hex_address(text: str) -> str:
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # IPv6 in /proc: four 32-bit words, each in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    address = ipaddress.IPv6Address(words)
    return str(address.ipv4_mapped or address)


def listening() -> list[dict]:
    """The TCP ports listened on and the UDP ports bound on this machine (its network namespace):
    [{"protocol": "tcp", "address": "0.0.0.0", "port": 22}, ...], one entry per distinct one."""
    found: set[tuple[str, str, int]] = set()
    for protocol, state in (("tcp", _TCP_LISTEN), ("udp", _UDP_BOUND)):
        for suffix in ("", "6"):
            try:
                lines = (PROC / f"net/{protocol}{suffix}").read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                fields = line.split()
                if len(fields) < 4 or fields[3] != state:
                    continue
                address, _, port = fields[1].partition(":")
                try:
                    found.add((protocol, _hex_address(address), int(port, 16)))
                except ValueError:
                    continue
    return [
        {"protocol": protocol, "address": address, "port": port}
        for protocol, address, port in sorted(found, key=lambda item: (item[0], item[2], item[1]))
    ]


def side(networking: HostNetworking) -> dict:
    """What Host.side holds: the machine's IPv4 addresses, the ports it listens on, and whether
    libvirt writes its firewall in nftables tables of its own (None: the ruleset was not read)."""
    addresses = sorted(
        {
            address.split("/")[0]
            for link in networking.links.values()
            if not link.loopback
            for address in link.addresses
            if ":" not in address
        },
        key=ipaddress.ip_address,
    )
    return {
        "addresses": addresses,
        "listening": listening(),
        "libvirt_nftables": firewall.libvirt_native(networking.ruleset),
    }
