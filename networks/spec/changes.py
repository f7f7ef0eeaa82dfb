"""What changed between two definitions of a network, in words a person reads in a refusal:
"a DNS host record 10.215.81.10 was added", "the MTU changed", "<tftp> in <ip> was added".

Modelled changes are named from the live plan between the two specs; a change in what the spec
does not model (found by comparing the XML) is named by its element.
"""

from collections import Counter

from lxml import etree

from networks.spec.plan import UpdateStep, plan_update
from networks.spec.xml import SpecXMLError, parse, to_xml
from networks.versions import canonical_xml

_DONE = {"add-last": "was added", "delete": "was removed", "modify": "was changed"}


def _what(update: UpdateStep) -> str:
    el = etree.fromstring(update.xml)
    section = update.section
    if section == "ip-dhcp-host":
        who = el.get("mac") or el.get("id") or el.get("name") or ""
        return f"a static host {el.get('ip') or el.get('name')} ({who})"
    if section == "ip-dhcp-range":
        return f"a DHCP range {el.get('start')} to {el.get('end')}"
    if section == "dns-host":
        return f"a DNS host record {el.get('ip')}"
    if section == "dns-txt":
        return f"a DNS TXT record {el.get('name')}"
    if section == "dns-srv":
        return f"a DNS SRV record {el.get('service')}/{el.get('protocol') or 'tcp'}"
    if section == "portgroup":
        return f"the port group {el.get('name')}"
    return f"the host interface {el.get('dev')}"  # forward-interface


def _modelled(old_xml: str, new_xml: str) -> list[str]:
    plan = plan_update(parse(old_xml), parse(new_xml), base=old_xml)
    done: dict[str, str] = {}
    for update in plan.updates:
        what = _what(update)
        # libvirt cannot modify DNS records: a changed one is planned as delete and add.
        done[what] = "was changed" if what in done else _DONE[update.command]
    return [f"{what} {verb}" for what, verb in done.items()] + [
        f"{reason} changed" for reason in plan.restart_reasons
    ]


def _elements(xml: str) -> Counter:
    """Every element under the root, as (path, canonical bytes): "ip/tftp"."""
    root = etree.fromstring(canonical_xml(xml))
    found: Counter = Counter()
    for el in root.iterdescendants():
        if isinstance(el.tag, str):
            path = [etree.QName(e).localname for e in (*reversed(list(el.iterancestors())), el)]
            found["/".join(path[1:]), etree.tostring(el, method="c14n")] += 1
    return found


def _unmodelled(old_xml: str, new_xml: str) -> list[str]:
    """The innermost elements whose unmodelled parts differ between `old_xml` and `new_xml`."""
    same_model = to_xml(parse(new_xml), base=old_xml)  # old's unmodelled parts, new's model
    if canonical_xml(same_model) == canonical_xml(new_xml):
        return []
    before, after = _elements(same_model), _elements(new_xml)
    had, has = {p for p, _ in before}, {p for p, _ in after}
    paths = {p for p, _ in (before - after) + (after - before)}
    words = []
    for path in sorted(p for p in paths if not any(q.startswith(p + "/") for q in paths)):
        verb = "was added" if path not in had else "was removed" if path not in has else "changed"
        words.append(" in ".join(f"<{tag}>" for tag in reversed(path.split("/"))) + f" {verb}")
    if words and _root_attributes(same_model) == _root_attributes(new_xml):
        return words
    return [*words, "attributes of <network> changed"]


def _root_attributes(xml: str) -> dict:
    return dict(etree.fromstring(canonical_xml(xml)).attrib)


def describe_changes(old_xml: str, new_xml: str) -> list[str]:
    """The changes that take `old_xml` to `new_xml`, each in a few words; [] when none."""
    try:
        # Canonical: what libvirt reports but nobody set (a NAT's default ports) is no change.
        old, new = canonical_xml(old_xml).decode(), canonical_xml(new_xml).decode()
        if old == new:
            return []
        changes = _modelled(old, new) + _unmodelled(old, new)
    except (etree.XMLSyntaxError, SpecXMLError):
        return ["the definition changed (vnetweb cannot read one of them)"]
    return changes or ["the definition changed"]  # never [] for different definitions


def changes_in_words(changes: list[str], most: int = 4) -> str:
    """`changes` as one phrase: "a, b and c" (the first `most`, then how many more)."""
    shown = changes[:most]
    if len(changes) > most:
        shown.append(f"{len(changes) - most} more")
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]
