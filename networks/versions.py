"""The version of a network definition: what an edit was made against (optimistic concurrency).

Every change of a saved definition carries the XML it was made on (`base_xml`) and forms show its
short hash; a save whose base is no longer the saved definition is refused instead of undoing
someone else's change. Both the web side (review) and the worker (right before it defines) compare
definitions in this canonical form, so the two agree on what "the same definition" means.
"""

import difflib
import hashlib

from lxml import etree

# libvirt's running XML reports these although nobody configured them: not part of a definition.
_LIVE_ATTRIBUTES = ("connections",)
# The NAT port range a running network reports when none was set.
DEFAULT_NAT_PORTS = (1024, 65535)
_DEFAULT_NAT_PORT_ATTRIBUTES = dict(zip(("start", "end"), map(str, DEFAULT_NAT_PORTS), strict=True))


def canonical_xml(xml: str) -> bytes:
    """`xml` in one canonical form (C14N, blank text removed, live state dropped: the
    `connections` attribute and the NAT port range libvirt reports by default), so the saved and
    the running XML of one definition, however indented, give the same bytes.

    Raises lxml's `etree.XMLSyntaxError` when `xml` is not well-formed."""
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    root = etree.fromstring(xml.encode(), parser)
    for el in root.iter():
        for name in _LIVE_ATTRIBUTES:
            el.attrib.pop(name, None)
        if el.text is not None and not el.text.strip():
            el.text = None
        el.tail = None
    _drop_default_nat_ports(root)
    return etree.tostring(root, method="c14n")


def _drop_default_nat_ports(root: etree._Element) -> None:
    for port in root.findall("./forward/nat/port"):
        if dict(port.attrib) == _DEFAULT_NAT_PORT_ATTRIBUTES:
            nat = port.getparent()
            nat.remove(port)
            if len(nat) == 0 and not nat.attrib:
                nat.getparent().remove(nat)


def definition_version(xml: str) -> str:
    """A short hash of the canonical `xml`: "" for no definition, and for XML that is not
    well-formed the hash of its text (it still changes when the text does)."""
    if not xml:
        return ""
    try:
        data = canonical_xml(xml)
    except etree.XMLSyntaxError:
        data = xml.encode()
    return hashlib.sha256(data).hexdigest()[:12]


def same_definition(a: str, b: str) -> bool:
    """Whether two definition XMLs are the same definition (as `definition_version` sees it)."""
    return definition_version(a) == definition_version(b)


def diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """A unified diff of two definitions as (kind, line): add, del, hunk or same."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "saved", "new", n=3)
    kinds = {"+": "add", "-": "del", "@": "hunk"}
    return [
        (kinds.get(line[:1], "same"), line) for line in lines if not line.startswith(("+++", "---"))
    ]
