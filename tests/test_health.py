"""The health verdict of a running switch, from what a worker read on the host (no libvirt)."""

import json
from pathlib import Path

from networks.gateway.firewall import rules_for
from networks.gateway.hostside import HostNetworking, Link, Route
from networks.spec import DhcpRange, IpSpec, NetworkSpec
from networks.worker.health import collisions, dnsmasq_expected, verdict


def spec(mode: str = "nat", **fields) -> NetworkSpec:
    defaults = {
        "name": "lab",
        "mode": mode,
        "bridge": "virbr9",
        "ips": [
            IpSpec(
                address="192.168.9.1",
                prefix=24,
                dhcp_ranges=[DhcpRange("192.168.9.100", "192.168.9.200")],
            )
        ],
    }
    return NetworkSpec(**{**defaults, **fields})


def link(name: str = "virbr9", up: bool = True, master: str = "") -> Link:
    return Link(
        name=name,
        index=9,
        kind="bridge",
        mac="52:54:00:00:00:09",
        mtu=1500,
        up=up,
        operstate="UP" if up else "DOWN",
        master=master,
        addresses=("192.168.9.1/24",),
        counters={},
    )


def machine(*links: Link, routes=(), ipv4: bool | None = True) -> HostNetworking:
    return HostNetworking(
        links={item.name: item for item in links},
        routes=list(routes) or [Route("192.168.9.0/24", "virbr9")],
        forwarding={"ipv4": ipv4, "ipv6": False},
        ruleset=None,
    )


def codes(problems) -> list[str]:
    return [problem.code for problem in problems]


def test_a_running_switch_with_its_bridge_dnsmasq_and_forwarding_has_no_problem():
    assert verdict(spec(), machine(link()), rules=None, dnsmasq_pid=42, persistent=True) == []


def test_a_missing_bridge_is_named_and_restarting_fixes_it():
    [problem] = verdict(spec(), machine(), rules=None, dnsmasq_pid=42, persistent=True)
    assert problem.code == "bridge-missing"
    assert "virbr9 does not exist" in problem.text
    assert problem.fix == "restart"


def test_a_bridge_set_down_is_named():
    problems = verdict(spec(), machine(link(up=False)), rules=None, dnsmasq_pid=42, persistent=True)
    assert codes(problems) == ["bridge-down"]


def test_a_transient_network_cannot_be_fixed_by_a_restart():
    [problem] = verdict(spec(), machine(), rules=None, dnsmasq_pid=42, persistent=False)
    assert problem.fix == ""


def test_dnsmasq_not_running_for_a_network_with_dhcp_is_named():
    [problem] = verdict(spec(), machine(link()), rules=None, dnsmasq_pid=None, persistent=True)
    assert problem.code == "dnsmasq-down"
    assert "no DHCP and DNS" in problem.text


def test_which_networks_need_dnsmasq():
    assert dnsmasq_expected(spec())
    assert dnsmasq_expected(spec(ips=[IpSpec("10.0.0.1", 24)]))  # DNS only
    assert not dnsmasq_expected(spec(ips=[IpSpec("10.0.0.1", 24)], dns_enabled=False))
    assert not dnsmasq_expected(spec(ips=[]))
    assert not dnsmasq_expected(spec(mode="bridge", ips=[]))


def test_ip_forwarding_off_matters_to_nat_and_routed_networks_only():
    host = machine(link(), ipv4=False)
    for mode in ("nat", "route"):
        problems = verdict(spec(mode), host, rules=None, dnsmasq_pid=42, persistent=True)
        assert codes(problems) == ["forwarding-off-ipv4"], mode
        assert "net.ipv4.ip_forward = 0" in problems[0].text
    assert verdict(spec("isolated"), host, rules=None, dnsmasq_pid=42, persistent=True) == []


def test_unknown_forwarding_is_not_a_problem():
    host = machine(link(), ipv4=None)
    assert verdict(spec(), host, rules=None, dnsmasq_pid=42, persistent=True) == []


