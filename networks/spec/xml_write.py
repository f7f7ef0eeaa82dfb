"""NetworkSpec -> network XML, applied onto an existing tree section by section.

Every writer sets what the spec models and leaves the rest of its element alone. Values only ever
reach the document as lxml text or attribute values, which lxml escapes.
"""

from lxml import etree

from networks.spec.model import (
    Bandwidth,
    DhcpHost,
    DhcpRange,
    DnsHost,
    DnsSrv,
    IpSpec,
    NetworkSpec,
    PortGroup,
    RouteSpec,
)
from networks.spec.xml_read import lease_minutes, prefix_of
from networks.spec.xml_tree import (
    BANDWIDTH_ORDER,
    DHCP_ORDER,
    DNS_ORDER,
    IP_ORDER,
    NETWORK_ORDER,
    PORTGROUP_ORDER,
    Element,
    child,
    drop,
    drop_if_empty,
    insert_ordered,
    set_attr,
    set_yes,
    sync_children,
)


def write_prefix(el: Element, prefix: int, family: str) -> None:
    # Keep a netmask= that says the same thing. A missing prefix is always written out: libvirt's
    # default differs between <ip> and <route> (an IPv6 route without one is refused).
    try:
        if el.get("prefix") is None and el.get("netmask") and prefix_of(el, family) == prefix:
            return
    except ValueError:
        pass  # an unreadable netmask= is replaced
    el.attrib.pop("netmask", None)
    el.set("prefix", str(prefix))


def write_range(el: Element, rng: DhcpRange) -> None:
    el.set("start", rng.start)
    el.set("end", rng.end)
    if rng.lease_minutes is None:
        drop(el, "lease")
    elif lease_minutes(el) != rng.lease_minutes:
        drop(el, "lease")
        etree.SubElement(el, "lease", expiry=str(rng.lease_minutes), unit="minutes")


def write_dhcp_host(el: Element, host: DhcpHost) -> None:
    for name in ("mac", "id", "name", "ip"):
        set_attr(el, name, getattr(host, name))


def host_key(el: Element) -> tuple[str, str]:
    return DhcpHost(el.get("mac", ""), "", el.get("name", ""), el.get("id", "")).key


def write_ip(el: Element, ip: IpSpec) -> None:
    set_attr(el, "address", ip.address)
    write_prefix(el, ip.prefix, ip.family)
    if ip.family != "ipv4" or el.get("family"):
        el.set("family", ip.family)
    dhcp = child(el, "dhcp", IP_ORDER)
    sync_children(
        dhcp,
        "range",
        ip.dhcp_ranges,
        DHCP_ORDER,
        lambda e: (e.get("start"), e.get("end")),
        lambda r: (r.start, r.end),
        write_range,
    )
    sync_children(
        dhcp, "host", ip.dhcp_hosts, DHCP_ORDER, host_key, lambda h: h.key, write_dhcp_host
    )
    drop_if_empty(dhcp)


def _pick_ip_elements(old: list[Element], ips: list[IpSpec]) -> list[Element]:
    # By address first, then any left of the same family, so an edited address keeps its
    # unmodelled parts (<tftp>, <dhcp><bootp>, localPtr=).
    left = list(old)
    picked: list[Element | None] = []
    for ip in ips:
        match = next((el for el in left if _ip_key(el) == (ip.family, ip.address)), None)
        if match is not None:
            left.remove(match)
        picked.append(match)
    for index, ip in enumerate(ips):
        if picked[index] is None:
            match = next((el for el in left if _ip_key(el)[0] == ip.family), None)
            if match is not None:
                left.remove(match)
            picked[index] = etree.Element("ip") if match is None else match
    return picked


def _ip_key(el: Element) -> tuple[str, str | None]:
    return el.get("family", "ipv4"), el.get("address")


def write_ips(root: Element, ips: list[IpSpec]) -> None:
    old = root.findall("ip")
    for el in old:
        root.remove(el)
    for el, ip in zip(_pick_ip_elements(old, ips), ips, strict=True):
        write_ip(el, ip)
        insert_ordered(root, el, NETWORK_ORDER)


def write_route(el: Element, route: RouteSpec) -> None:
    if route.family != "ipv4" or el.get("family"):
        el.set("family", route.family)
    el.set("address", route.address)
    write_prefix(el, route.prefix, route.family)
    el.set("gateway", route.gateway)
    set_attr(el, "metric", route.metric)


def write_bandwidth(parent: Element, inbound: Bandwidth | None, outbound: Bandwidth | None) -> None:
    if parent.find("bandwidth") is None and inbound is None and outbound is None:
        return
    order = PORTGROUP_ORDER if parent.tag == "portgroup" else NETWORK_ORDER
    bandwidth = child(parent, "bandwidth", order)
    for direction, value in (("inbound", inbound), ("outbound", outbound)):
        if value is None:
            drop(bandwidth, direction)
            continue
        el = child(bandwidth, direction, BANDWIDTH_ORDER)
        for name in ("average", "peak", "burst"):
            set_attr(el, name, getattr(value, name))
    drop_if_empty(bandwidth)


def write_portgroup(el: Element, group: PortGroup) -> None:
    el.set("name", group.name)
    set_yes(el, "default", group.default)
    write_bandwidth(el, group.inbound, group.outbound)
    if not group.vlan_tags:
        drop(el, "vlan")
        return
    vlan = child(el, "vlan", PORTGROUP_ORDER)
    set_yes(vlan, "trunk", group.trunk)
    sync_children(
        vlan,
        "tag",
        group.vlan_tags,
        ("tag",),
        lambda e: e.get("id"),
        str,
        lambda e, tag: e.set("id", str(tag)),
    )


def write_dns_host(el: Element, host: DnsHost) -> None:
    el.set("ip", host.ip)
    drop(el, "hostname")
    for name in host.hostnames:
        etree.SubElement(el, "hostname").text = name


def write_srv(el: Element, srv: DnsSrv) -> None:
    for name in ("service", "protocol", "domain", "target", "port", "priority", "weight"):
        set_attr(el, name, getattr(srv, name))


def write_dns(root: Element, spec: NetworkSpec) -> None:
    records = spec.dns_forwarders or spec.dns_hosts or spec.dns_txts or spec.dns_srvs
    if root.find("dns") is None and spec.dns_enabled and not records:
        return
    dns = child(root, "dns", NETWORK_ORDER)
    if spec.dns_enabled:
        if dns.get("enable") == "no":
            del dns.attrib["enable"]
    else:
        dns.set("enable", "no")
    sync_children(
        dns,
        "forwarder",
        spec.dns_forwarders,
        DNS_ORDER,
        lambda e: (e.get("addr", ""), e.get("domain", "")),
        lambda f: (f.addr, f.domain),
        lambda e, f: (set_attr(e, "addr", f.addr), set_attr(e, "domain", f.domain)),
    )
    sync_children(
        dns,
        "txt",
        spec.dns_txts,
        DNS_ORDER,
        lambda e: e.get("name"),
        lambda t: t.name,
        lambda e, t: (e.set("name", t.name), e.set("value", t.value)),
    )
    sync_children(
        dns,
        "srv",
        spec.dns_srvs,
        DNS_ORDER,
        lambda e: (e.get("service"), e.get("protocol"), e.get("domain", ""), e.get("target", "")),
        lambda s: (s.service, s.protocol, s.domain, s.target),
        write_srv,
    )
    sync_children(
        dns,
        "host",
        spec.dns_hosts,
        DNS_ORDER,
        lambda e: e.get("ip"),
        lambda h: h.ip,
        write_dns_host,
    )
    drop_if_empty(dns)
