"""The version of a user's access as the user's page showed it (the global role and each grant),
and what changed since in words, from the audit entries of user and grant changes (each names
the user first: "bob: operator on kvm1 (lab-*)")."""

from django.contrib.auth.models import User

from networks.models import AuditEntry
from networks.stale.common import at, digest, hash_of, marker_of, sentence, version

_ACTIONS = ("user-add", "user-role", "grant-add", "grant-revoke")


def _state(user: User, role: str) -> list:
    grants = sorted([g.pk, g.role, g.host_id, g.networks] for g in user.grants.all())
    return [role, grants]


def _entries(user: User, after: int = 0) -> list[AuditEntry]:
    prefix = f"{user.username}: "
    found = AuditEntry.objects.filter(action__in=_ACTIONS, message__startswith=prefix, pk__gt=after)
    # The database may compare without case (SQLite's LIKE): the name must match exactly.
    return [entry for entry in found.order_by("pk") if entry.message.startswith(prefix)]


def access_version(user: User, role: str) -> str:
    """`role`: the global role as the page shows it."""
    prefix = f"{user.username}: "
    last = AuditEntry.objects.filter(action__in=_ACTIONS, message__startswith=prefix)
    return version(last.order_by("-pk").values_list("pk", flat=True).first(), _state(user, role))


def _event(entry: AuditEntry) -> str:
    who, when = entry.username or "someone", at(entry.created)
    what = entry.message.partition(": ")[2]
    if entry.action == "grant-add":
        return f"{who} granted {what} at {when}"
    if entry.action == "grant-revoke":
        return f"{who} revoked {what} at {when}"
    if entry.action == "user-role":
        before, _, after = what.partition(" -> ")
        return (
            f"{who} changed the global role from {before or 'none'} to {after or 'none'} at {when}"
        )
    return f"{who} created the user ({what}) at {when}"


def events_since(user: User, seen: str) -> list[str]:
    return [_event(entry) for entry in _entries(user, marker_of(seen))]


def refusal(user: User, role: str, seen: str) -> str:
    """Why a change made from a page that showed version `seen` is refused; "" when the role and
    grants are as it showed them (or it sent no version)."""
    if not seen or hash_of(seen) == digest(_state(user, role)):
        return ""
    events = events_since(user, seen) or ["they were changed outside these pages"]
    return (
        f"{user.username}'s role or grants changed since this page was drawn: "
        f"{sentence(events)}. Nothing was changed: look at them again."
    )


def already_revoked(user: User, seen: str) -> str:
    """What to say when the grant to revoke is not there any more."""
    revoked = [
        _event(entry) for entry in _entries(user, marker_of(seen)) if entry.action == "grant-revoke"
    ]
    by = f": {sentence(revoked)}" if seen and revoked else ""
    return f"That grant of {user.username} was revoked already{by}. Nothing was changed."
