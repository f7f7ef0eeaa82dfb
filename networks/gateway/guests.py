"""The host's guests (libvirt domains) and their NICs, read once per reading of a host; and from
them, which guests use which network."""

import ipaddress
from collections import defaultdict
from contextlib import suppress
from dataclasses import dataclass, replace

import libvirt
from lxml import etree

from .types import DomainInfo, GuestInfo, NicInfo

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

AGENT_CHANNEL = "org.qemu.guest_agent.0"


def nic_source(iface) -> str:
    """What an <interface> plugs into: the network's name, the bridge or the host NIC."""
    source = iface.find("source")
    if source is None:
        return ""
    kind = iface.get("type")
    if kind == "network":
        return source.get("network") or ""
    if kind == "bridge":
        return source.get("bridge") or ""
    if kind == "direct":
        return source.get("dev") or ""
    return ""


def _key(nic: NicInfo) -> str | None:
    if not nic.source:
        return None
    if nic.type == "network":
        return nic.source
    if nic.type == "bridge":
        return BRIDGE + nic.source
    if nic.type == "direct":
        return DIRECT + nic.source
    return None


def _nics(root, state: str, config_macs: set[str] | None) -> tuple[NicInfo, ...]:
    nics = []
    for iface in root.iterfind("devices/interface"):
        mac, target = iface.find("mac"), iface.find("target")
        model, link = iface.find("model"), iface.find("link")
        address = (mac.get("address", "") if mac is not None else "").lower()
        nics.append(
            NicInfo(
                mac=address,
                type=iface.get("type", ""),
                source=nic_source(iface),
                model=model.get("type", "") if model is not None else "",
                # A shut-off domain's XML may still name the tap it had: it has none now.
                device=target.get("dev", "") if target is not None and state != "shut off" else "",
                link=link.get("state", "up") if link is not None else "up",
                config=config_macs is None or address in config_macs,
            )
        )
    return tuple(nics)


def _macs(xml: str) -> set[str]:
    root = etree.fromstring(xml.encode(), _XML)
    return {mac.get("address", "").lower() for mac in root.iterfind("devices/interface/mac")}


def _can_hotplug(root) -> bool:
    """x86 machines take PCI devices while running only through ACPI (pc) or PCIe ports (q35)."""
    os_type = root.find("os/type")
    arch = os_type.get("arch", "x86_64") if os_type is not None else "x86_64"
    if arch not in ("x86_64", "i686"):
        return True
    machine = os_type.get("machine", "") if os_type is not None else ""
    return root.find("features/acpi") is not None or "q35" in machine


def _agent_connected(root) -> bool:
    for channel in root.iterfind("devices/channel"):
        target = channel.find("target")
        if target is not None and target.get("name") == AGENT_CHANNEL:
            return target.get("state") == "connected"
    return False


def _agent_addresses(dom: "libvirt.virDomain") -> dict[str, tuple[str, ...]] | None:
    """{MAC: ("10.0.0.5/24", ...)} from the guest agent; None when it does not answer."""
    try:
        found = dom.interfaceAddresses(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT, 0)
    except libvirt.libvirtError:
        return None
    addresses: dict[str, tuple[str, ...]] = {}
    for iface in (found or {}).values():
        mac = (iface.get("hwaddr") or "").lower()
        cidrs = []
        for addr in iface.get("addrs") or ():
            with suppress(ValueError, TypeError):
                ip = ipaddress.ip_interface(f"{addr['addr']}/{addr['prefix']}")
                if not ip.is_loopback and not ip.ip.is_link_local:
                    cidrs.append(str(ip))
        if mac:
            addresses[mac] = tuple(cidrs)
    return addresses


@dataclass(frozen=True)
class _Known:
    """What one listing per flag told of every domain at once (not asked of each)."""

    state: str
    persistent: bool
    autostart: bool


