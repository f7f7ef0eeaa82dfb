"""libvirt network XML <-> NetworkSpec.

`parse` reads any network XML libvirt gives us. `to_xml` applies a spec onto existing XML, so
what the spec does not model (a <virtualport>, <metadata>, <forward><pf/>, <ip localPtr='yes'>,
<tftp>, <bootp>, a host's <lease>, an attribute added by a newer libvirt...) survives an edit made
in this console after someone used `virsh net-edit`.
"""

from lxml import etree

from networks.spec import modes
from networks.spec.model import NetworkSpec
from networks.spec.xml_read import read_network
from networks.spec.xml_tree import (
    DNSMASQ_NS,
    DNSMASQ_OPTION,
    DNSMASQ_OPTIONS,
    FORWARD_ORDER,
    NETWORK_ORDER,
    Element,
    SpecXMLError,
    child,
    drop,
    drop_if_empty,
    insert_ordered,
    read_root,
    set_attr,
    set_yes,
    sync_children,
)
from networks.spec.xml_write import (
    write_bandwidth,
    write_dns,
    write_ips,
    write_portgroup,
    write_route,
)

__all__ = ["DNSMASQ_NS", "SpecXMLError", "parse", "to_xml"]

# Where libvirt reports connections= on a running network: state, not configuration.
LIVE_ONLY = (".", "forward/interface", "forward/address")


def parse(xml: str | bytes) -> NetworkSpec:
    """Read network XML; SpecXMLError (a ValueError) with a readable message when we cannot."""
    return read_network(read_root(xml))


def to_xml(spec: NetworkSpec, base: str | bytes | None = None) -> str:
    """The XML to define `spec`: `base` with the spec applied, or fresh XML when base is None.

    Everything the spec models is set from the spec (lists too: a DHCP host missing from the spec
    is removed); everything it does not model is kept, including unknown attributes of list items
    that still exist (matched by key: a DHCP host by MAC, a range by start and end...). Live-only
    attributes (`connections=` on <network> and on forward interfaces) are dropped, so the live
    XML of a running network can serve as `base`.
    """
    root = etree.Element("network") if base is None else read_root(base)
    for path in LIVE_ONLY:
        for el in root.iterfind(path):
            el.attrib.pop("connections", None)
    try:
        _apply(root, spec)
    except SpecXMLError:
        raise
    except (TypeError, ValueError) as exc:
        # lxml refuses NUL bytes and control characters: validation names the field first.
        raise SpecXMLError(f"the network cannot be written as XML: {exc}") from exc
    etree.cleanup_namespaces(root, top_nsmap={"dnsmasq": DNSMASQ_NS})
    etree.indent(root, space="  ")
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def _apply(root: Element, spec: NetworkSpec) -> None:
    child(root, "name", NETWORK_ORDER).text = spec.name
    if spec.uuid:
        child(root, "uuid", NETWORK_ORDER).text = spec.uuid
    else:
        drop(root, "uuid")
    _write_forward(root, spec)
    _write_bridge(root, spec)
    _write_single(root, "mtu", "size", spec.mtu)
    _write_single(root, "mac", "address", spec.mac)
    _write_domain(root, spec)
    write_dns(root, spec)
    write_ips(root, spec.ips)
    sync_children(
        root,
        "route",
        spec.routes,
        NETWORK_ORDER,
        lambda e: (e.get("address"), e.get("gateway")),
        lambda r: (r.address, r.gateway),
        write_route,
    )
    write_bandwidth(root, spec.inbound, spec.outbound)
    sync_children(
        root,
        "portgroup",
        spec.portgroups,
        NETWORK_ORDER,
        lambda e: e.get("name"),
        lambda g: g.name,
        write_portgroup,
    )
    _write_dnsmasq_options(root, spec.dnsmasq_options)


def _write_single(root: Element, tag: str, attr: str, value: str | int | None) -> None:
    if value is None or value == "":
        drop(root, tag)
    else:
        child(root, tag, NETWORK_ORDER).set(attr, str(value))


def _write_forward(root: Element, spec: NetworkSpec) -> None:
    mode = spec.forward_mode
    if mode is None:
        drop(root, "forward")
        return
    existing = root.find("forward")
    forward = child(root, "forward", NETWORK_ORDER)
    # A <forward/> someone wrote without mode= already means nat: leave it as it was.
    if not (mode == "nat" and existing is not None and existing.get("mode") is None):
        forward.set("mode", mode)
    if spec.mode in modes.NIC_POOLS:
        # libvirt derives dev= from the first <interface>; a stale one would contradict it.
        forward.attrib.pop("dev", None)
        sync_children(
            forward,
            "interface",
            spec.forward_interfaces,
            FORWARD_ORDER,
            lambda e: e.get("dev"),
            str,
            lambda e, dev: e.set("dev", dev),
        )
    else:
        dev = spec.forward_dev if spec.mode in modes.FORWARDING else ""
        set_attr(forward, "dev", dev)
        # libvirt repeats dev= as the first <interface>: keep only one that agrees with it.
        for index, el in enumerate(forward.findall("interface")):
            if index or el.get("dev") != dev:
                forward.remove(el)
    if spec.mode == "nat":
        _write_nat(forward, spec)
    else:
        drop(forward, "nat")


def _write_nat(forward: Element, spec: NetworkSpec) -> None:
    ranges = (
        ("address", spec.nat_address_start, spec.nat_address_end),
        ("port", spec.nat_port_start, spec.nat_port_end),
    )
    wanted = any(value not in (None, "") for _, start, end in ranges for value in (start, end))
    if forward.find("nat") is None and not wanted:
        return
    nat = child(forward, "nat", FORWARD_ORDER)
    for tag, start, end in ranges:
        if start in (None, "") and end in (None, ""):
            drop(nat, tag)
            continue
        el = child(nat, tag, ("address", "port"))
        set_attr(el, "start", start)
        set_attr(el, "end", end)
    drop_if_empty(nat)


def _write_bridge(root: Element, spec: NetworkSpec) -> None:
    if spec.mode in modes.NIC_POOLS:
        drop(root, "bridge")
        return
    bridge = child(root, "bridge", NETWORK_ORDER)
    set_attr(bridge, "name", spec.bridge)
    set_attr(bridge, "stp", None if spec.stp is None else "on" if spec.stp else "off")
    set_attr(bridge, "delay", spec.delay)
    if spec.mode != "bridge":  # host-bridge mode is told from macvtap by <bridge> being there
        drop_if_empty(bridge)


def _write_domain(root: Element, spec: NetworkSpec) -> None:
    if not spec.domain_name:
        drop(root, "domain")
        return
    domain = child(root, "domain", NETWORK_ORDER)
    domain.set("name", spec.domain_name)
    set_yes(domain, "localOnly", spec.domain_local_only)


def _write_dnsmasq_options(root: Element, values: list[str]) -> None:
    options = root.find(DNSMASQ_OPTIONS)
    if not values:
        if options is not None:
            root.remove(options)
        return
    if options is None:
        element = etree.Element(DNSMASQ_OPTIONS, nsmap={"dnsmasq": DNSMASQ_NS})
        options = insert_ordered(root, element, NETWORK_ORDER)
    sync_children(
        options,
        DNSMASQ_OPTION,
        values,
        (DNSMASQ_OPTION,),
        lambda e: e.get("value"),
        str,
        lambda e, value: e.set("value", value),
    )
