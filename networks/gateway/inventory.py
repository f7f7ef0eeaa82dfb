"""The host's own bridges, NICs and routes, which the create form offers and checks against.

A worker on the host itself (qemu:///system) reads them over netlink with pyroute2; for a host
reached over the network only libvirt's interface listing answers, where the host supports it.
Anything that cannot be read comes back empty, which the form takes as "not known".
"""

import logging
from contextlib import suppress
from urllib.parse import urlsplit

import libvirt
from django.conf import settings
from lxml import etree

from . import hostside
from .types import HostBridge, HostInterface, HostInventory, HostRoute

log = logging.getLogger(__name__)

_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def is_local(uri: str) -> bool:
    """Whether the URI names the machine this process runs on (no host part, no remote link).

    A worker in a container of its own network namespace reaches the host's libvirt through the
    mounted socket but sees only the container's links: VNETWEB_HOST_NETLINK=false says so.
    """
    if not settings.VNETWEB_HOST_NETLINK:
        return False
    parts = urlsplit(uri)
    driver, _, transport = parts.scheme.partition("+")
    return driver not in ("", "test") and not parts.hostname and transport in ("", "unix")


def local_inventory() -> HostInventory:
    """This machine's bridges, NICs and routes, from the same netlink dump the switches' host
    side is read from (hostside.read)."""
    try:
        machine = hostside.read(rules=False)
    except OSError as exc:  # no netlink in this sandbox: say "not known" rather than fail
        log.warning("cannot read the host's links over netlink: %s", exc)
        return HostInventory()
    links = sorted(machine.links.values(), key=lambda link: link.name)
    return HostInventory(
        bridges=tuple(
            HostBridge(
                name=link.name,
                ports=tuple(port.name for port in machine.ports(link.name)),
                addresses=_addresses(link),
                up=link.up,
            )
            for link in links
            if link.kind == "bridge"
        ),
        interfaces=tuple(
            HostInterface(
                name=link.name,
                kind=link.kind,
                mac=link.mac,
                up=link.up,
                master=link.master,
                addresses=_addresses(link),
            )
            for link in links
            if link.kind != "bridge" and not link.loopback
        ),
        routes=tuple(HostRoute(r.dst, r.gateway, r.dev) for r in machine.routes),
    )


def _addresses(link: hostside.Link) -> tuple[str, ...]:
    # Every IPv6 link has an fe80:: address: it says nothing about the host's networks.
    return tuple(address for address in link.addresses if not address.startswith("fe80:"))


def libvirt_inventory(conn: "libvirt.virConnect") -> HostInventory:
    """The host's interfaces as libvirt's interface driver reports them (no routes)."""
    try:
        listed = conn.listAllInterfaces(0)
    except libvirt.libvirtError as exc:
        log.info("no interface listing on %s: %s", conn.getURI(), exc.get_error_message())
        return HostInventory()
    bridges, interfaces = [], {}
    for iface in listed:
        with suppress(libvirt.libvirtError, etree.XMLSyntaxError):
            root = etree.fromstring(iface.XMLDesc(0).encode(), _XML)
            up = bool(iface.isActive())
            ips = tuple(
                f"{ip.get('address')}/{ip.get('prefix')}" for ip in root.iterfind("protocol/ip")
            )
            name = root.get("name", "")
            if root.get("type") == "bridge":
                ports = tuple(p.get("name", "") for p in root.iterfind("bridge/interface"))
                bridges.append(HostBridge(name=name, ports=ports, addresses=ips, up=up))
                for port in root.iterfind("bridge/interface"):
                    interfaces[port.get("name", "")] = _libvirt_interface(port, master=name)
            else:
                interfaces[name] = _libvirt_interface(root, up=up, addresses=ips)
    return HostInventory(
        bridges=tuple(sorted(bridges, key=lambda b: b.name)),
        interfaces=tuple(interfaces[name] for name in sorted(interfaces)),
    )


def _libvirt_interface(el, *, master: str = "", up: bool = True, addresses=()) -> HostInterface:
    mac = el.find("mac")
    kind = el.get("type", "")
    return HostInterface(
        name=el.get("name", ""),
        kind="" if kind == "ethernet" else kind,
        mac=mac.get("address", "") if mac is not None else "",
        up=up,
        master=master,
        addresses=tuple(addresses),
    )
