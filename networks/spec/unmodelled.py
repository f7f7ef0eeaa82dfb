"""What network XML from vnetweb may hold beyond the spec: nothing new, and no control characters.

libvirt writes several values of a network definition into dnsmasq's configuration as they are
(`<tftp root>` becomes `tftp-root=…`), and dnsmasq runs as root: a newline in one of them starts
a configuration line of the writer's choosing. So no attribute or text of a definition sent from
vnetweb may hold a control character, and what the spec does not model (and so does not
validate) may only be what the host's saved definition already had, kept as it is: an edit can
remove it but not add or change it. `<tftp>` and `<bootp>` are not modelled, so they are never
added: they name files dnsmasq serves as root.

The web process checks this when it builds a review and the worker again right before it sends
a definition or a live update to libvirt (a job row is not enough to get past it).
"""

import copy
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from networks.spec.syntax import CONTROL, shown
from networks.spec.xml_tree import DNSMASQ_NS, DNSMASQ_OPTION, DNSMASQ_OPTIONS, Element, read_root

_BANDWIDTH = frozenset({"average", "peak", "burst"})
# Each element vnetweb models, by its path from <network> (tags joined by ">": a namespaced
# tag holds "/"), and the
# attributes of it that the spec reads, writes and validates. Anything else is unmodelled.
MODELLED: dict[str, frozenset[str]] = {
    "": frozenset(),
    "name": frozenset(),
    "uuid": frozenset(),
    "forward": frozenset({"mode", "dev"}),
    "forward>interface": frozenset({"dev"}),
    "forward>nat": frozenset(),
    "forward>nat>address": frozenset({"start", "end"}),
    "forward>nat>port": frozenset({"start", "end"}),
    "bridge": frozenset({"name", "stp", "delay"}),
    "mtu": frozenset({"size"}),
    "mac": frozenset({"address"}),
    "domain": frozenset({"name", "localOnly"}),
    "dns": frozenset({"enable"}),
    "dns>forwarder": frozenset({"addr", "domain"}),
    "dns>txt": frozenset({"name", "value"}),
    "dns>srv": frozenset({"service", "protocol", "domain", "target", "port", "priority", "weight"}),
    "dns>host": frozenset({"ip"}),
    "dns>host>hostname": frozenset(),
    "ip": frozenset({"address", "prefix", "netmask", "family"}),
    "ip>dhcp": frozenset(),
    "ip>dhcp>range": frozenset({"start", "end"}),
    "ip>dhcp>range>lease": frozenset({"expiry", "unit"}),
    "ip>dhcp>host": frozenset({"mac", "ip", "name", "id"}),
    "route": frozenset({"family", "address", "prefix", "netmask", "gateway", "metric"}),
    "bandwidth": frozenset(),
    "bandwidth>inbound": _BANDWIDTH,
    "bandwidth>outbound": _BANDWIDTH,
    "portgroup": frozenset({"name", "default"}),
    "portgroup>vlan": frozenset({"trunk"}),
    "portgroup>vlan>tag": frozenset({"id"}),
    "portgroup>bandwidth": frozenset(),
    "portgroup>bandwidth>inbound": _BANDWIDTH,
    "portgroup>bandwidth>outbound": _BANDWIDTH,
    DNSMASQ_OPTIONS: frozenset(),
    f"{DNSMASQ_OPTIONS}>{DNSMASQ_OPTION}": frozenset({"value"}),
}
# The elements whose text the spec models.
MODELLED_TEXT = frozenset({"name", "uuid", "dns>host>hostname"})
# Unmodelled switches that may be added: libvirt's schema allows them only these words, and
# libvirt derives what it writes from them (no value a person types reaches the host).
HARMLESS: dict[tuple[str, str], frozenset[str]] = {
    ("", "ipv6"): frozenset({"yes", "no"}),
    ("ip", "localPtr"): frozenset({"yes", "no"}),
    ("dns", "forwardPlainNames"): frozenset({"yes", "no"}),
}
# State libvirt reports on a running network (a number), not configuration.
LIVE_STATE = "connections"
# Where the element of each live update (virNetworkUpdate's sections) sits in a definition.
SECTION_PARENT = {
    "ip-dhcp-host": "ip>dhcp",
    "ip-dhcp-range": "ip>dhcp",
    "dns-host": "dns",
    "dns-txt": "dns",
    "dns-srv": "dns",
    "portgroup": "",
    "forward-interface": "forward",
}
# Why some unmodelled elements matter more than others.
WHY = {
    "tftp": " (a TFTP root is a directory dnsmasq, running as root, serves files from)",
    "bootp": " (a boot file and server reach dnsmasq's configuration, which runs as root)",
}
KEPT = "it cannot be added or changed here; what the saved definition already has is kept as it is"


