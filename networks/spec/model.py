"""A libvirt virtual network ("formatnetwork") as plain dataclasses: what the forms edit.

Only what a person sets through the console is modelled; everything else stays in the XML and
survives an edit (see `xml.to_xml`). Values are kept as the strings libvirt uses, so a spec read
from a host and written back changes nothing by accident; `validate` judges them.
"""

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

Family = Literal["ipv4", "ipv6"]
AnyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class DhcpRange:
    start: str
    end: str
    # None: dnsmasq's default (1 hour); 0: the lease never expires.
    lease_minutes: int | None = None


@dataclass
class DhcpHost:
    """A static lease. IPv4 hosts are found by MAC (or name), IPv6 hosts by DUID `id` or name."""

    mac: str = ""
    ip: str = ""
    name: str = ""
    id: str = ""

    @property
    def key(self) -> tuple[str, str]:
        # The identity libvirt uses when it matches a host for net-update modify/delete.
        if self.mac:
            return ("mac", self.mac.lower())
        if self.id:
            return ("id", self.id.lower())
        return ("name", self.name)


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
    def network(self) -> AnyNetwork:
        """The subnet, e.g. 192.168.122.0/24; ValueError when address or prefix is invalid."""
        return ipaddress.ip_network(self.cidr, strict=False)

    @property
    def has_dhcp(self) -> bool:
        return bool(self.dhcp_ranges or self.dhcp_hosts)


@dataclass
class RouteSpec:
    address: str
    prefix: int
    gateway: str
    family: str = "ipv4"
    metric: int | None = None

    @property
    def cidr(self) -> str:
        return f"{self.address}/{self.prefix}"


@dataclass
class Bandwidth:
    """libvirt's units: average and peak in kB/s, burst in kB."""

    average: int | None = None
    peak: int | None = None
    burst: int | None = None


@dataclass
class PortGroup:
    name: str
    default: bool = False
    vlan_tags: list[int] = field(default_factory=list)
    trunk: bool = False
    inbound: Bandwidth | None = None
    outbound: Bandwidth | None = None


@dataclass
class DnsForwarder:
    """An upstream server (`addr`), optionally only for one `domain`; domain alone means local."""

    addr: str = ""
    domain: str = ""


@dataclass
class DnsHost:
    ip: str
    hostnames: list[str] = field(default_factory=list)


@dataclass
class DnsTxt:
    name: str
    value: str


@dataclass
class DnsSrv:
    service: str
    protocol: str = "tcp"
    domain: str = ""
    target: str = ""
    port: int | None = None
    priority: int | None = None
    weight: int | None = None


@dataclass
class NetworkSpec:
    name: str
    uuid: str | None = None
    mode: str = "nat"
    # Only for mode "macvtap": libvirt's forward mode bridge, private, vepa or passthrough.
    macvtap_mode: str = "bridge"
    # nat/route: the one host NIC traffic leaves through; "" lets the host's routing decide.
    forward_dev: str = ""
    # macvtap: the pool of host NICs guests are attached to.
    forward_interfaces: list[str] = field(default_factory=list)
    nat_address_start: str = ""
    nat_address_end: str = ""
    nat_port_start: int | None = None
    nat_port_end: int | None = None
    bridge: str = ""
    stp: bool | None = None
    delay: int | None = None
    mtu: int | None = None
    mac: str = ""
    domain_name: str = ""
    domain_local_only: bool = False
    dns_enabled: bool = True
    dns_forwarders: list[DnsForwarder] = field(default_factory=list)
    dns_hosts: list[DnsHost] = field(default_factory=list)
    dns_txts: list[DnsTxt] = field(default_factory=list)
    dns_srvs: list[DnsSrv] = field(default_factory=list)
    ips: list[IpSpec] = field(default_factory=list)
    routes: list[RouteSpec] = field(default_factory=list)
    inbound: Bandwidth | None = None
    outbound: Bandwidth | None = None
    portgroups: list[PortGroup] = field(default_factory=list)
    dnsmasq_options: list[str] = field(default_factory=list)

    @property
    def has_dhcp(self) -> bool:
        return any(ip.has_dhcp for ip in self.ips)

    def addresses(self, family: str) -> list[str]:
        return [ip.cidr for ip in self.ips if ip.family == family]

    def ips_of(self, family: str) -> list[IpSpec]:
        return [ip for ip in self.ips if ip.family == family]

    @property
    def forward_mode(self) -> str | None:
        """libvirt's <forward mode=...>, or None for an isolated network (no <forward>)."""
        if self.mode == "isolated":
            return None
        if self.mode == "macvtap":
            return self.macvtap_mode
        return self.mode
