"""Rules for addresses: the network's IPs, DHCP ranges and static hosts, routes and overlaps.

Much of this libvirt only finds out when the network starts ("Network is already in use by
interface ...") or not at all, so people hear it here, next to the field, before anything runs.
"""

import ipaddress

from networks.spec import modes
from networks.spec.context import HostContext, Problems
from networks.spec.model import AnyNetwork, IpSpec, NetworkSpec
from networks.spec.syntax import (
    DUID,
    hostname_problem,
    int_problem,
    ip_problem,
    mac_problem,
    parse_ip,
    parse_subnet,
    pattern_problem,
    shown,
)

FAMILIES = ("ipv4", "ipv6")
FAMILY_LABEL = {"ipv4": "IPv4", "ipv6": "IPv6"}
MAX_LEASE_MINUTES = (2**32 - 1) // 60
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def ip_paths(spec: NetworkSpec) -> list[str]:
    """Form paths: the first IPv4 is "ipv4", a second one "ipv4.1"; odd families "ips.N"."""
    paths, seen = [], {family: 0 for family in FAMILIES}
    for index, ip in enumerate(spec.ips):
        if ip.family not in FAMILIES:
            paths.append(f"ips.{index}")
            continue
        count = seen[ip.family]
        paths.append(ip.family if count == 0 else f"{ip.family}.{count}")
        seen[ip.family] += 1
    return paths


def _edge_problem(address: Address, net: AnyNetwork) -> str | None:
    """Why `address` cannot be a host in `net`, or None."""
    if address not in net:
        return f"{address} is outside {net}"
    if net.num_addresses <= 2:
        return None  # /31 and /32 (and IPv6 /127, /128) have no network or broadcast address
    if address == net.network_address:
        return f"{address} is the network address of {net}"
    if net.version == 4 and address == net.broadcast_address:
        return f"{address} is the broadcast address of {net}"
    return None


def check_ips(spec: NetworkSpec, context: HostContext, problems: Problems, own: str | None):
    if spec.mode in modes.NO_ADDRESS:
        for path in ip_paths(spec):
            problems.error(f"{path}.address", f"a {spec.mode} network takes no IP addresses")
        for index in range(len(spec.routes)):
            problems.error(f"routes.{index}", f"a {spec.mode} network has no routes of its own")
        return
    if not spec.ips and spec.mode in modes.NEEDS_ADDRESS:
        problems.error("ipv4.address", f"a {spec.mode} network needs an IP address")
    subnets: list[tuple[str, AnyNetwork]] = []
    dhcp_by_family: dict[str, str] = {}
    for path, ip in zip(ip_paths(spec), spec.ips, strict=True):
        net = _check_ip(ip, path, problems)
        if net is None:
            continue
        subnets.append((path, net))
        _check_dhcp(ip, net, path, problems)
        if ip.has_dhcp:
            if ip.family in dhcp_by_family:
                label = FAMILY_LABEL[ip.family]
                problems.error(
                    f"{path}.dhcp_ranges",
                    f"only one {label} address per network can have DHCP "
                    f"({dhcp_by_family[ip.family]} already has)",
                )
            dhcp_by_family.setdefault(ip.family, ip.cidr)
    check_overlaps(subnets, context, problems, own)
    check_routes(spec, [net for _, net in subnets], problems)


def _check_ip(ip: IpSpec, path: str, problems: Problems) -> AnyNetwork | None:
    if ip.family not in FAMILIES:
        problems.error(f"{path}.family", f"{shown(ip.family)} is not ipv4 or ipv6")
        return None
    if problem := ip_problem(ip.address, ip.family):
        problems.error(f"{path}.address", problem)
    limit = 32 if ip.family == "ipv4" else 128
    if problem := int_problem(ip.prefix, 0, limit, "prefix"):
        problems.error(f"{path}.prefix", problem)
    net = parse_subnet(ip.address, ip.prefix, ip.family)
    if net is None:
        return None
    if problem := _edge_problem(ipaddress.ip_address(ip.address), net):
        problems.error(f"{path}.address", f"{problem}; the host needs an address inside it")
    if ip.family == "ipv6" and ip.has_dhcp and ip.prefix != 64:
        problems.error(f"{path}.prefix", f"DHCPv6 needs a /64 network, not /{ip.prefix}")
    return net