def read_domain(dom: "libvirt.virDomain", known: _Known | None = None) -> DomainInfo:
    """One domain as vnetweb keeps it; libvirtError (VIR_ERR_NO_DOMAIN) when it just went."""
    xml = dom.XMLDesc(0)
    if known is None:
        persistent = bool(dom.isPersistent())
        known = _Known(
            _STATES.get(dom.state()[0], "unknown"),
            persistent,
            bool(dom.autostart()) if persistent else False,
        )
    state = known.state
    root = etree.fromstring(xml.encode(), _XML)
    config_macs = None
    if known.persistent and state != "shut off":
        # Which NICs it keeps at its next boot: the saved definition's.
        config_macs = _macs(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    nics = _nics(root, state, config_macs)
    agent = None
    if state == "running" and _agent_connected(root):
        agent = _agent_addresses(dom)
    if agent:
        nics = tuple(replace(nic, agent=agent.get(nic.mac, ())) for nic in nics)
    memory = root.find("currentMemory")
    if memory is None:
        memory = root.find("memory")
    return DomainInfo(
        name=dom.name(),
        uuid=dom.UUIDString(),
        state=state,
        persistent=known.persistent,
        autostart=known.autostart,
        vcpus=int(root.findtext("vcpu") or 0) or None,
        memory_kib=_kib(memory),
        nics=nics,
        agent=agent is not None,
        hotplug=_can_hotplug(root),
        xml=xml,
    )


_KIB = {"b": 1 / 1024, "bytes": 1 / 1024, "k": 1, "kib": 1, "kb": 1000 / 1024, "m": 1024}
_KIB |= {"mib": 1024, "mb": 1000**2 / 1024, "g": 1024**2, "gib": 1024**2, "gb": 1000**3 / 1024}


def _kib(memory) -> int | None:
    """<memory unit='MiB'>96</memory> in KiB."""
    if memory is None:
        return None
    try:
        return int(int(memory.text or "") * _KIB.get(memory.get("unit", "KiB").lower(), 1))
    except ValueError:
        return None


def _states(conn: "libvirt.virConnect", domains) -> dict[str, str]:
    """Every domain's state in one call (the test driver has no bulk stats: one call each)."""
    try:
        stats = conn.getAllDomainStats(libvirt.VIR_DOMAIN_STATS_STATE, 0)
        return {dom.name(): _STATES.get(s.get("state.state"), "unknown") for dom, s in stats}
    except libvirt.libvirtError:
        return {dom.name(): _STATES.get(dom.state()[0], "unknown") for dom in domains}


def read_domains(conn: "libvirt.virConnect") -> tuple[DomainInfo, ...]:
    """Every domain of the host, sorted by name: three listings and one call for the states, as
    for networks, then its XML per domain (and a running one's saved XML, for its NICs)."""
    domains = conn.listAllDomains(0)
    persistent = {
        d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_PERSISTENT)
    }
    autostart = {d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART)}
    states = _states(conn, domains)
    found = []
    for dom in domains:
        name = dom.name()
        if name not in states:  # defined after the states were read
            continue
        known = _Known(states[name], name in persistent, name in autostart)
        try:
            found.append(read_domain(dom, known))
        except libvirt.libvirtError as exc:
            # Undefined between the listing and the read.
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
    return tuple(sorted(found, key=lambda d: d.name))


def by_network(domains: tuple[DomainInfo, ...]) -> dict[str, tuple[GuestInfo, ...]]:
    """{network name (or "bridge:NAME", "direct:DEV"): its guests' NICs}.

    A running domain's live XML still says type='network' with the network's name (and its tap
    device as <target dev>), so this covers guests plugged in now and guests configured to plug
    in when they start.
    """
    found: dict[str, list[GuestInfo]] = defaultdict(list)
    for domain in domains:
        for nic in domain.nics:
            key = _key(nic)
            if key is None:
                continue
            found[key].append(
                GuestInfo(
                    domain=domain.name,
                    mac=nic.mac,
                    running=domain.running,
                    state=domain.state,
                    device=nic.device,
                    model=nic.model,
                    attached=nic.type,
                )
            )
    return {
        network: tuple(sorted(guests, key=lambda g: (g.domain, g.mac)))
        for network, guests in found.items()
    }


def guests_by_network(conn: "libvirt.virConnect") -> dict[str, tuple[GuestInfo, ...]]:
    return by_network(read_domains(conn))


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
