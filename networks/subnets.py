"""Subnets as fixed-width hex bounds, so that the database can sort and search them as text.

An IPv4 network is stored as 8 hex digits for its first and last address, an IPv6 one as 32:
strings of one width compare like the numbers they spell, so "which networks overlap
10.1.0.0/16" is two string comparisons on indexed columns, on SQLite and PostgreSQL alike.
"""

import ipaddress

AnyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _hex(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    width = 8 if address.version == 4 else 32
    return f"{int(address):0{width}x}"


def bounds(network: AnyNetwork) -> tuple[str, str]:
    """("0a000000", "0a0000ff") for 10.0.0.0/24."""
    return _hex(network.network_address), _hex(network.broadcast_address)


def parse(text: str) -> AnyNetwork | None:
    """A subnet or a single address as typed ("10.1.0.0/16", "10.1.2.3", "fd00::/64"); None if
    it is neither. A host address with a prefix ("10.1.2.3/16") means its subnet."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None
