"""What the switch editor's validation knows about a host, read from the database.

Workers keep these rows current (networks, and the host's bridges, NICs and routes), so the
editor never asks libvirt while a person types.
"""

import ipaddress

from networks.models import Host, Network
from networks.spec import HostContext


def _names(items: list) -> list[str]:
    # Inventory entries are dicts with a "name" (or plain names in older rows).
    return [item if isinstance(item, str) else item.get("name", "") for item in items or []]


def _subnets(network: Network) -> list:
    subnets = []
    for address in network.addresses or []:
        try:
            subnets.append(ipaddress.ip_network(address["cidr"], strict=False))
        except (KeyError, ValueError):
            continue
    return subnets


def _route_networks(routes: list) -> list:
    found = []
    for route in routes or []:
        dst = route if isinstance(route, str) else route.get("dst", "")
        try:
            found.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            continue
    return found


HIDDEN = "a network you cannot see"


def host_context(
    host: Host, editing: Network | None = None, visible: set[int] | None = None
) -> HostContext:
    """The host as validation sees it; `editing` is the network being changed (not a conflict).
    `visible`: the ids of the networks the user may see (None: all); the others still count as
    clashes, but their names and hosts are not given away."""

    def shown(network: Network) -> str:
        return network.name if visible is None or network.pk in visible else HIDDEN

    context = HostContext(
        host_bridges=_names(host.bridges),
        host_interfaces=_names(host.interfaces),
    )
    own_routes = set(_subnets(editing)) if editing else set()
    context.routes = [r for r in _route_networks(host.routes) if r not in own_routes]
    networks = Network.objects.select_related("host").only(
        "name", "bridge", "addresses", "host__name"
    )
    for network in networks:
        if editing is not None and network.pk == editing.pk:
            continue
        if network.host_id == host.pk:
            context.network_names.append(network.name)
            if network.bridge:
                context.bridges_in_use[network.bridge] = f"network {shown(network)}"
            context.subnets_here += [(shown(network), net) for net in _subnets(network)]
        else:
            seen = visible is None or network.pk in visible
            context.subnets_elsewhere += [
                (network.host.name if seen else "another host", shown(network), net)
                for net in _subnets(network)
            ]
    return context
