"""A guest's NICs: attach one to a network, move it to another, detach it, set its link.

On a running guest each change is made live and, for a persistent guest, in its saved
definition too; on a stopped guest, in its definition. Each first looks at the guest as it is and
says when there is nothing to do, so a job run twice changes nothing the second time. Requests
that cannot work are refused in words before anything changes (NicRefused).
"""

import copy
import random
import time
from collections.abc import Callable
from contextlib import suppress

import libvirt
from lxml import etree

from .connection import call
from .errors import GatewayError
from .guests import nic_source, read_domain, read_domains
from .types import DomainInfo

_XML = etree.XMLParser(resolve_entities=False, no_network=True)
LIVE = libvirt.VIR_DOMAIN_AFFECT_LIVE
CONFIG = libvirt.VIR_DOMAIN_AFFECT_CONFIG
# How long a live unplug may take: the guest's OS must acknowledge it (ACPI eject).
UNPLUG_SECONDS = 15.0


class NicRefused(GatewayError):
    """Cannot be done as asked; nothing was changed."""


def _domain(conn: "libvirt.virConnect", name: str) -> "libvirt.virDomain":
    try:
        return conn.lookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise NicRefused(f"The host has no guest named {name}.") from None
        raise


def _network(conn: "libvirt.virConnect", name: str) -> "libvirt.virNetwork":
    try:
        return conn.networkLookupByName(name)
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
            raise NicRefused(f"The host has no network named {name}.") from None
        raise


def _interfaces(xml: str) -> list:
    return list(etree.fromstring(xml.encode(), _XML).iterfind("devices/interface"))


def _find(xml: str, mac: str):
    for iface in _interfaces(xml):
        found = iface.find("mac")
        if found is not None and found.get("address", "").lower() == mac:
            return iface
    return None


def _config_xml(dom: "libvirt.virDomain") -> str:
    return dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)


def _macs_on(domains: tuple[DomainInfo, ...], network: str, bridge: str) -> dict[str, str]:
    """{MAC: guest} of every guest NIC on the network (by name, or straight on its bridge)."""
    return {
        nic.mac: domain.name
        for domain in domains
        for nic in domain.nics
        if (nic.type == "network" and nic.source == network)
        or (nic.type == "bridge" and bridge and nic.source == bridge)
    }


def _bridge_of(net: "libvirt.virNetwork") -> str:
    bridge = etree.fromstring(net.XMLDesc(0).encode(), _XML).find("bridge")
    return bridge.get("name", "") if bridge is not None else ""


def _new_mac(taken: set[str]) -> str:
    while True:  # QEMU's own prefix, as libvirt uses
        mac = "52:54:00:" + ":".join(f"{random.randrange(256):02x}" for _ in range(3))
        if mac not in taken:
            return mac


def _check_live(dom, info: DomainInfo, net, network: str) -> None:
    if not info.running:
        return
    if not info.hotplug:
        raise NicRefused(
            f"{info.name} runs on a machine that cannot take a NIC while running (no ACPI). "
            "Shut it down first: its definition is then changed, and the NIC is there at its "
            "next start."
        )
    if not net.isActive():
        raise NicRefused(
            f"{network} is not running, and {info.name} is: start {network} first (or shut "
            f"{info.name} down and the NIC is plugged in when both run)."
        )


def _flags(info: DomainInfo) -> int:
    return (LIVE if info.running else 0) | (CONFIG if info.persistent else 0)


def attach(uri: str, name: str, network: str, *, model: str = "virtio", mac: str = "") -> str:
    """Attach a new NIC on `network`; returns its MAC."""

    def run(conn: "libvirt.virConnect") -> str:
        dom = _domain(conn, name)
        info = read_domain(dom)
        net = _network(conn, network)
        wanted = mac.lower()
        domains = read_domains(conn)  # every guest's NICs, read once for the checks below
        if wanted:
            on_switch = _macs_on(domains, network, _bridge_of(net))
            if wanted in on_switch:
                owner = on_switch[wanted]
                if owner == name:
                    return wanted  # done before: a job run twice
                raise NicRefused(f"MAC {wanted} is already on {network}, on guest {owner}.")
            if any(nic.mac == wanted for nic in info.nics):
                raise NicRefused(f"{name} already has a NIC with MAC {wanted}.")
        _check_live(dom, info, net, network)
        chosen = wanted or _new_mac({nic.mac for d in domains for nic in d.nics})
        iface = etree.Element("interface", type="network")
        etree.SubElement(iface, "mac", address=chosen)
        etree.SubElement(iface, "source", network=network)
        if model:
            etree.SubElement(iface, "model", type=model)
        dom.attachDeviceFlags(etree.tostring(iface, encoding="unicode"), _flags(info))
        return chosen

    return call(uri, run)


