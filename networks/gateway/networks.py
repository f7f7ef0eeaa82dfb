"""What workers ask of a host: facts, networks with their leases, start/stop/autostart.

Changing a network's definition (define, update, restart, undefine) is in changes.py.
"""

from dataclasses import replace
from datetime import UTC, datetime

import libvirt
from lxml import etree

from .connection import call, memo
from .errors import NetworkNotFound
from .guests import BRIDGE, DIRECT, by_network, guests_by_network, plugged_macs, read_domains
from .inventory import is_local, libvirt_inventory, local_inventory
from .types import GuestInfo, HostFacts, HostSnapshot, LeaseInfo, NetworkInfo


def _version(number: int) -> str:
    return f"{number // 1_000_000}.{number // 1000 % 1000}.{number % 1000}"


def _facts(conn: "libvirt.virConnect", *, fresh: bool = False) -> HostFacts:
    """The host's versions and size, read once per connection (a daemon upgrade reconnects)."""
    cache = memo.setdefault(conn, {})
    if not fresh and "facts" in cache:
        return cache["facts"]
    model, memory_mib, cpus, *_ = conn.getInfo()
    cache["facts"] = facts = HostFacts(
        hostname=conn.getHostname(),
        libvirt_version=_version(conn.getLibVersion()),
        hypervisor=conn.getType(),
        hypervisor_version=_version(conn.getVersion()),
        cpu_model=model,
        cpus=cpus,
        memory_kib=memory_mib * 1024,
    )
    return facts


def leases_of(net: "libvirt.virNetwork") -> tuple[LeaseInfo, ...]:
    leases = []
    for lease in net.DHCPLeases():
        expiry = lease.get("expirytime")
        leases.append(
            LeaseInfo(
                mac=lease.get("mac") or "",
                ip=lease.get("ipaddr") or "",
                prefix=lease.get("prefix"),
                hostname=lease.get("hostname") or "",
                client_id=lease.get("clientid") or "",
                expires=datetime.fromtimestamp(expiry, UTC) if expiry else None,
            )
        )
    return tuple(leases)


def _has_dhcp(xml: str) -> bool:
    # Cheaper than a full parse; only networks with libvirt-run dnsmasq have leases.
    return "<dhcp>" in xml or "<dhcp " in xml


def saved_xml(net: "libvirt.virNetwork") -> str:
    """The saved definition; the test driver cannot tell it apart, so there it is the live one."""
    try:
        return net.XMLDesc(libvirt.VIR_NETWORK_XML_INACTIVE)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:  # "unsupported flags"
            raise
        return net.XMLDesc(0)


_XML = etree.XMLParser(resolve_entities=False, no_network=True)


def _guests_of(
    net: "libvirt.virNetwork", xml: str, guests: dict[str, tuple[GuestInfo, ...]]
) -> tuple[GuestInfo, ...]:
    """The network's guests: NICs that name it, and NICs put straight onto its bridge or host
    NICs; those libvirt has plugged in now marked so (from its network ports)."""
    root = etree.fromstring(xml.encode(), _XML)
    found = list(guests.get(root.findtext("name") or "", ()))
    bridge = root.find("bridge")
    if bridge is not None and bridge.get("name"):
        found += guests.get(BRIDGE + bridge.get("name"), ())
    for iface in root.iterfind("forward/interface"):
        found += guests.get(DIRECT + (iface.get("dev") or ""), ())
    if int(root.get("connections") or 0) and any(g.attached == "network" for g in found):
        macs = plugged_macs(net)
        if macs is not None:
            found = [
                replace(g, plugged=g.mac.lower() in macs) if g.attached == "network" else g
                for g in found
            ]
    return tuple(found)


def _network(
    net: "libvirt.virNetwork",
    *,
    active: bool,
    persistent: bool,
    autostart: bool,
    guests: dict[str, tuple[GuestInfo, ...]] | None = None,
) -> NetworkInfo:
    xml = net.XMLDesc(0)
    # A running network keeps its old settings until restarted; its saved definition may differ.
    config_xml = saved_xml(net) if active and persistent else ""
    leases, leases_unknown = None, False
    if active and _has_dhcp(xml):
        try:
            leases = leases_of(net)
        except libvirt.libvirtError as exc:
            # The test driver has no lease support; a real host without dnsmasq has no leases.
            if exc.get_error_code() != libvirt.VIR_ERR_NO_SUPPORT:
                raise
            leases_unknown = True
    return NetworkInfo(
        name=net.name(),
        uuid=net.UUIDString(),
        active=active,
        persistent=persistent,
        autostart=autostart,
        xml=xml,
        leases=leases,
        leases_unknown=leases_unknown,
        config_xml=config_xml,
        guests=_guests_of(net, xml, guests or {}),
    )


