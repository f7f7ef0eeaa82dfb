"""Check network XML against libvirt's own RelaxNG schema, before libvirt sees it.

The schema ships with libvirt (package libvirt-daemon / libvirt-common). It catches what is not
a network at all (a forward mode that does not exist, a prefix of 99, a multicast MAC); overlaps
and ranges outside their subnet are `validate`'s job.
"""

import re
import threading
from pathlib import Path

from lxml import etree

SCHEMA_PATH = Path("/usr/share/libvirt/schemas/network.rng")

_lock = threading.Lock()
_schemas: dict[Path, etree.RelaxNG] = {}


class SchemaUnavailable(RuntimeError):
    """libvirt's schema file is missing: refusing beats silently accepting anything."""


def _schema(path: Path) -> etree.RelaxNG:
    # Called with _lock held: loads once (~1 ms), then every check reuses it.
    if path not in _schemas:
        if not path.exists():
            raise SchemaUnavailable(
                f"libvirt's network schema {path} is missing; install libvirt "
                "(Debian: apt-get install libvirt-daemon) to check network XML"
            )
        _schemas[path] = etree.RelaxNG(etree.parse(str(path)))
    return _schemas[path]


def schema_errors(xml: str | bytes, path: Path = SCHEMA_PATH) -> list[str]:
    """Human-readable problems ("line 3: ..."), or [] when libvirt's schema accepts `xml`."""
    data = xml.encode() if isinstance(xml, str) else xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        doc = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    # A RelaxNG object keeps its error log on itself: one check at a time (each takes < 0.2 ms).
    with _lock:
        schema = _schema(path)
        if schema.validate(doc):
            return []
        raw = [(error.line, error.message) for error in schema.error_log]
    messages = [_readable(doc, line, message) for line, message in raw]
    # "Element network failed to validate content" only repeats what the others say.
    specific = [m for m in messages if "network failed to validate content" not in m]
    return specific or messages


def _readable(doc: etree._Element, line: int, message: str) -> str:
    """libxml2 reports an element inside an <interleave> without a line: find the element."""
    extra = re.fullmatch(r"Extra element (\S+) in interleave", message)
    if extra:
        found = next(doc.iter(extra.group(1)), None)
        if found is not None:
            attrs = "".join(f" {k}='{v}'" for k, v in found.attrib.items())
            tag = f"<{found.tag}{attrs}>"
            return f"line {found.sourceline}: {tag} (or what it holds) is not valid for libvirt"
    return f"line {line}: {message}" if line else message
