"""Changing a network's definition: define, live update, restart, undefine.

Each either succeeds or leaves the host as it found it, as far as libvirt lets us: a new network
that fails to start is undefined again, and a list of live updates that fails half-way is rolled
back before the error is raised.
"""

import logging
from collections.abc import Sequence
from contextlib import suppress
from typing import Protocol

import libvirt
from lxml import etree

from .connection import call, message_of
from .errors import GatewayError
from .networks import saved_xml

log = logging.getLogger(__name__)
_XML = etree.XMLParser(resolve_entities=False, no_network=True)

# The spec package names sections and commands as virsh does; these are libvirt's numbers.
SECTIONS = {
    "ip-dhcp-host": libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
    "ip-dhcp-range": libvirt.VIR_NETWORK_SECTION_IP_DHCP_RANGE,
    "dns-host": libvirt.VIR_NETWORK_SECTION_DNS_HOST,
    "dns-txt": libvirt.VIR_NETWORK_SECTION_DNS_TXT,
    "dns-srv": libvirt.VIR_NETWORK_SECTION_DNS_SRV,
    "portgroup": libvirt.VIR_NETWORK_SECTION_PORTGROUP,
    "forward-interface": libvirt.VIR_NETWORK_SECTION_FORWARD_INTERFACE,
}
COMMANDS = {
    "add-last": libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
    "add-first": libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_FIRST,
    "delete": libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE,
    "modify": libvirt.VIR_NETWORK_UPDATE_COMMAND_MODIFY,
}


class Update(Protocol):
    """One virNetworkUpdate, e.g. networks.spec.UpdateStep."""

    section: str
    command: str
    xml: str
    parent_index: int


def _name_of(xml: str) -> str:
    try:
        return etree.fromstring(xml.encode(), _XML).findtext("name") or ""
    except etree.XMLSyntaxError as exc:
        raise GatewayError(f"The network XML is not well-formed: {exc}") from exc


def define_network(uri: str, xml: str, *, start: bool = False, autostart: bool = False) -> str:
    """Define (or redefine) a network, checked by libvirt's schema; returns its name.

    With `start`, a network that was new and does not start is undefined again, so a failed
    create leaves nothing behind; libvirt's message is raised.
    """
    name = _name_of(xml)

    def define(conn: "libvirt.virConnect") -> str:
        existed = name in {net.name() for net in conn.listAllNetworks()}
        net = conn.networkDefineXMLFlags(xml, libvirt.VIR_NETWORK_DEFINE_VALIDATE)
        try:
            if start and not net.isActive():
                net.create()
            if autostart and not net.autostart():
                net.setAutostart(1)
        except libvirt.libvirtError:
            if not existed:
                with suppress(libvirt.libvirtError):
                    if net.isActive():
                        net.destroy()
                    net.undefine()
            raise
        return net.name()

    return call(uri, define)


def update_network(uri: str, name: str, updates: Sequence[Update], *, live: bool) -> None:
    """Apply virNetworkUpdate changes to the saved definition, and with `live` to the running
    network too when it runs. If one fails, those already applied are undone, then it raises."""
    for update in updates:
        if update.section not in SECTIONS or update.command not in COMMANDS:
            raise GatewayError(f"libvirt cannot {update.command} a {update.section} in place.")

    def apply(conn: "libvirt.virConnect") -> None:
        net = conn.networkLookupByName(name)
        running = live and bool(net.isActive())
        persistent = bool(net.isPersistent())
        flags = (libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG if persistent else 0) | (
            libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE if running else 0
        )
        before_live = net.XMLDesc(0) if running else ""
        before_config = saved_xml(net) if persistent else ""
        done: list[Update] = []
        try:
            for update in updates:
                _update(net, update.command, update, update.xml, flags)
                done.append(update)
        except libvirt.libvirtError:
            _roll_back(conn, net, done, before_live, before_config)
            raise

    call(uri, apply)


def _update(net: "libvirt.virNetwork", command: str, where: Update, xml: str, flags: int) -> None:
    # The binding takes (command, section, ...), unlike the C API's (section, command, ...):
    # checked against libvirt 9.0 on qemu:///system.
    net.update(COMMANDS[command], SECTIONS[where.section], where.parent_index, xml, flags)


def _roll_back(
    conn: "libvirt.virConnect",
    net: "libvirt.virNetwork",
    done: list[Update],
    before_live: str,
    before_config: str,
) -> None:
    """Undo `done`: the running network by inverse updates, the saved one by defining it again."""
    if before_live:
        old = etree.fromstring(before_live.encode(), _XML)
        for update in reversed(done):
            try:
                command, xml = _inverse(update, old)
                _update(net, command, update, xml, libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE)
            except (libvirt.libvirtError, LookupError) as exc:
                what = f"{update.command} {update.section}"
                log.error("could not undo %s on %s: %s", what, net.name(), exc)
    if before_config:
        try:
            conn.networkDefineXML(before_config)
        except libvirt.libvirtError as exc:
            log.error("could not restore the saved definition of %s: %s", net.name(), exc)


def _inverse(update: Update, old: etree._Element) -> tuple[str, str]:
    if update.command in ("add-last", "add-first"):
        return "delete", update.xml
    if update.command == "delete":
        return "add-last", update.xml
    return "modify", etree.tostring(_old_element(update, old), encoding="unicode")


def _old_element(update: Update, old: etree._Element) -> etree._Element:
    """The element a `modify` replaced, found in the XML from before it (LookupError if none)."""
    new = etree.fromstring(update.xml.encode(), _XML)
    if update.section == "portgroup":
        candidates, key = old.findall("portgroup"), "name"
    elif update.section == "ip-dhcp-host":
        ips = old.findall("ip")
        index = update.parent_index
        candidates = ips[index].findall("dhcp/host") if 0 <= index < len(ips) else []
        # libvirt matches a host by MAC, else by DUID, else by name.
        key = next((k for k in ("mac", "id") if new.get(k)), "name")
    else:
        raise LookupError(f"cannot undo a modify of {update.section}")
    for el in candidates:
        if (el.get(key) or "").lower() == (new.get(key) or "").lower():
            el.tail = None
            return el
    raise LookupError(f"no {update.section} like {update.xml} before the change")


def restart_network(uri: str, name: str) -> bool:
    """Stop and start again, so a saved definition takes effect; False if it was not running."""

    def restart(conn: "libvirt.virConnect") -> bool:
        net = conn.networkLookupByName(name)
        if not net.isActive():
            return False
        if not net.isPersistent():
            raise GatewayError(f"{name} is transient: stopping it would remove it, not restart it.")
        net.destroy()
        try:
            net.create()
        except libvirt.libvirtError as exc:
            raise GatewayError(
                f"{name} was stopped but did not start again: {message_of(exc)}",
                code=exc.get_error_code(),
            ) from exc
        return True

    return call(uri, restart)


def undefine_network(uri: str, name: str) -> bool:
    """Stop and undefine; False if no such network."""

    def remove(conn: "libvirt.virConnect") -> bool:
        try:
            net = conn.networkLookupByName(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_NETWORK:
                return False
            raise
        if net.isActive():
            net.destroy()
        if net.isPersistent():
            net.undefine()
        return True

    return call(uri, remove)
