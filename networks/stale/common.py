"""What the versions share: a short hash of a plain value, a version's parts, a time in words."""

import hashlib
import json
from datetime import datetime

from django.utils import timezone

# Longer markers are not ours: a page never sends a primary key of 19 digits.
_MARKER_DIGITS = 18


def digest(value: object) -> str:
    """A short hash of a value made of lists, dicts, strings and numbers."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(data.encode()).hexdigest()[:12]


def version(marker: int | None, value: object) -> str:
    return f"{marker or 0}.{digest(value)}"


def marker_of(version: str) -> int:
    """The marker of a version a page sent ("42.ab12…" -> 42); 0 for one that has none."""
    marker = version.partition(".")[0]
    return int(marker) if marker.isdigit() and len(marker) <= _MARKER_DIGITS else 0


def hash_of(version: str) -> str:
    return version.partition(".")[2]


def at(when: datetime) -> str:
    """10:42 today, 2025-03-01 10:42 another day (the site's time zone)."""
    local = timezone.localtime(when)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M}"
    return f"{local:%Y-%m-%d %H:%M}"


def sentence(events: list[str]) -> str:
    """Events as one sentence: "a; b; c"."""
    return "; ".join(events)
