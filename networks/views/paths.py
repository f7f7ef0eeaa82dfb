"""URL paths filled in without a reverse() per row: each pattern is reversed once with a
placeholder, and names are put in its place quoted as one path segment (`segment`).

The one quoting helper of the site. A name is the data of one path segment, so everything but
RFC 3986's unreserved characters, its sub-delimiters, ":" and "@" is percent-encoded, "/" too:
unencoded, "/" is the delimiter between segments and a name holding one would make a link of
another shape. For every name reverse() accepts (its str converter refuses "/") this is exactly
what reverse() writes; tests/test_paths.py holds both to that.
"""

import re
from urllib.parse import quote

from django.urls import reverse
from django.utils.http import RFC3986_SUBDELIMS

_PLAIN = re.compile(r"[A-Za-z0-9._-]*\Z")
# pchar (RFC 3986 3.3) without "%" (always encoded: a name's own "%" is data) and "~" kept as is.
_SAFE = RFC3986_SUBDELIMS + "~:@"


def segment(name: str) -> str:
    """`name` quoted as one path segment."""
    if _PLAIN.match(name):  # most names: nothing to quote, and this is the hot path of the list
        return name
    return quote(name, safe=_SAFE)


class NetworkPaths:
    """URL paths of hosts and networks without a reverse() per row: each is reversed once, with
    placeholders, and filled in with the names quoted as reverse() quotes them."""

    def __init__(self) -> None:
        self._network = reverse("network-detail", args=["HOST", "NAME"])
        self._host = reverse("host-detail", args=["HOST"])

    def network(self, host: str, name: str) -> str:
        return self._network.replace("HOST", segment(host), 1).replace("NAME", segment(name), 1)

    def host(self, host: str) -> str:
        return self._host.replace("HOST", segment(host), 1)
