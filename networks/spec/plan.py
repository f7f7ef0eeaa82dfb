"""Plan how to bring a running network from one spec to another.

libvirt changes a few sections of a running network in place (virNetworkUpdate): DHCP hosts,
DHCP ranges (add and delete only), DNS host/TXT/SRV records (add and delete), port groups and the
forward interfaces of a macvtap pool. Everything else needs a define and a restart, which cuts
guests off for a moment, so the plan says why in words a person can weigh.

Section and command names are libvirt's, spelled as strings; the gateway maps them to constants.
"""

import copy
from collections.abc import Callable, Hashable, Iterable
from dataclasses import astuple, dataclass, field, fields
from typing import TypeVar

from lxml import etree

from networks.spec.model import DhcpHost, DnsHost, DnsSrv, DnsTxt, NetworkSpec
from networks.spec.xml_tree import Element, read_root
from networks.spec.xml_write import (
    host_key,
    write_dhcp_host,
    write_dns_host,
    write_portgroup,
    write_range,
    write_srv,
)

T = TypeVar("T")

# What changing each field means for people; fields handled live are planned separately.
RESTART_REASONS = {
    "name": "the name",
    "uuid": "the UUID",
    "mode": "the forward mode",
    "macvtap_mode": "the macvtap mode",
    "forward_dev": "the outbound device",
    "forward_interfaces": "the host interfaces",
    "nat_address_start": "the NAT address range",
    "nat_address_end": "the NAT address range",
    "nat_port_start": "the NAT port range",
    "nat_port_end": "the NAT port range",
    "bridge": "the bridge name",
    "stp": "the bridge's STP setting",
    "delay": "the bridge's forward delay",
    "mtu": "the MTU",
    "mac": "the bridge's MAC address",
    "domain_name": "the DNS domain",
    "domain_local_only": "whether the DNS domain is local only",
    "dns_enabled": "whether DNS is on",
    "dns_forwarders": "the DNS forwarders",
    "routes": "the static routes",
    "inbound": "the inbound bandwidth limit",
    "outbound": "the outbound bandwidth limit",
    "dnsmasq_options": "the dnsmasq options",
}
LIVE_FIELDS = {"ips", "dns_hosts", "dns_txts", "dns_srvs", "portgroups"}
COMMAND_ORDER = {"delete": 0, "modify": 1, "add-last": 2}


@dataclass(frozen=True)
class UpdateStep:
    section: str  # ip-dhcp-host, ip-dhcp-range, dns-host, dns-txt, dns-srv, portgroup, ...
    command: str  # add-last, delete, modify
    xml: str
    # The <ip> a DHCP change belongs to, counting every <ip> in document order; -1 elsewhere.
    parent_index: int = -1


@dataclass
class UpdatePlan:
    updates: list[UpdateStep] = field(default_factory=list)
    restart_reasons: list[str] = field(default_factory=list)

    @property
    def needs_restart(self) -> bool:
        return bool(self.restart_reasons)

    @property
    def is_empty(self) -> bool:
        return not self.updates and not self.restart_reasons


def plan_update(old: NetworkSpec, new: NetworkSpec, base: str | None = None) -> UpdatePlan:
    """The live updates and the restart reasons that take `old` to `new`.

    With `base` (the network's current XML) fragments start from the existing element, so a
    modified port group keeps its <virtualport> and a DHCP host its <lease>.
    """
    plan = UpdatePlan()
    root = read_root(base) if base is not None else None
    for f in fields(NetworkSpec):
        if f.name in LIVE_FIELDS or getattr(old, f.name) == getattr(new, f.name):
            continue
        if f.name == "forward_interfaces" and _interfaces_live(old, new):
            _plan_interfaces(plan, old, new)
            continue
        _reason(plan, RESTART_REASONS[f.name])
    _plan_ips(plan, old, new, root)
    _plan_dns(plan, old, new)
    _plan_list(
        plan,
        "portgroup",
        old.portgroups,
        new.portgroups,
        lambda g: g.name,
        lambda g: _fragment("portgroup", write_portgroup, g, _portgroup_in(root, g.name)),
        modify=True,
    )
    plan.updates.sort(key=lambda update: COMMAND_ORDER[update.command])  # stable: delete first
    return plan