def host_facts(uri: str) -> HostFacts:
    return call(uri, lambda conn: _facts(conn, fresh=True))


def snapshot(uri: str) -> HostSnapshot:
    """Everything the database keeps about a host, read in one pass over one connection."""

    def read(conn: "libvirt.virConnect") -> HostSnapshot:
        # State comes from three filtered listings rather than three calls per network: at 1000
        # networks that is 3 round trips to libvirtd instead of 3000 (name and UUID are local).
        def names(flag: int) -> set[str]:
            return {net.name() for net in conn.listAllNetworks(flag)}

        active = names(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE)
        persistent = names(libvirt.VIR_CONNECT_LIST_NETWORKS_PERSISTENT)
        autostart = names(libvirt.VIR_CONNECT_LIST_NETWORKS_AUTOSTART)
        domains = read_domains(conn)
        guests = by_network(domains)
        networks = []
        for net in conn.listAllNetworks():
            name = net.name()
            try:
                networks.append(
                    _network(
                        net,
                        active=name in active,
                        persistent=name in persistent,
                        autostart=name in autostart,
                        guests=guests,
                    )
                )
            except libvirt.libvirtError as exc:
                # Undefined between listing and reading: it will be gone from the next listing.
                if exc.get_error_code() != libvirt.VIR_ERR_NO_NETWORK:
                    raise
        inventory = local_inventory() if is_local(uri) else libvirt_inventory(conn)
        return HostSnapshot(
            facts=_facts(conn), networks=tuple(networks), inventory=inventory, domains=domains
        )

    return call(uri, read)


def network_state(uri: str, name: str, *, guests: bool = True) -> NetworkInfo:
    """One network as the snapshot would read it; NetworkNotFound if there is none.

    guests=False leaves the guests unread (NetworkInfo.guests is None): the domains belong to the
    hypervisor driver, which can take many seconds to answer (after a daemon restart QEMU's
    capabilities are probed again, ~20 s here), while the network driver answers at once.
    """

    return call(uri, lambda conn: read_network(conn, name, guests=guests))


def read_network(conn: "libvirt.virConnect", name: str, *, guests: bool) -> NetworkInfo:
    net = conn.networkLookupByName(name)
    info = _network(
        net,
        active=bool(net.isActive()),
        persistent=bool(net.isPersistent()),
        autostart=bool(net.autostart()),
        guests=guests_by_network(conn) if guests else None,
    )
    return info if guests else replace(info, guests=None)


def find_network(uri: str, name: str, *, guests: bool = True) -> NetworkInfo | None:
    """Like network_state, but None when the host has no such network."""
    try:
        return network_state(uri, name, guests=guests)
    except NetworkNotFound:
        return None


def network_config_xml(uri: str, name: str) -> str:
    """The saved definition (what a restart would run); NetworkNotFound if there is none."""
    return call(uri, lambda conn: saved_xml(conn.networkLookupByName(name)))


def start_network(uri: str, name: str) -> bool:
    """Start the network; False if it was already running."""

    def start(conn: "libvirt.virConnect") -> bool:
        net = conn.networkLookupByName(name)
        if net.isActive():
            return False
        net.create()
        return True

    return call(uri, start)


def stop_network(uri: str, name: str) -> bool:
    """Stop (destroy) the network; False if it was not running. A transient one is gone after."""

    def stop(conn: "libvirt.virConnect") -> bool:
        net = conn.networkLookupByName(name)
        if not net.isActive():
            return False
        net.destroy()
        return True

    return call(uri, stop)


def set_autostart(uri: str, name: str, enabled: bool) -> bool:
    """Turn autostart on or off; False if it already was so."""

    def apply(conn: "libvirt.virConnect") -> bool:
        net = conn.networkLookupByName(name)
        if bool(net.autostart()) == enabled:
            return False
        net.setAutostart(1 if enabled else 0)
        return True

    return call(uri, apply)
