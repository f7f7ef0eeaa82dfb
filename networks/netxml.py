"""libvirt network XML ("formatnetwork") as a typed spec, and back, with lxml.

`parse_network` reads what the pages show; `build_network` writes the XML that creates a network.
No XML is ever made by string formatting: values go through lxml, which escapes them.
"""

import ipaddress
from dataclasses import dataclass, field

from lxml import etree

DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"

# Forward modes that attach guests straight to a host NIC through macvtap.
MACVTAP_MODES = {"passthrough", "private", "vepa"}


class NetworkXMLError(ValueError):
    """The XML is not a libvirt network definition we can read."""


@dataclass
class DhcpRange:
    start: str
    end: str
    lease_minutes: int | None = None


@dataclass
class DhcpHost:
    mac: str = ""
    ip: str = ""
    name: str = ""


@dataclass
class IpSpec:
    address: str
    prefix: int
    family: str = "ipv4"
    dhcp_ranges: list[DhcpRange] = field(default_factory=list)
    dhcp_hosts: list[DhcpHost] = field(default_factory=list)

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefix}"

    @property
    def has_dhcp(self) -> bool:
        return bool(self.dhcp_ranges or self.dhcp_hosts)


@dataclass
class NetworkSpec:
    name: str
    uuid: str | None = None
    # nat, route, open, bridge (an existing host bridge), macvtap, ..., or isolated (no <forward>).
    mode: str = "nat"
    forward_dev: str = ""
    bridge: str = ""
    stp: bool | None = None
    ips: list[IpSpec] = field(default_factory=list)
    dnsmasq_options: list[str] = field(default_factory=list)

    @property
    def has_dhcp(self) -> bool:
        return any(ip.has_dhcp for ip in self.ips)

    def addresses(self, family: str) -> list[str]:
        return [ip.cidr for ip in self.ips if ip.family == family]


def _prefix(ip_el: etree._Element, family: str) -> int:
    if ip_el.get("prefix"):
        return int(ip_el.get("prefix"))
    if ip_el.get("netmask"):
        return ipaddress.IPv4Network(f"0.0.0.0/{ip_el.get('netmask')}").prefixlen
    return 24 if family == "ipv4" else 64


def _mode(root: etree._Element) -> tuple[str, str]:
    forward = root.find("forward")
    if forward is None:
        return "isolated", ""
    mode = forward.get("mode", "nat")
    dev = forward.get("dev", "")
    if not dev:
        iface = forward.find("interface")
        if iface is not None:
            dev = iface.get("dev", "")
    if mode == "bridge" and root.find("bridge") is None:
        # forward mode='bridge' without a <bridge>: guests get macvtap devices on a host NIC.
        return "macvtap", dev
    return mode, dev


def parse_network(xml: str) -> NetworkSpec:
    try:
        root = etree.fromstring(xml.encode())
    except etree.XMLSyntaxError as exc:
        raise NetworkXMLError(f"not well-formed XML: {exc}") from exc
    if root.tag != "network":
        raise NetworkXMLError(f"expected a <network> element, found <{root.tag}>")
    mode, dev = _mode(root)
    bridge_el = root.find("bridge")
    stp = None
    if bridge_el is not None and bridge_el.get("stp"):
        stp = bridge_el.get("stp") == "on"
    ips = []
    for ip_el in root.findall("ip"):
        family = ip_el.get("family", "ipv4")
        ip = IpSpec(address=ip_el.get("address", ""), prefix=_prefix(ip_el, family), family=family)
        for range_el in ip_el.findall("dhcp/range"):
            lease = range_el.find("lease")
            minutes = None
            if lease is not None and lease.get("expiry"):
                unit = lease.get("unit", "minutes")
                scale = {"seconds": 1 / 60, "minutes": 1, "hours": 60}.get(unit, 1)
                minutes = int(int(lease.get("expiry")) * scale)
            ip.dhcp_ranges.append(DhcpRange(range_el.get("start"), range_el.get("end"), minutes))
        for host_el in ip_el.findall("dhcp/host"):
            ip.dhcp_hosts.append(
                DhcpHost(host_el.get("mac", ""), host_el.get("ip", ""), host_el.get("name", ""))
            )
        ips.append(ip)
    options = [
        el.get("value", "")
        for el in root.iterfind(f"{{{DNSMASQ_NS}}}options/{{{DNSMASQ_NS}}}option")
    ]
    return NetworkSpec(
        name=root.findtext("name", ""),
        uuid=root.findtext("uuid"),
        mode=mode,
        forward_dev=dev,
        bridge=bridge_el.get("name", "") if bridge_el is not None else "",
        stp=stp,
        ips=ips,
        dnsmasq_options=options,
    )


def build_network(spec: NetworkSpec) -> str:
    root = etree.Element("network", nsmap={"dnsmasq": DNSMASQ_NS} if spec.dnsmasq_options else None)
    etree.SubElement(root, "name").text = spec.name
    if spec.uuid:
        etree.SubElement(root, "uuid").text = spec.uuid
    if spec.mode != "isolated":
        forward = etree.SubElement(root, "forward")
        if spec.mode == "macvtap":
            forward.set("mode", "bridge")
        else:
            forward.set("mode", spec.mode)
        if spec.forward_dev:
            if spec.mode in MACVTAP_MODES | {"macvtap"}:
                etree.SubElement(forward, "interface", dev=spec.forward_dev)
            else:
                forward.set("dev", spec.forward_dev)
    if spec.mode != "macvtap" and spec.mode not in MACVTAP_MODES:
        bridge = etree.SubElement(root, "bridge")
        if spec.bridge:
            bridge.set("name", spec.bridge)
        if spec.stp is not None:
            bridge.set("stp", "on" if spec.stp else "off")
    for ip in spec.ips:
        ip_el = etree.SubElement(root, "ip", address=ip.address, prefix=str(ip.prefix))
        if ip.family != "ipv4":
            ip_el.set("family", ip.family)
        if ip.has_dhcp:
            dhcp = etree.SubElement(ip_el, "dhcp")
            for rng in ip.dhcp_ranges:
                range_el = etree.SubElement(dhcp, "range", start=rng.start, end=rng.end)
                if rng.lease_minutes is not None:
                    etree.SubElement(
                        range_el, "lease", expiry=str(rng.lease_minutes), unit="minutes"
                    )
            for host in ip.dhcp_hosts:
                attrs = {
                    k: v for k, v in (("mac", host.mac), ("name", host.name), ("ip", host.ip)) if v
                }
                etree.SubElement(dhcp, "host", **attrs)
    if spec.dnsmasq_options:
        options = etree.SubElement(root, f"{{{DNSMASQ_NS}}}options")
        for value in spec.dnsmasq_options:
            etree.SubElement(options, f"{{{DNSMASQ_NS}}}option", value=value)
    return etree.tostring(root, pretty_print=True, encoding="unicode")