def test_a_route_of_another_device_overlapping_the_subnet_is_a_collision():
    host = machine(
        link(),
        routes=[
            Route("192.168.9.0/24", "virbr9"),  # the switch's own
            Route("192.168.9.128/25", "eth1"),
            Route("0.0.0.0/0", "eth0", "192.0.2.1"),  # the default route overlaps everything
            Route("10.0.0.0/8", "eth1"),
        ],
    )
    problems = verdict(spec(), host, rules=None, dnsmasq_pid=42, persistent=True)
    assert codes(problems) == ["subnet-collision"]
    assert "192.168.9.128/25 via eth1" in problems[0].text
    assert problems[0].fix == ""
    assert collisions(spec(), host) == [
        {"dst": "192.168.9.128/25", "dev": "eth1", "subnet": "192.168.9.0/24"}
    ]


def test_a_host_bridge_network_needs_its_bridge_but_libvirt_cannot_rebuild_it():
    bridged = spec("bridge", bridge="br0", ips=[])
    [problem] = verdict(bridged, machine(), rules=None, dnsmasq_pid=None, persistent=True)
    assert problem.code == "bridge-missing" and problem.fix == ""


def _real_rules():
    ruleset = json.loads((Path(__file__).parent / "data" / "nft_ruleset_nat.json").read_text())
    return rules_for(ruleset["nftables"], bridge="vnwtprobe0", subnets=["10.213.250.0/24"])


def probe(mode: str = "nat") -> NetworkSpec:
    return spec(mode, bridge="vnwtprobe0", ips=[IpSpec("10.213.250.1", 24)])


def test_a_nat_network_with_libvirts_rules_in_place_is_healthy():
    host = machine(link("vnwtprobe0"), routes=[Route("10.213.250.0/24", "vnwtprobe0")])
    assert verdict(probe(), host, rules=_real_rules(), dnsmasq_pid=7, persistent=True) == []


def test_missing_masquerade_rules_are_named_with_the_subnet_and_fixed_by_a_restart():
    host = machine(link("vnwtprobe0"), routes=[Route("10.213.250.0/24", "vnwtprobe0")])
    rules = [rule for rule in _real_rules() if "MASQUERADE" not in rule.text]
    [problem] = verdict(probe(), host, rules=rules, dnsmasq_pid=7, persistent=True)
    assert problem.code == "nat-rules-missing"
    assert "10.213.250.0/24" in problem.text and problem.fix == "restart"
    # A routed network masquerades nothing: the same rules are all it needs.
    assert verdict(probe("route"), host, rules=rules, dnsmasq_pid=7, persistent=True) == []


def test_missing_forward_rules_are_named():
    host = machine(link("vnwtprobe0"), routes=[Route("10.213.250.0/24", "vnwtprobe0")])
    rules = [rule for rule in _real_rules() if not rule.chain.startswith("LIBVIRT_FW")]
    problems = verdict(probe("route"), host, rules=rules, dnsmasq_pid=7, persistent=True)
    assert codes(problems) == ["forward-rules-missing"]


def test_an_unreadable_firewall_is_no_verdict_on_the_rules():
    host = machine(link("vnwtprobe0"), routes=[Route("10.213.250.0/24", "vnwtprobe0")])
    assert verdict(probe(), host, rules=None, dnsmasq_pid=7, persistent=True) == []


def forwards_verdict(**forwards) -> list:
    """The verdict of a healthy running NAT switch, with what the survey found of its forwards."""
    return verdict(spec(), machine(link()), rules=None, dnsmasq_pid=42, persistent=True, **forwards)


def test_port_forwards_missing_from_the_firewall_are_named_with_their_fix():
    [problem] = forwards_verdict(forwards_missing=["TCP *:8080 -> web 192.168.9.10:80"])
    assert problem.code == "forwards-missing"
    assert problem.fix == "forwards_apply"
    assert "TCP *:8080 -> web 192.168.9.10:80" in problem.text


def test_forwards_rejected_by_libvirts_nftables_are_a_problem_without_a_fix():
    words = "libvirt on lab writes its switches' firewall with nftables"
    [problem] = forwards_verdict(forwards_missing=[], forwards_blocked=words)
    assert problem.code == "forwards-blocked"
    assert problem.fix == ""
    assert problem.text == words


def test_forwards_all_in_place_are_no_problem():
    assert forwards_verdict(forwards_missing=[]) == []
