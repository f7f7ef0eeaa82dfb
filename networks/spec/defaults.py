"""A sensible new network for a host: the next free private subnet and bridge name."""

import ipaddress
from collections.abc import Iterator

from networks.spec.context import HostContext
from networks.spec.model import AnyNetwork, DhcpRange, IpSpec, NetworkSpec

DEFAULT_POOL = ipaddress.ip_network("192.168.0.0/16")
# libvirt's own default network is 192.168.122.0/24; home routers like 192.168.0-99.
FIRST_DEFAULT = ipaddress.ip_network("192.168.100.0/24")
FALLBACK_POOL = ipaddress.ip_network("10.0.0.0/8")


def _candidates(pool: AnyNetwork, prefix: int) -> Iterator[AnyNetwork]:
    if pool != DEFAULT_POOL:
        yield from pool.subnets(new_prefix=prefix)
        return
    for net in pool.subnets(new_prefix=prefix):
        if net.network_address >= FIRST_DEFAULT.network_address:
            yield net
    yield from FALLBACK_POOL.subnets(new_prefix=prefix)


def next_free_subnet(
    context: HostContext, pool: AnyNetwork = DEFAULT_POOL, prefix: int = 24
) -> AnyNetwork | None:
    """The first subnet that no network on any known host and no host route overlaps."""
    taken = [net for _, net in context.subnets_here]
    taken += [net for _, _, net in context.subnets_elsewhere]
    taken += [route for route in context.routes if route.prefixlen]  # not the default route
    taken = [net for net in taken if net.version == pool.version]
    for candidate in _candidates(pool, prefix):
        if not any(candidate.overlaps(net) for net in taken):
            return candidate
    return None


def suggested_gateway(net: AnyNetwork) -> str:
    """The host's address vnetweb proposes in `net`: its first host address."""
    return str(net.network_address + 1 if net.num_addresses > 2 else net.network_address)


def suggested_range(net: AnyNetwork) -> DhcpRange | None:
    """The DHCP range vnetweb proposes in `net` (None when it has no room for one): IPv4 the rest
    of the subnet after the gateway, IPv6 ::100-::1ff. static/vnetweb/follow.js computes the same
    in the browser, so that the form follows the network as it is typed."""
    first, size = net.network_address, net.num_addresses
    if net.version == 6 and size >= 0x200:
        return DhcpRange(str(first + 0x100), str(first + 0x1FF))
    if size < 4:
        return None
    last = first + size - (2 if net.version == 4 else 1)  # not the IPv4 broadcast address
    return DhcpRange(str(first + 2), str(last))


def free_bridge_name(context: HostContext) -> str:
    used = set(context.bridges_in_use) | set(context.host_interfaces) | set(context.host_bridges)
    number = 0
    while f"virbr{number}" in used:
        number += 1
    return f"virbr{number}"


def default_spec(context: HostContext) -> NetworkSpec:
    """A NAT network on the next free /24 (gateway .1, DHCP .2-.254); the name is left to people."""
    spec = NetworkSpec(name="", mode="nat", bridge=free_bridge_name(context), stp=True)
    subnet = next_free_subnet(context)
    if subnet is not None:
        ranges = [rng] if (rng := suggested_range(subnet)) else []
        spec.ips = [IpSpec(suggested_gateway(subnet), subnet.prefixlen, dhcp_ranges=ranges)]
    return spec