@dataclass(frozen=True)
class Part:
    """One unmodelled piece of a definition: a whole element, an attribute or a text."""

    path: str  # where: "ip>tftp" for an element, "bridge" for an attribute of <bridge>
    kind: str  # "element", "attribute" or "text"
    name: str = ""  # the attribute's name
    value: str = ""  # the element's canonical XML, the attribute's value, the text

    def refusal(self) -> str:
        tag = _shown_path(self.path)
        if self.kind == "element":
            parent = _shown_path(self.path.rpartition(">")[0]) or "network"
            why = WHY.get(tag, "")
            return f"vnetweb does not edit <{tag}> in <{parent}>{why}: {KEPT}."
        if self.kind == "attribute":
            return (
                f"vnetweb does not edit the {self.name}= attribute of <{tag or 'network'}>: {KEPT}."
            )
        return f"vnetweb does not edit text inside <{tag or 'network'}>: {KEPT}."


def definition_problems(xml: str, saved_xml: str | None) -> list[str]:
    """Why `xml` may not be sent as the new definition of a network whose saved definition is
    `saved_xml` (None: a network not created yet, which may hold nothing unmodelled); []: fine.

    Raises SpecXMLError when `xml` is not a network definition at all."""
    root = read_root(xml)
    saved = Counter() if saved_xml is None else parts(read_root(saved_xml))
    return control_problems(root) + _added(parts(root), saved)


def live_update_problems(section: str, xml: str, saved_xml: str) -> list[str]:
    """The same for the element of one live update (virNetworkUpdate) of that network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        element = etree.fromstring(xml.encode(), parser)
    except etree.XMLSyntaxError as exc:
        return [f"a live update of {section} is not well-formed XML: {exc}"]
    if section not in SECTION_PARENT:
        return [f"vnetweb does not change {section} in place."]
    found = parts(element, SECTION_PARENT[section])
    return control_problems(element) + _added(found, parts(read_root(saved_xml)))


def control_problems(root: Element) -> list[str]:
    """A message for each attribute or text that holds a control character (a newline, tab…);
    text that is only whitespace between elements is indentation, and fine."""
    found = []
    for el in root.iter():
        where = f"<{_name(el)}>" if isinstance(el.tag, str) else "the XML"
        if isinstance(el.tag, str):  # comments and processing instructions libvirt drops
            for name, value in el.attrib.items():
                if CONTROL.search(value):
                    found.append(f"the {_attr_name(name)}= attribute of {where} ({shown(value)})")
            if el.text and el.text.strip() and CONTROL.search(el.text):
                found.append(f"the text of {where} ({shown(el.text)})")
        if el is not root and el.tail and el.tail.strip() and CONTROL.search(el.tail):
            found.append(f"the text after {where} ({shown(el.tail)})")
    return [
        f"{what} holds a control character (such as a newline or tab); no value in a "
        "network definition may."
        for what in found
    ]


def parts(el: Element, parent: str | None = None) -> Counter[Part]:
    """The unmodelled parts of `el` (the <network>, or an element below `parent`), counted."""
    found: Counter[Part] = Counter()
    path = "" if parent is None else _join(parent, el.tag)
    if path not in MODELLED:
        found[Part(path, "element", value=_canonical(el))] += 1
        return found
    for name, value in el.attrib.items():
        if name in MODELLED[path] or name == LIVE_STATE or value in HARMLESS.get((path, name), ()):
            continue
        found[Part(path, "attribute", name, value)] += 1
    texts = [el.text] if path not in MODELLED_TEXT else []
    texts += [child.tail for child in el]
    found.update(Part(path, "text", value=t.strip()) for t in texts if t and t.strip())
    for child in el:
        if isinstance(child.tag, str):  # comments and processing instructions: libvirt drops them
            found.update(parts(child, path))
    return found


def _added(new: Counter[Part], saved: Counter[Part]) -> list[str]:
    return [part.refusal() for part in (new - saved)]


def _join(parent: str, tag: str) -> str:
    return f"{parent}>{tag}" if parent else tag


def _canonical(el: Element) -> str:
    """The element as libvirt reads it: no indentation, no comments, attributes in order."""
    el = copy.deepcopy(el)
    for node in el.iter():
        if isinstance(node.tag, str):
            node.attrib.pop(LIVE_STATE, None)
        if node.text is not None and not node.text.strip():
            node.text = None
        if node.tail is not None and not node.tail.strip():
            node.tail = None
    el.tail = None
    return etree.tostring(el, method="c14n", exclusive=True, with_comments=False).decode()


def _name(el: Element) -> str:
    qname = etree.QName(el)
    return f"dnsmasq:{qname.localname}" if qname.namespace == DNSMASQ_NS else qname.localname


def _attr_name(name: str) -> str:
    return etree.QName(name).localname


def _shown_path(path: str) -> str:
    return _name(etree.Element(path.rpartition(">")[2])) if path else ""
