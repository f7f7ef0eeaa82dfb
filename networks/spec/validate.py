"""Check a NetworkSpec before it reaches libvirt: pure functions, no database, no libvirt.

Errors block saving; warnings are shown (an overlap with a network on another host may be meant).
Messages name the value and are keyed by the form field they are about.
"""

from networks.spec.context import HostContext, Problems
from networks.spec.model import NetworkSpec
from networks.spec.rules_addresses import check_ips
from networks.spec.rules_dns import check_dns
from networks.spec.rules_network import (
    check_bridge,
    check_dnsmasq_options,
    check_forward,
    check_mac,
    check_mode,
    check_name,
    check_network_bandwidth,
    check_portgroups,
    check_switches,
)

__all__ = ["HostContext", "Problems", "validate"]


def validate(
    spec: NetworkSpec, context: HostContext, original: NetworkSpec | None = None
) -> Problems:
    """All problems of `spec` on the host described by `context`.

    `original` is the network being edited (None when creating): its name is then fixed, and
    its own subnets and bridge in `context` are not conflicts.
    """
    problems = Problems()
    own = original.name if original is not None else None
    check_name(spec, context, problems, original)
    if check_mode(spec, problems):
        check_forward(spec, context, problems)
        check_bridge(spec, context, problems, original)
        check_ips(spec, context, problems, own)
        check_dns(spec, problems)
        check_network_bandwidth(spec, problems)
        check_portgroups(spec, problems)
        check_dnsmasq_options(spec, problems, original)
    check_mac(spec, problems)
    check_switches(spec, problems)
    return problems