def _located(conn: "libvirt.virConnect", name: str, mac: str):
    """The guest, what it is, and its NIC `mac` as it runs and as it is saved (None where not)."""
    dom = _domain(conn, name)
    info = read_domain(dom)
    live = _find(dom.XMLDesc(0), mac) if info.running else None
    saved = _find(_config_xml(dom), mac) if info.persistent else None
    return dom, info, live, saved


def _change(uri: str, name: str, mac: str, edit: Callable[[object], bool], *, check=None) -> bool:
    """Apply `edit` (which changes an <interface> element in place and says whether it changed
    anything) to the NIC with `mac`, live and in the saved definition, wherever it is."""
    mac = mac.lower()

    def run(conn: "libvirt.virConnect") -> bool:
        dom, info, live, saved = _located(conn, name, mac)
        if live is None and saved is None:
            raise NicRefused(f"{name} has no NIC with MAC {mac}.")
        if check is not None:
            check(conn, dom, info)
        changed = False
        # Live first: if the running guest refuses, nothing changed. If the definition then
        # refuses, the live change is undone, so the two never disagree halfway.
        if live is not None:
            new = copy.deepcopy(live)
            if edit(new):
                dom.updateDeviceFlags(etree.tostring(new, encoding="unicode"), LIVE)
                changed = True
        if saved is not None:
            new = copy.deepcopy(saved)
            if edit(new):
                try:
                    dom.updateDeviceFlags(etree.tostring(new, encoding="unicode"), CONFIG)
                except libvirt.libvirtError:
                    if changed:
                        with suppress(libvirt.libvirtError):
                            dom.updateDeviceFlags(etree.tostring(live, encoding="unicode"), LIVE)
                    raise
                changed = True
        return changed

    return call(uri, run)


def move(uri: str, name: str, mac: str, network: str) -> bool:
    """Put the NIC on `network` instead; False when it was there already."""

    def check(conn, dom, info: DomainInfo) -> None:
        net = _network(conn, network)
        on_switch = _macs_on(read_domains(conn), network, _bridge_of(net))
        owner = on_switch.get(mac.lower())
        if owner and owner != name:
            raise NicRefused(f"MAC {mac} is already on {network}, on guest {owner}.")
        if info.running and not net.isActive():
            raise NicRefused(f"{network} is not running, and {name} is: start {network} first.")

    def edit(iface) -> bool:
        if iface.get("type") == "network" and nic_source(iface) == network:
            return False
        iface.set("type", "network")
        for old in iface.findall("source"):
            iface.remove(old)
        source = etree.Element("source", network=network)
        mac_element = iface.find("mac")
        position = list(iface).index(mac_element) + 1 if mac_element is not None else 0
        iface.insert(position, source)
        return True

    return _change(uri, name, mac, edit, check=check)


def set_link(uri: str, name: str, mac: str, up: bool) -> bool:
    """Set the NIC's link up or down (the guest sees its cable plugged or pulled)."""
    state = "up" if up else "down"

    def edit(iface) -> bool:
        link = iface.find("link")
        if (link.get("state", "up") if link is not None else "up") == state:
            return False
        if link is None:
            link = etree.SubElement(iface, "link")
        link.set("state", state)
        return True

    return _change(uri, name, mac, edit)


def detach(uri: str, name: str, mac: str, *, wait: float = UNPLUG_SECONDS) -> bool:
    """Remove the NIC, live and from the definition; False when it had none. A live unplug
    needs the guest's OS to let go of the device: this waits up to `wait` seconds for it."""
    mac = mac.lower()

    def run(conn: "libvirt.virConnect") -> bool:
        dom, info, live, saved = _located(conn, name, mac)
        if live is None and saved is None:
            return False
        if live is not None and not info.hotplug:
            raise NicRefused(
                f"{name} runs on a machine that cannot drop a NIC while running (no ACPI). "
                "Shut it down first."
            )
        # Live first, and the definition only once the guest let go: a guest that never does
        # keeps the NIC in both, rather than losing it at its next boot only.
        if live is not None:
            dom.detachDeviceFlags(etree.tostring(live, encoding="unicode"), LIVE)
            deadline = time.monotonic() + wait
            while _find(dom.XMLDesc(0), mac) is not None:
                if time.monotonic() > deadline:
                    raise NicRefused(
                        f"{name} has not released the NIC {mac} after {wait:.0f} s: its OS must "
                        "acknowledge the unplug (ACPI). Its definition still has the NIC; "
                        "libvirt removes the live one if the guest lets go later."
                    )
                time.sleep(0.2)
        if saved is not None:
            dom.detachDeviceFlags(etree.tostring(saved, encoding="unicode"), CONFIG)
        return True

    return call(uri, run)


def domain_state(uri: str, name: str) -> DomainInfo | None:
    """One guest as the database keeps it; None when the host has no such guest."""

    def run(conn: "libvirt.virConnect") -> DomainInfo | None:
        try:
            return read_domain(conn.lookupByName(name))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise

    return call(uri, run)
