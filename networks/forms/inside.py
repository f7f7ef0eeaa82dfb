"""What lies outside the networks typed into the switch editor, in words.

The spec keeps an address as the host's own address and a prefix, not as the network typed: a
gateway outside that network would quietly put the switch on the gateway's subnet instead (issue
17: 10.215.41.0/24 typed, 192.168.100.1/24 made), so the form checks the gateway against it. While
the gateway is outside, no review runs (the spec's rules would judge the ranges, hosts and routes
against the gateway's subnet), so those are checked here too, to say all of it at once; once the
gateway is inside, the spec's rules (networks/spec/rules_addresses.py) judge them against the very
network typed, and also say when a range covers the gateway.
"""

import ipaddress
from collections.abc import Callable, Iterable

from networks.forms.lines import Parsed
from networks.spec.model import AnyNetwork

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
# List fields of a family, and the addresses of one of their records.
LISTED: dict[str, Callable[..., tuple[str, ...]]] = {
    "ranges": lambda rng: (rng.start, rng.end),
    "hosts": lambda host: (host.ip,),
}


def address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None  # the spec's rules say what is wrong with it


def inside(found: Address, network: AnyNetwork) -> bool:
    return found.version == network.version and found in network


def gateway_problem(gateway: str, network: AnyNetwork) -> str | None:
    found = address(gateway)
    if found is None or inside(found, network):
        return None
    label = f"IPv{network.version}"
    return f"{found} is outside {network}, the {label} network; the host needs an address inside it"


def outside_problems(
    networks: dict[str, AnyNetwork], dhcp: Iterable[str], parsed: dict[str, Parsed]
) -> list[tuple[str, str]]:
    """(field, message) for each listed address outside its family's network (`dhcp`: the
    families whose DHCP is on) and each route next-hop outside all of them."""
    problems = []
    for family in dhcp:
        if family not in networks:
            continue
        for kind, addresses in LISTED.items():
            field = f"{family}_{kind}"
            records = parsed.get(field, Parsed())
            for record, line in zip(records.items, records.lines, strict=True):
                for found in filter(None, map(address, addresses(record))):
                    if not inside(found, networks[family]):
                        problems.append(
                            (field, f"line {line}: {found} is outside {networks[family]}")
                        )
    routes = parsed.get("routes", Parsed())
    for route, line in zip(routes.items, routes.lines, strict=True):
        via = address(route.gateway)
        if via is not None and not any(inside(via, net) for net in networks.values()):
            message = f"gateway {via} is not inside this network's own subnets: unreachable"
            problems.append(("routes", f"line {line}: {message}"))
    return problems
