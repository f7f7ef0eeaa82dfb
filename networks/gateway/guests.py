"""Which guests use which network: read from every domain's XML, once per reading of a host."""

from collections import defaultdict

import libvirt
from lxml import etree

from .types import GuestInfo

_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def guests_by_network(conn: "libvirt.virConnect") -> dict[str, tuple[GuestInfo, ...]]:
    """{network name: its guests' NICs}, from <interface type='network'> of each domain.

    A running domain's live XML still says type='network' with the network's name, so this covers
    guests plugged in now and guests configured to plug in when they start.
    """
    running = {dom.name() for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)}
    found: dict[str, list[GuestInfo]] = defaultdict(list)
    for dom in conn.listAllDomains(0):
        try:
            xml = dom.XMLDesc(0)
        except libvirt.libvirtError as exc:
            # Undefined between the listing and the read.
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
        name = dom.name()
        for iface in etree.fromstring(xml.encode(), _XML).iterfind("devices/interface"):
            source, mac = iface.find("source"), iface.find("mac")
            if iface.get("type") != "network" or source is None or not source.get("network"):
                continue
            found[source.get("network")].append(
                GuestInfo(
                    domain=name,
                    mac=mac.get("address", "") if mac is not None else "",
                    running=name in running,
                )
            )
    return {
        network: tuple(sorted(guests, key=lambda g: (g.domain, g.mac)))
        for network, guests in found.items()
    }
