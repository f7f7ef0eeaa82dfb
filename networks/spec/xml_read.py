"""Network XML -> NetworkSpec, one section at a time. Defaults follow libvirt's parser."""

import ipaddress
import math

from networks.spec import modes
from networks.spec.model import (
    Bandwidth,
    DhcpHost,
    DhcpRange,
    DnsForwarder,
    DnsHost,
    DnsSrv,
    DnsTxt,
    IpSpec,
    NetworkSpec,
    PortGroup,
    RouteSpec,
)
from networks.spec.xml_tree import (
    DNSMASQ_OPTION,
    DNSMASQ_OPTIONS,
    Element,
    SpecXMLError,
    int_attr,
    yes,
)

LEASE_UNIT_MINUTES = {"seconds": 1 / 60, "minutes": 1, "hours": 60}


def mode_of(root: Element) -> tuple[str, str]:
    """(mode, macvtap_mode) from <forward>; forward mode='bridge' without <bridge> is macvtap."""
    forward = root.find("forward")
    if forward is None:
        return "isolated", "bridge"
    mode = forward.get("mode", "nat")
    if mode == "bridge" and root.find("bridge") is not None:
        return "bridge", "bridge"
    if mode in modes.MACVTAP_MODES:
        return "macvtap", mode
    return mode, "bridge"


def default_prefix(address: str, family: str) -> int:
    """libvirt's default without prefix= or netmask=: the IPv4 address class, or /64."""
    if family == "ipv6":
        return 64
    try:
        first = int(ipaddress.IPv4Address(address)) >> 24
    except ValueError:
        return 24
    return 8 if first < 128 else 16 if first < 192 else 24


def prefix_of(el: Element, family: str) -> int:
    prefix = int_attr(el, "prefix")
    if prefix is not None:
        return prefix
    netmask = el.get("netmask")
    if netmask:
        try:
            return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen
        except ValueError:
            raise SpecXMLError(f"<{el.tag} netmask='{netmask}'>: not a netmask") from None
    return default_prefix(el.get("address", ""), family)


def lease_minutes(el: Element) -> int | None:
    lease = el.find("lease")
    if lease is None:
        return None
    expiry = int_attr(lease, "expiry")
    if expiry is None:
        return None
    unit = lease.get("unit", "minutes")
    if unit not in LEASE_UNIT_MINUTES:
        raise SpecXMLError(f"<lease unit='{unit}'>: use seconds, minutes or hours")
    # Round seconds up: 30 seconds must not become 0, which libvirt reads as "never expires".
    return math.ceil(expiry * LEASE_UNIT_MINUTES[unit])


def read_ip(el: Element) -> IpSpec:
    family = el.get("family", "ipv4")
    ip = IpSpec(address=el.get("address", ""), prefix=prefix_of(el, family), family=family)
    for range_el in el.findall("dhcp/range"):
        ip.dhcp_ranges.append(
            DhcpRange(range_el.get("start", ""), range_el.get("end", ""), lease_minutes(range_el))
        )
    for host in el.findall("dhcp/host"):
        ip.dhcp_hosts.append(
            DhcpHost(
                mac=host.get("mac", ""),
                ip=host.get("ip", ""),
                name=host.get("name", ""),
                id=host.get("id", ""),
            )
        )
    return ip


def read_route(el: Element) -> RouteSpec:
    family = el.get("family", "ipv4")
    return RouteSpec(
        address=el.get("address", ""),
        prefix=prefix_of(el, family),
        gateway=el.get("gateway", ""),
        family=family,
        metric=int_attr(el, "metric"),
    )


def read_bandwidth(parent: Element, direction: str) -> Bandwidth | None:
    el = parent.find(f"bandwidth/{direction}")
    if el is None:
        return None
    return Bandwidth(int_attr(el, "average"), int_attr(el, "peak"), int_attr(el, "burst"))