def _check_dhcp(ip: IpSpec, net: AnyNetwork, path: str, problems: Problems) -> None:
    gateway = ipaddress.ip_address(ip.address)
    taken: list[tuple[Address, Address]] = []
    for index, rng in enumerate(ip.dhcp_ranges):
        where = f"{path}.dhcp_ranges.{index}"
        bad = [p for p in (ip_problem(rng.start, ip.family), ip_problem(rng.end, ip.family)) if p]
        for problem in bad:
            problems.error(where, problem)
        lease = rng.lease_minutes
        if lease is not None and (problem := int_problem(lease, 0, MAX_LEASE_MINUTES, "lease")):
            problems.error(where, problem)
        elif lease == 1:
            problems.error(where, "a lease lasts at least 2 minutes (or 0: forever)")
        if bad:
            continue
        start, end = parse_ip(rng.start), parse_ip(rng.end)
        if start > end:
            problems.error(where, f"the range ends ({end}) before it starts ({start})")
            continue
        if problem := _edge_problem(start, net) or _edge_problem(end, net):
            problems.error(where, problem)
        elif start <= gateway <= end:
            problems.error(where, f"{start}-{end} contains the host's own address {gateway}")
        for other_start, other_end in taken:
            if start <= other_end and other_start <= end:
                problems.error(where, f"{start}-{end} overlaps {other_start}-{other_end}")
        taken.append((start, end))
    _check_dhcp_hosts(ip, net, gateway, path, problems)


def _check_dhcp_hosts(ip: IpSpec, net: AnyNetwork, gateway: Address, path: str, problems):
    seen: dict[tuple[str, str], int] = {}
    for index, host in enumerate(ip.dhcp_hosts):
        where = f"{path}.dhcp_hosts.{index}"
        for problem in _host_identity_problems(host, ip.family):
            problems.error(where, problem)
        if problem := ip_problem(host.ip, ip.family):
            problems.error(where, problem)
        else:
            address = parse_ip(host.ip)
            if problem := _edge_problem(address, net):
                problems.error(where, problem)
            elif address == gateway:
                problems.error(where, f"{address} is the host's own address")
        for kind, value in (("MAC", host.mac.lower()), ("name", host.name), ("IP", host.ip)):
            if value and (kind, value) in seen:
                problems.error(
                    where, f"{kind} {value} is already given to host {seen[kind, value]}"
                )
            seen.setdefault((kind, value), index + 1)


def _host_identity_problems(host, family: str) -> list[str]:
    problems = []
    if family == "ipv4":
        if not host.mac and not host.name:
            problems.append("a static host needs a MAC address or a name")
        if host.id:
            problems.append("a DUID identifies IPv6 hosts only")
    else:
        if host.mac:
            problems.append("IPv6 static hosts are found by name or DUID, not by MAC")
        if not host.id and not host.name:
            problems.append("an IPv6 static host needs a name or a DUID")
    if host.mac and (problem := mac_problem(host.mac)):
        problems.append(problem)
    if host.name and (problem := hostname_problem(host.name)):
        problems.append(problem)
    if host.id and (problem := pattern_problem(host.id, DUID, "DUID (like 0:3:0:1:…)")):
        problems.append(problem)
    return problems


def check_overlaps(subnets, context: HostContext, problems: Problems, own: str | None) -> None:
    for index, (path, net) in enumerate(subnets):
        where = f"{path}.address"
        for _, other in subnets[:index]:
            if _overlap(net, other):
                problems.error(where, f"{net} overlaps {other}, another subnet of this network")
        for name, other in context.subnets_here:
            if name != own and _overlap(net, other):
                problems.error(where, f"{net} overlaps {other} of network {name} on this host")
        for host, name, other in context.subnets_elsewhere:
            if _overlap(net, other):
                problems.warn(where, f"{net} overlaps {other} of network {name} on host {host}")
        for route in context.routes:
            if route.prefixlen and _overlap(net, route):
                problems.warn(where, f"{net} overlaps the host's route to {route}")


def _overlap(a: AnyNetwork, b: AnyNetwork) -> bool:
    return a.version == b.version and a.overlaps(b)


def check_routes(spec: NetworkSpec, own_subnets: list[AnyNetwork], problems: Problems) -> None:
    for index, route in enumerate(spec.routes):
        where = f"routes.{index}"
        if route.family not in FAMILIES:
            problems.error(where, f"{shown(route.family)} is not ipv4 or ipv6")
            continue
        limit = 32 if route.family == "ipv4" else 128
        metric = route.metric
        checks = (
            ip_problem(route.address, route.family),
            int_problem(route.prefix, 0, limit, "prefix"),
            ip_problem(route.gateway, route.family),
            None if metric is None else int_problem(metric, 1, 2**32 - 1, "metric"),
        )
        found = [problem for problem in checks if problem]
        for problem in found:
            problems.error(where, problem)
        if found:
            continue
        net = parse_subnet(route.address, route.prefix, route.family)
        if net.network_address != ipaddress.ip_address(route.address):
            problems.error(where, f"{route.cidr} is not a network address; did you mean {net}?")
        gateway = ipaddress.ip_address(route.gateway)
        if not any(gateway in subnet for subnet in own_subnets if subnet.version == net.version):
            problems.error(
                where, f"gateway {gateway} is not inside this network's own subnets: unreachable"
            )
