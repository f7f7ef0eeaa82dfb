"""Optimistic concurrency for the editors: every edit carries the definition it was made on.

The editor pages carry the saved definition they showed in a hidden field, signed (so a request
cannot claim another base than one the database held) and compressed. A review or apply whose
base is no longer the saved definition is refused with what changed since, by whom and when (from
the audit trail), and the two differences: theirs (base → current) and yours (base → yours).
The job then carries `base_xml`, which the worker compares with libvirt's definition once more.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.core import signing
from django.http import HttpRequest

from networks import audit
from networks.models import AuditEntry, Network
from networks.spec.changes import changes_in_words, describe_changes
from networks.stale.common import at
from networks.versions import definition_version, diff_lines

_SALT = "vnetweb.definition-base"
# How far back the audit trail is searched for who made the changes since a base.
_AUDIT_DEPTH = 50


def sign_base(network: Network, xml: str) -> str:
    """The hidden field's value: `xml`, bound to this network."""
    return signing.dumps([network.pk, xml], salt=_SALT, compress=True)


def unsign_base(network: Network, value: str | None) -> str | None:
    """The base XML a form carries, or None when it carries none (or one of another network,
    or one this site did not sign)."""
    if not value:
        return None
    try:
        pk, xml = signing.loads(value, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return xml if pk == network.pk and isinstance(xml, str) else None


UNKNOWN_BASE = (
    "This form does not say which definition it was made on (or not in a way this site signed), "
    "so it cannot tell what changed since; nothing was sent. Review it again: it now starts from "
    "the current definition."
)


def base_fields(network: Network, xml: str) -> dict:
    """What an editor page carries for the definition it shows: the signed base and its version."""
    return {"base": sign_base(network, xml), "version": definition_version(xml)}


def unknown_base(request: HttpRequest, network: Network) -> bool:
    """Whether the POST names no base this site gave out: one that is there but forged or of
    another network, or none at all for an apply (a review without one starts from now)."""
    given = request.POST.get("base")
    if given:
        return unsign_base(network, given) is None
    return "apply" in request.POST or "restart" in request.POST


@dataclass
class Stale:
    """The switch changed since the form's base: what, by whom, and both sides' differences."""

    summary: list[str]  # "alice at 10:42: a DNS host record 10.0.0.5 was added"
    theirs: list[tuple[str, str]] = field(default_factory=list)  # base → current, as diff lines
    yours: list[tuple[str, str]] = field(default_factory=list)  # base → yours
    version: str = ""  # the current one, which the form now carries


def stale(network: Network, base_xml: str, yours: Callable[[], str] = str) -> Stale | None:
    """None when `base_xml` is still the saved definition of `network`; else what changed
    (`yours()`: the definition the person asks for, "" when it cannot be made)."""
    current = network.saved_xml
    if definition_version(base_xml) == definition_version(current):
        return None
    yours_xml = yours()
    return Stale(
        summary=who_changed(network, definition_version(base_xml), base_xml),
        theirs=_diff(base_xml, current, "when you opened it", "now"),
        yours=_diff(base_xml, yours_xml, "when you opened it", "yours") if yours_xml else [],
        version=definition_version(current),
    )


def _diff(old: str, new: str, old_label: str, new_label: str) -> list[tuple[str, str]]:
    lines = diff_lines(old, new)
    return [("hunk", f"--- {old_label}"), ("hunk", f"+++ {new_label}"), *lines] if lines else []


def who_changed(network: Network, base: str, base_xml: str = "") -> list[str]:
    """The changes from the definition of version `base` to the saved one, a sentence per audit
    entry that made one ("alice at 10:42: …"), found by following the definitions back from the
    current one; one sentence without names when the trail does not lead back to the base."""
    entries = _entries_since(network, base)
    if entries is None:
        return [_words(base_xml, network.saved_xml) if base_xml else "the definition changed"]
    return [_told(entry) for entry in reversed(entries)]


def _words(old_xml: str, new_xml: str) -> str:
    return changes_in_words(describe_changes(old_xml, new_xml)) or "the definition changed"


def _entries_since(network: Network, base: str) -> list[AuditEntry] | None:
    """The entries that led from `base` to the saved definition, newest first; None if the
    trail is broken (pruned, or a change nobody recorded)."""
    wanted, found = definition_version(network.saved_xml), []
    for entry in _recent(network):
        if wanted == base:
            break
        if definition_version(entry.after) != wanted:
            continue
        before = definition_version(entry.before)
        if before == wanted:
            continue
        found.append(entry)
        wanted = before
    return found if wanted == base and found else None


def _recent(network: Network):
    """The network's recent audit entries that changed its definition, newest first (a port
    forward's entry holds the forwards, not the definition)."""
    return (
        AuditEntry.objects.filter(
            host_name=network.host.name, network_name=network.name, guest_name=""
        )
        .exclude(after="")
        .exclude(action__in=audit.FORWARD_OPERATIONS)
        .exclude(action=audit.FORWARDS_OUTSIDE)[:_AUDIT_DEPTH]
    )


def definition_of(network: Network, version: str) -> str:
    """The definition of `network` that had `version`, from the audit trail ("" when the trail
    holds none): what an API client that names only a version edited, for the difference."""
    if version == definition_version(network.saved_xml):
        return network.saved_xml
    for entry in _recent(network):
        for xml in (entry.after, entry.before):
            if xml and definition_version(xml) == version:
                return xml
    return ""


def _told(entry: AuditEntry) -> str:
    who = "someone outside vnetweb (virsh or another tool)" if entry.outside else entry.username
    return f"{who or 'someone'} at {at(entry.created)}: {_words(entry.before, entry.after)}"


def pin_refusal(network: Network, version: str) -> str:
    """Why a pin asked from a table drawn with definition `version` is refused ("" when that is
    still the saved definition, or when the request names none)."""
    if not version or version == definition_version(network.saved_xml):
        return ""
    changes = "; ".join(who_changed(network, version))
    return (
        f"{network.name} was changed since its leases were shown ({changes}); nothing was "
        "queued. Look at the lease again and make it permanent again."
    )