def read_portgroup(el: Element) -> PortGroup:
    vlan = el.find("vlan")
    tags = [] if vlan is None else [int_attr(tag, "id") for tag in vlan.findall("tag")]
    return PortGroup(
        name=el.get("name", ""),
        default=yes(el, "default"),
        vlan_tags=[tag for tag in tags if tag is not None],
        trunk=yes(vlan, "trunk"),
        inbound=read_bandwidth(el, "inbound"),
        outbound=read_bandwidth(el, "outbound"),
    )


def read_dns(root: Element, spec: NetworkSpec) -> None:
    dns = root.find("dns")
    if dns is None:
        return
    spec.dns_enabled = dns.get("enable") != "no"
    spec.dns_forwarders = [
        DnsForwarder(el.get("addr", ""), el.get("domain", "")) for el in dns.findall("forwarder")
    ]
    spec.dns_hosts = [
        DnsHost(el.get("ip", ""), [name.text or "" for name in el.findall("hostname")])
        for el in dns.findall("host")
    ]
    spec.dns_txts = [DnsTxt(el.get("name", ""), el.get("value", "")) for el in dns.findall("txt")]
    spec.dns_srvs = [
        DnsSrv(
            service=el.get("service", ""),
            protocol=el.get("protocol", ""),
            domain=el.get("domain", ""),
            target=el.get("target", ""),
            port=int_attr(el, "port"),
            priority=int_attr(el, "priority"),
            weight=int_attr(el, "weight"),
        )
        for el in dns.findall("srv")
    ]


def read_forward(root: Element, spec: NetworkSpec) -> None:
    forward = root.find("forward")
    if forward is None:
        return
    devs = [el.get("dev", "") for el in forward.findall("interface")]
    dev = forward.get("dev", "")
    if spec.mode in modes.FORWARDING:
        # libvirt lists the forward dev again as the first <interface>.
        spec.forward_dev = dev or (devs[0] if devs else "")
    elif spec.mode in modes.NIC_POOLS:
        spec.forward_interfaces = devs or ([dev] if dev else [])
    nat = forward.find("nat")
    if spec.mode == "nat" and nat is not None:
        address, port = nat.find("address"), nat.find("port")
        if address is not None:
            spec.nat_address_start = address.get("start", "")
            spec.nat_address_end = address.get("end", "")
        if port is not None:
            spec.nat_port_start = int_attr(port, "start")
            spec.nat_port_end = int_attr(port, "end")


def read_bridge(root: Element, spec: NetworkSpec) -> None:
    bridge = root.find("bridge")
    if bridge is None:
        return
    spec.bridge = bridge.get("name", "")
    if bridge.get("stp"):
        spec.stp = bridge.get("stp") == "on"
    spec.delay = int_attr(bridge, "delay")


def read_network(root: Element) -> NetworkSpec:
    mode, macvtap_mode = mode_of(root)
    spec = NetworkSpec(
        name=root.findtext("name", ""),
        uuid=root.findtext("uuid"),
        mode=mode,
        macvtap_mode=macvtap_mode,
    )
    read_forward(root, spec)
    read_bridge(root, spec)
    mtu, mac, domain = root.find("mtu"), root.find("mac"), root.find("domain")
    spec.mtu = None if mtu is None else int_attr(mtu, "size")
    spec.mac = "" if mac is None else mac.get("address", "")
    if domain is not None:
        spec.domain_name = domain.get("name", "")
        spec.domain_local_only = yes(domain, "localOnly")
    read_dns(root, spec)
    spec.ips = [read_ip(el) for el in root.findall("ip")]
    spec.routes = [read_route(el) for el in root.findall("route")]
    spec.inbound = read_bandwidth(root, "inbound")
    spec.outbound = read_bandwidth(root, "outbound")
    spec.portgroups = [read_portgroup(el) for el in root.findall("portgroup")]
    spec.dnsmasq_options = [
        el.get("value", "") for el in root.iterfind(f"{DNSMASQ_OPTIONS}/{DNSMASQ_OPTION}")
    ]
    return spec