def _reason(plan: UpdatePlan, reason: str) -> None:
    if reason not in plan.restart_reasons:
        plan.restart_reasons.append(reason)


def _fragment(tag: str, write: Callable[[Element, T], object], item: T, existing=None) -> str:
    el = etree.Element(tag) if existing is None else copy.deepcopy(existing)
    el.tail = None
    write(el, item)
    return etree.tostring(el, encoding="unicode")


def _plan_list(
    plan: UpdatePlan,
    section: str,
    old: Iterable[T],
    new: Iterable[T],
    key: Callable[[T], Hashable],
    xml: Callable[[T], str],
    parent_index: int = -1,
    modify: bool = False,
) -> None:
    """Delete what went, add what came; a changed item is modified or deleted and re-added."""
    before = {key(item): item for item in old}
    after = {key(item): item for item in new}
    for k, item in before.items():
        if k not in after or (after[k] != item and not modify):
            plan.updates.append(UpdateStep(section, "delete", xml(item), parent_index))
    for k, item in after.items():
        if k not in before or before[k] != item:
            command = "modify" if k in before and modify else "add-last"
            plan.updates.append(UpdateStep(section, command, xml(item), parent_index))


def _plan_ips(plan: UpdatePlan, old: NetworkSpec, new: NetworkSpec, root: Element | None) -> None:
    for index in range(max(len(old.ips), len(new.ips))):
        before = old.ips[index] if index < len(old.ips) else None
        after = new.ips[index] if index < len(new.ips) else None
        same = before and after and (before.family, before.cidr) == (after.family, after.cidr)
        if not same:
            family = (after or before).family
            _reason(plan, f"the {'IPv6' if family == 'ipv6' else 'IPv4'} address")
            continue
        _plan_list(
            plan,
            "ip-dhcp-range",
            before.dhcp_ranges,
            after.dhcp_ranges,
            lambda r: (r.start, r.end, r.lease_minutes),
            lambda r: _fragment("range", write_range, r),
            parent_index=index,
        )
        _plan_list(
            plan,
            "ip-dhcp-host",
            before.dhcp_hosts,
            after.dhcp_hosts,
            lambda h: h.key,
            lambda h, i=index: _fragment("host", write_dhcp_host, h, _host_in(root, i, h)),
            parent_index=index,
            modify=True,
        )


def _plan_dns(plan: UpdatePlan, old: NetworkSpec, new: NetworkSpec) -> None:
    def host_xml(host: DnsHost) -> str:
        return _fragment("host", write_dns_host, host)

    def txt_xml(txt: DnsTxt) -> str:
        return _fragment("txt", lambda e, t: (e.set("name", t.name), e.set("value", t.value)), txt)

    def srv_xml(srv: DnsSrv) -> str:
        return _fragment("srv", write_srv, srv)

    # libvirt cannot modify DNS records: a changed one is deleted and added again.
    _plan_list(plan, "dns-host", old.dns_hosts, new.dns_hosts, lambda h: h.ip, host_xml)
    _plan_list(plan, "dns-txt", old.dns_txts, new.dns_txts, lambda t: t.name, txt_xml)
    _plan_list(plan, "dns-srv", old.dns_srvs, new.dns_srvs, astuple, srv_xml)


def _interfaces_live(old: NetworkSpec, new: NetworkSpec) -> bool:
    return old.mode == new.mode == "macvtap" and old.macvtap_mode == new.macvtap_mode


def _plan_interfaces(plan: UpdatePlan, old: NetworkSpec, new: NetworkSpec) -> None:
    def interface_xml(dev: str) -> str:
        return _fragment("interface", lambda e, d: e.set("dev", d), dev)

    # Only membership matters; libvirt cannot reorder a pool in place.
    _plan_list(
        plan,
        "forward-interface",
        old.forward_interfaces,
        new.forward_interfaces,
        lambda dev: dev,
        interface_xml,
    )


def _host_in(root: Element | None, index: int, host: DhcpHost) -> Element | None:
    if root is None:
        return None
    ips = root.findall("ip")
    if index >= len(ips):
        return None
    return next((el for el in ips[index].iterfind("dhcp/host") if host_key(el) == host.key), None)


def _portgroup_in(root: Element | None, name: str) -> Element | None:
    if root is None:
        return None
    return next((el for el in root.iterfind("portgroup") if el.get("name") == name), None)
