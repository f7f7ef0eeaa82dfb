"""The version of a host's settings as its edit page showed them (the URI and description), and
what changed since in words, from the host's audit entries (each holds the settings before and
after, networks.audit.settings_text)."""

from networks.models import AuditEntry, Host
from networks.stale.common import at, digest, hash_of, marker_of, sentence, version

FIELDS = ("uri", "description")
_LABELS = {"uri": "the URI", "description": "the description"}
_ACTIONS = ("host-add", "host-edit")


def _values(host: Host) -> list[str]:
    return [getattr(host, field) for field in FIELDS]


def host_version(host: Host) -> str:
    last = AuditEntry.objects.filter(host=host, action__in=_ACTIONS).order_by("-pk")
    return version(last.values_list("pk", flat=True).first(), _values(host))


def _settings(text: str) -> dict[str, str]:
    """settings_text's lines ("uri: qemu:///system") back as {field: value}, first one wins."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        field, sep, value = line.partition(": ")
        if sep and field in FIELDS:
            found.setdefault(field, value)
    return found


def _shown(value: str) -> str:
    return f'"{value}"' if value else "nothing"


def _event(entry: AuditEntry) -> str:
    before, after = _settings(entry.before), _settings(entry.after)
    changed = [
        f"{_LABELS[field]} from {_shown(before.get(field, ''))} to {_shown(after.get(field, ''))}"
        for field in FIELDS
        if before.get(field, "") != after.get(field, "")
    ]
    if not changed:
        return ""
    return f"{entry.username or 'someone'} changed {' and '.join(changed)} at {at(entry.created)}"


def refusal(host: Host, seen: str) -> str:
    """Why a save from a page that showed version `seen` is refused; "" when the settings are
    still as it showed them (or it sent no version)."""
    if not seen or hash_of(seen) == digest(_values(host)):
        return ""
    entries = AuditEntry.objects.filter(host=host, action__in=_ACTIONS, pk__gt=marker_of(seen))
    events = [event for event in map(_event, entries.order_by("pk")) if event] or [
        "they were changed outside these pages"
    ]
    return (
        f"{host.name}'s settings changed since this page was drawn: {sentence(events)}. "
        "Nothing was saved; the form shows them as they are now."
    )


def typed(data) -> str:
    """What the person had typed, to say beside a refusal (the form shows the current values)."""
    values = [f"{_LABELS[field]} {_shown(data.get(field, '').strip())}" for field in FIELDS]
    return f"You had typed {' and '.join(values)}."
