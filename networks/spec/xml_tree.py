"""Small lxml helpers shared by reading and writing network XML.

Writing edits an existing tree in place, so these helpers find-or-create elements at libvirt's
usual position and keep whatever they do not know about where it is.
"""

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from lxml import etree

DNSMASQ_NS = "http://libvirt.org/schemas/network/dnsmasq/1.0"
DNSMASQ_OPTIONS = f"{{{DNSMASQ_NS}}}options"
DNSMASQ_OPTION = f"{{{DNSMASQ_NS}}}option"

# libvirt's own order when it formats a network; it reorders on define anyway, this only keeps
# a freshly written document readable. Tags not listed (virtualport, vlan, ...) stay in place.
NETWORK_ORDER = (
    "name",
    "uuid",
    "metadata",
    "forward",
    "port",
    "bridge",
    "mtu",
    "mac",
    "domain",
    "dns",
    "ip",
    "route",
    "bandwidth",
    "portgroup",
    DNSMASQ_OPTIONS,
)
FORWARD_ORDER = ("nat", "interface")
DNS_ORDER = ("forwarder", "txt", "srv", "host")
IP_ORDER = ("tftp", "dhcp")
DHCP_ORDER = ("range", "host", "bootp")
PORTGROUP_ORDER = ("virtualport", "bandwidth", "vlan")
BANDWIDTH_ORDER = ("inbound", "outbound")

Element = etree._Element
T = TypeVar("T")


class SpecXMLError(ValueError):
    """The XML is not a libvirt network definition we can read (or write)."""


def read_root(xml: str | bytes) -> Element:
    """Parse untrusted XML: no DTD, no entities, no network access."""
    try:
        data = xml.encode() if isinstance(xml, str) else xml
    except UnicodeEncodeError as exc:  # a lone surrogate, which JSON can carry
        raise SpecXMLError(f"not well-formed XML: {exc}") from exc
    # A fresh parser per call: lxml parsers must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, remove_blank_text=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise SpecXMLError(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise SpecXMLError("a <!DOCTYPE> is not allowed in network XML")
    if root.tag != "network":
        raise SpecXMLError(f"expected a <network> element, found <{root.tag}>")
    return root


def _rank(tag: object, order: Sequence[str]) -> int | None:
    # Comments and processing instructions have a non-string tag: they never move.
    return order.index(tag) if isinstance(tag, str) and tag in order else None


def insert_ordered(parent: Element, child: Element, order: Sequence[str]) -> Element:
    """Put `child` before the first sibling that libvirt lists after it, else at the end."""
    rank = _rank(child.tag, order)
    if rank is not None:
        for index, sibling in enumerate(parent):
            later = _rank(sibling.tag, order)
            if later is not None and later > rank:
                parent.insert(index, child)
                return child
    parent.append(child)
    return child


def child(parent: Element, tag: str, order: Sequence[str]) -> Element:
    """The first <tag> child, created at its place when missing."""
    found = parent.find(tag)
    if found is not None:
        return found
    return insert_ordered(parent, etree.Element(tag), order)


def drop(parent: Element, tag: str) -> None:
    for el in parent.findall(tag):
        parent.remove(el)


def drop_if_empty(el: Element | None) -> None:
    """Remove an element that no longer says anything (no children, attributes or text)."""
    if el is None or len(el) or el.attrib or (el.text or "").strip():
        return
    parent = el.getparent()
    if parent is not None:
        parent.remove(el)


def set_attr(el: Element, name: str, value: str | int | None) -> None:
    """Set an attribute, or remove it for None and "" (libvirt treats absent as default)."""
    if value is None or value == "":
        el.attrib.pop(name, None)
    else:
        el.set(name, str(value))


def set_yes(el: Element, name: str, value: bool) -> None:
    """yes when true; when false keep an explicit 'no' and otherwise leave the attribute out."""
    if value:
        el.set(name, "yes")
    elif el.get(name) != "no":
        el.attrib.pop(name, None)


def sync_children(
    parent: Element,
    tag: str,
    items: Iterable[T],
    order: Sequence[str],
    key_of_element: Callable[[Element], Hashable],
    key_of_item: Callable[[T], Hashable],
    write: Callable[[Element, T], None],
) -> None:
    """Make the <tag> children match `items`, in order.

    An existing element whose key matches an item is reused, so attributes and children the spec
    does not model (a host's <lease>, an unknown attribute) survive; the rest are removed.
    """
    pool: dict[Hashable, list[Element]] = {}
    for el in parent.findall(tag):
        pool.setdefault(key_of_element(el), []).append(el)
        parent.remove(el)
    for item in items:
        reusable = pool.get(key_of_item(item))
        el = reusable.pop(0) if reusable else etree.Element(tag)
        write(el, item)
        insert_ordered(parent, el, order)


def int_attr(el: Element, name: str) -> int | None:
    value = el.get(name)
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise SpecXMLError(f"<{el.tag} {name}='{value}'>: not a whole number") from None


def yes(el: Element | None, name: str) -> bool:
    return el is not None and el.get(name) == "yes"
