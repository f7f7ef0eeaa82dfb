"""Which leases a table shows and in what order: a text filter, static or dynamic, a sort column.

Shared by a network's lease table, its CSV export and the search across every network. Every
choice is a URL parameter (q, kind, sort), so a filtered table can be bookmarked and shared.
"""

import ipaddress
import math
import re
import socket
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import QueryDict

from networks.models import Lease

FIELDS = ("mac", "ip", "prefix", "hostname", "client_id", "expires", "static", "guest")
KINDS = [("", "Static and dynamic"), ("static", "Static only"), ("dynamic", "Dynamic only")]
MAX_TEXT = 200
_NEVER = datetime.max.replace(tzinfo=UTC)


def ip_key(ip: str) -> tuple[int, bytes]:
    """Sorts addresses as numbers, IPv4 first (inet_pton: ipaddress is ten times slower)."""
    try:
        return (4, socket.inet_pton(socket.AF_INET, ip))
    except OSError:
        try:
            return (6, socket.inet_pton(socket.AF_INET6, ip))
        except OSError:
            return (9, ip.encode())


def _text_last(value: str) -> tuple[bool, str]:
    """Names A to Z, leases without one after them."""
    return (not value, value.lower())


# Each column's order; equal values keep address order.
SORTS = {
    "ip": lambda lease: ip_key(lease["ip"]),
    "mac": lambda lease: (lease["mac"].lower(), ip_key(lease["ip"])),
    "hostname": lambda lease: (*_text_last(lease["hostname"]), ip_key(lease["ip"])),
    "expires": lambda lease: (lease["expires"] or _NEVER, ip_key(lease["ip"])),
    "guest": lambda lease: (*_text_last(lease["guest"]), ip_key(lease["ip"])),
}
DEFAULT_SORT = "ip"


@dataclass(frozen=True)
class LeaseQuery:
    q: str = ""
    kind: str = ""  # "", "static" or "dynamic"
    sort: str = DEFAULT_SORT  # a key of SORTS, "-" in front for descending

    @classmethod
    def from_params(cls, params: QueryDict) -> "LeaseQuery":
        """What the URL asks for; anything unknown falls back to the default."""
        kind = params.get("kind", "")
        sort = params.get("sort", "") or DEFAULT_SORT
        return cls(
            q=clean_text(params.get("q", "")),
            kind=kind if kind in dict(KINDS) else "",
            sort=sort if sort.lstrip("-") in SORTS else DEFAULT_SORT,
        )

    @property
    def is_default(self) -> bool:
        return self == LeaseQuery()

    @property
    def filtered(self) -> bool:
        return bool(self.q or self.kind)

    @property
    def column(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def params(self, **changes: str) -> str:
        """The query string of this choice (with `changes`), without what is left at default."""
        query = replace(self, **changes)
        pairs = [("q", query.q), ("kind", query.kind)]
        if query.sort != DEFAULT_SORT:
            pairs.append(("sort", query.sort))
        return urlencode([(key, value) for key, value in pairs if value])

    def apply(self, leases: QuerySet[Lease]) -> list[dict]:
        """The leases this choice shows, in its order, as dicts of FIELDS."""
        if self.q:
            leases = leases.filter(text_match(self.q))
        if self.kind:
            leases = leases.filter(static=self.kind == "static")
        rows = list(leases.values(*FIELDS))
        rows.sort(key=SORTS[self.column], reverse=self.descending)
        return rows


def clean_text(text: str) -> str:
    """Typed words as they are looked for: single spaces, at most MAX_TEXT characters."""
    return " ".join(text.split())[:MAX_TEXT]


def pinnable(lease: dict) -> bool:
    """Whether a lease (a row of `LeaseQuery.apply`) can become a reservation: a dynamic one whose
    client is named in full, an IPv6 one by its DUID (dnsmasq gives it as the client ID)."""
    return bool(
        not lease["static"]
        and (":" not in lease["ip"] or lease["client_id"])
        and not Lease.was_cut(lease["mac"], lease["client_id"])
    )


def mac_form(word: str) -> str:
    """A MAC as dnsmasq writes it: 52-54-00-AB-CD-EF, 525400abcdef or 5254.00ab.cdef all become
    52:54:00:ab:cd:ef; a part of one (52-54-00) becomes 52:54:00."""
    word = word.lower()
    bare = word.replace(".", "") if re.fullmatch(r"[0-9a-f]{4}(\.[0-9a-f]{4}){2}", word) else word
    if re.fullmatch(r"[0-9a-f]{12}", bare):
        return ":".join(bare[i : i + 2] for i in range(0, 12, 2))
    return word.replace("-", ":")


def _is_address(word: str) -> bool:
    try:
        ipaddress.ip_address(word)
    except ValueError:
        return False
    return True


def text_match(text: str) -> Q:
    """Leases matching every word of `text`, each in the address, MAC, hostname, client ID or
    guest. A whole address matches only itself (10.0.0.1 is not also 10.0.0.10 to .199)."""
    match = Q()
    for word in text.lower().split():
        if _is_address(word):
            match &= Q(ip=word)
            continue
        # Lease.search: the address, MAC, hostname, client ID and guest; a MAC typed as dnsmasq
        # does not write it (52-54-00-…, 5254.00ab…) is also looked for as dnsmasq writes it.
        words = Q(search__contains=word)
        if (mac := mac_form(word)) != word:
            words |= Q(search__contains=mac)
        match &= words
    return match


def time_left(seconds: float) -> str:
    """'in 1 min 40 s', 'in 2 h 5 min', 'in 3 d', or 'expired'."""
    if seconds <= 0:
        return "expired"
    rest = math.ceil(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, rest = divmod(rest, size)
        if count or parts:
            parts.append((count, unit))
    big, *small = parts[:2]
    words = [f"{big[0]} {big[1]}"] + [f"{n} {unit}" for n, unit in small if n]
    return "in " + " ".join(words)
