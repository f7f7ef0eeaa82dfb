"""The switch editor's gateway and DHCP range follow its network while they are the suggestions.

The form carries, in a hidden field per family, the network its suggestions were made for. When
a review arrives with another network, a gateway or a range that is still the suggestion for the
old one moves to the suggestion for the new one (an empty one is the suggestion for no network:
a first IPv6 network gets them too); anything a person typed stays as typed, and is then checked
against the network. static/vnetweb/follow.js does the same as the person types;
this is the same rule for a browser without JavaScript, or one that posts before it ran.
"""

import ipaddress

from django.http import QueryDict

from networks.spec.defaults import suggested_gateway, suggested_range
from networks.spec.model import AnyNetwork, DhcpRange

FAMILIES = ("ipv4", "ipv6")


def network_of(text: str) -> AnyNetwork | None:
    """The network a network field names ("10.1.2.0/24", or the gateway's "10.1.2.1/24")."""
    try:
        return ipaddress.ip_interface(text.strip()).network if "/" in text else None
    except ValueError:
        return None


def range_text(rng: DhcpRange | None) -> str:
    return f"{rng.start} {rng.end}" if rng else ""


def follow_network(data: QueryDict) -> tuple[QueryDict, list[str]]:
    """`data` with the suggestions moved to the network typed, and what moved, in words."""
    data = data.copy()
    moved = []
    for family in FAMILIES:
        moved += _follow(data, family)
    return data, moved


def _follow(data: QueryDict, family: str) -> list[str]:
    before = network_of(data.get(f"{family}_suggested_for", ""))
    now = network_of(data.get(f"{family}_network", ""))
    if now is None:
        return []
    data[f"{family}_suggested_for"] = str(now)
    if before is not None and (before == now or before.version != now.version):
        return []
    moved = []
    gateway = data.get(f"{family}_gateway", "").split()
    if _same_addresses(gateway, [suggested_gateway(before)] if before else []):
        data[f"{family}_gateway"] = suggested_gateway(now)
        moved.append("gateway")
    if _is_range(data.get(f"{family}_ranges", ""), suggested_range(before) if before else None):
        data[f"{family}_ranges"] = range_text(suggested_range(now))
        moved.append("DHCP range")
    if not moved:
        return []
    label = family.replace("ipv", "IPv")
    return [f"The suggested {' and '.join(moved)} followed the {label} network to {now}."]


def _is_range(text: str, rng: DhcpRange | None) -> bool:
    """Whether a ranges field holds just `rng` (nothing, when there is no room for one)."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    if rng is None:
        return not lines
    tokens = lines[0].replace(",", " ").split() if len(lines) == 1 else []
    return _same_addresses(tokens, [rng.start, rng.end])


def _same_addresses(tokens: list[str], expected: list[str]) -> bool:
    if len(tokens) != len(expected):
        return False
    try:
        return all(
            ipaddress.ip_address(token) == ipaddress.ip_address(want)
            for token, want in zip(tokens, expected, strict=True)
        )
    except ValueError:
        return False
