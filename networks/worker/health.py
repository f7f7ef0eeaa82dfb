"""The health verdict of a running switch: each problem named in words, with its fix if any.

Worked out by the worker from what it read on the host (networks.worker.survey) and stored with
the switch, so the page only shows it. A fix is an operation of networks.operations: restarting
a network makes libvirt build its bridge again, write its firewall rules again, turn on IP
forwarding for NAT and routed networks and start its dnsmasq.
"""

import ipaddress
from dataclasses import asdict, dataclass

from networks.gateway import firewall
from networks.gateway.hostside import HostNetworking
from networks.operations import Op
from networks.spec import NetworkSpec, modes


@dataclass(frozen=True)
class Problem:
    code: str
    text: str
    fix: str = ""  # an operation key (networks.operations), "" when there is nothing to run

    def as_dict(self) -> dict:
        return asdict(self)


def dnsmasq_expected(spec: NetworkSpec) -> bool:
    """libvirt runs dnsmasq for a network of its own bridge with an address that serves DHCP
    or DNS."""
    return spec.mode in modes.OWN_BRIDGE and bool(spec.ips) and (spec.has_dhcp or spec.dns_enabled)


def subnets(spec: NetworkSpec) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for ip in spec.ips:
        try:
            found.append(ip.network)
        except ValueError:
            continue
    return found


def collisions(spec: NetworkSpec, host: HostNetworking) -> list[dict]:
    """Routes of the host, on another device than this switch's bridge, that overlap its subnets
    (a default route overlaps everything and is left out)."""
    found = []
    mine = subnets(spec)
    for route, dst in host.route_networks():
        if dst.prefixlen == 0 or route.dev == spec.bridge:
            continue
        for subnet in mine:
            if subnet.version == dst.version and subnet.overlaps(dst):
                found.append({"dst": route.dst, "dev": route.dev, "subnet": str(subnet)})
    return found


def verdict(
    spec: NetworkSpec,
    host: HostNetworking,
    *,
    rules: list[firewall.Rule] | None,
    dnsmasq_pid: int | None,
    persistent: bool,
    forwards_missing: list[str] | None = None,
    forwards_blocked: str = "",
) -> list[Problem]:
    """The problems of a running network, most basic first (a missing bridge explains the rest)."""
    fix = Op.RESTART if persistent else ""
    problems: list[Problem] = []
    bridge = host.links.get(spec.bridge) if spec.bridge else None
    mode = modes.of(spec.mode)
    # A host bridge is the host's to mend: restarting the network does not bring it back.
    bridge_fix = fix if mode.own_bridge else ""
    if mode.own_bridge or mode.attaches == "bridge":
        if bridge is None:
            problems.append(
                Problem(
                    "bridge-missing",
                    f"The bridge {spec.bridge} does not exist on the host: guests have no switch "
                    "to plug into.",
                    bridge_fix,
                )
            )
        elif not bridge.up:
            problems.append(
                Problem(
                    "bridge-down",
                    f"The bridge {spec.bridge} is down (ip link set {spec.bridge} up, or restart "
                    "the network): guests cannot reach anything through it.",
                    bridge_fix,
                )
            )
    if dnsmasq_expected(spec) and dnsmasq_pid is None:
        what = "DHCP and DNS" if spec.has_dhcp else "DNS"
        problems.append(
            Problem(
                "dnsmasq-down",
                f"dnsmasq is not running for this network: guests get no {what} from it.",
                fix,
            )
        )
    if mode.forwards:
        problems.extend(_forwarding_problems(spec, host, fix))
        if rules is not None:
            problems.extend(_firewall_problems(spec, rules, fix))
    if forwards_missing:
        problems.append(
            Problem(
                "forwards-missing",
                "Port forwards not in place: the host's firewall lacks "
                f"{'; '.join(forwards_missing)}. Connections to these ports of the host do not "
                "reach the guest.",
                Op.FORWARDS_APPLY,
            )
        )
    if forwards_blocked:
        # Nothing vnetweb can run mends it: the host's libvirt must change backends.
        problems.append(Problem("forwards-blocked", forwards_blocked))
    for hit in collisions(spec, host):
        problems.append(
            Problem(
                "subnet-collision",
                f"The host also routes {hit['dst']} via {hit['dev'] or 'another device'}, which "
                f"overlaps this network's {hit['subnet']}: traffic for those addresses may go "
                "the wrong way. Change one of the two subnets.",
            )
        )
    return problems


def _forwarding_problems(spec: NetworkSpec, host: HostNetworking, fix: str) -> list[Problem]:
    found = []
    families = {net.version for net in subnets(spec)}
    sysctls = ((4, "ipv4", "net.ipv4.ip_forward"), (6, "ipv6", "net.ipv6.conf.all.forwarding"))
    for version, key, sysctl in sysctls:
        if version in families and host.forwarding.get(key) is False:
            found.append(
                Problem(
                    f"forwarding-off-{key}",
                    f"IP forwarding is off on the host ({sysctl} = 0): the host does not pass "
                    "the guests' traffic on. libvirt turns it on when the network starts.",
                    fix,
                )
            )
    return found


def _firewall_problems(spec: NetworkSpec, rules: list[firewall.Rule], fix: str) -> list[Problem]:
    found = []
    if not firewall.has_forward_rules(rules, spec.bridge):
        found.append(
            Problem(
                "forward-rules-missing",
                f"The firewall rules that let traffic of {spec.bridge} through the host are "
                "missing: guests cannot reach outside, nor be answered.",
                fix,
            )
        )
    if spec.mode == "nat":
        for subnet in subnets(spec):
            if subnet.version == 4 and not firewall.has_masquerade(rules, str(subnet)):
                found.append(
                    Problem(
                        "nat-rules-missing",
                        f"The masquerade (NAT) rules for {subnet} are missing: guests' traffic "
                        "leaves with their private addresses and no answer comes back.",
                        fix,
                    )
                )
    return found
