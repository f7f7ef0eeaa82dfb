"""Which guests use which network: read from every domain's XML, once per reading of a host."""

from collections import defaultdict

import libvirt
from lxml import etree

from .types import GuestInfo

_XML = etree.XMLParser(resolve_entities=False, no_network=True)

_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "shutting down",
    libvirt.VIR_DOMAIN_SHUTOFF: "shut off",
    libvirt.VIR_DOMAIN_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "suspended",
}

# Keys of the mapping guests_by_network returns for NICs that name a device, not a network: a
# guest put straight onto a bridge (type='bridge') or a host NIC (type='direct', macvtap) is on
# the switch whose bridge or NIC that is, though libvirt's network never hears of it.
BRIDGE = "bridge:"
DIRECT = "direct:"


def _key(iface) -> str | None:
    source = iface.find("source")
    if source is None:
        return None
    kind = iface.get("type")
    if kind == "network" and source.get("network"):
        return source.get("network")
    if kind == "bridge" and source.get("bridge"):
        return BRIDGE + source.get("bridge")
    if kind == "direct" and source.get("dev"):
        return DIRECT + source.get("dev")
    return None


def _device(target, state: str) -> str:
    # A shut-off domain's XML may still name the tap it had: it has none now.
    return target.get("dev", "") if target is not None and state != "shut off" else ""


def guests_by_network(conn: "libvirt.virConnect") -> dict[str, tuple[GuestInfo, ...]]:
    """{network name (or "bridge:NAME", "direct:DEV"): its guests' NICs}, from each domain's XML.

    A running domain's live XML still says type='network' with the network's name (and its tap
    device as <target dev>), so this covers guests plugged in now and guests configured to plug
    in when they start.
    """
    found: dict[str, list[GuestInfo]] = defaultdict(list)
    for dom in conn.listAllDomains(0):
        try:
            xml = dom.XMLDesc(0)
            state = _STATES.get(dom.state()[0], "unknown")
        except libvirt.libvirtError as exc:
            # Undefined between the listing and the read.
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
        name = dom.name()
        for iface in etree.fromstring(xml.encode(), _XML).iterfind("devices/interface"):
            key = _key(iface)
            if key is None:
                continue
            mac, target, model = iface.find("mac"), iface.find("target"), iface.find("model")
            found[key].append(
                GuestInfo(
                    domain=name,
                    mac=mac.get("address", "") if mac is not None else "",
                    running=state in ("running", "paused"),
                    state=state,
                    device=_device(target, state),
                    model=model.get("type", "") if model is not None else "",
                    attached=iface.get("type", ""),
                )
            )
    return {
        network: tuple(sorted(guests, key=lambda g: (g.domain, g.mac)))
        for network, guests in found.items()
    }


def plugged_macs(net: "libvirt.virNetwork") -> set[str] | None:
    """MACs of the guest NICs libvirt has plugged into this network now (its network ports);
    None when the driver cannot list ports (the test driver)."""
    try:
        ports = net.listAllPorts(0)
    except libvirt.libvirtError:
        return None
    macs = set()
    for port in ports:
        try:
            root = etree.fromstring(port.XMLDesc(0).encode(), _XML)
        except (libvirt.libvirtError, etree.XMLSyntaxError):
            continue
        mac = root.find("mac")
        if mac is not None and mac.get("address"):
            macs.add(mac.get("address").lower())
    return macs
