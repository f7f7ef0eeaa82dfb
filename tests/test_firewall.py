"""Reading the firewall: a network's rules out of `nft -j list ruleset`, printed as `nft list`
prints them, and the checks of the health verdict. The fixture is a real ruleset of this host
(libvirt 9.0, iptables-nft) with a NAT network vnwt-probe on vnwtprobe0, 10.213.250.0/24."""

import json
import shutil
from pathlib import Path

import pytest

from networks.gateway import firewall
from networks.gateway.firewall import has_forward_rules, has_masquerade, render, rules_for

REAL = json.loads((Path(__file__).parent / "data" / "nft_ruleset_nat.json").read_text())["nftables"]
BRIDGE, SUBNET = "vnwtprobe0", "10.213.250.0/24"


def meta(key: str, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": right}}


def addr(field: str, right, op: str = "==", protocol: str = "ip") -> dict:
    return {
        "match": {
            "op": op,
            "left": {"payload": {"protocol": protocol, "field": field}},
            "right": right,
        }
    }


def prefix(address: str, length: int) -> dict:
    return {"prefix": {"addr": address, "len": length}}


def rule(chain: str, *expr, table: str = "filter", family: str = "ip", handle: int = 1) -> dict:
    return {
        "rule": {
            "family": family,
            "table": table,
            "chain": chain,
            "handle": handle,
            "expr": list(expr),
        }
    }


# Another network whose names and subnet begin like the probe's: never one of its rules.
NEIGHBOUR = [
    rule(
        "LIBVIRT_FWO",
        meta("iifname", "vnwtprobe01"),
        addr("saddr", prefix("10.213.25.0", 24)),
        {"accept": None},
    ),
    rule(
        "LIBVIRT_PRT", addr("saddr", prefix("10.213.25.0", 24)), {"masquerade": None}, table="nat"
    ),
]


def texts(rules) -> list[str]:
    return [r.text for r in rules]


def test_the_rules_of_a_nat_network_are_picked_out_of_the_real_ruleset():
    mine = rules_for(REAL + NEIGHBOUR, bridge=BRIDGE, subnets=[SUBNET])
    assert len(mine) == 19
    assert {(r.family, r.table) for r in mine} == {
        ("ip", "filter"),
        ("ip", "nat"),
        ("ip", "mangle"),
    }
    assert all("vnwtprobe01" not in text and "10.213.25.0" not in text for text in texts(mine))
    # Counters are kept apart from the text, which stays the same between reads.
    multicast = next(r for r in mine if "224.0.0.0/24" in r.text)
    assert multicast.packets == 1 and multicast.bytes == 40
    assert "packets" not in multicast.text


def test_rules_are_printed_as_nft_list_prints_them():
    mine = texts(rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET]))
    assert 'iifname "vnwtprobe0" udp dport 53 counter accept' in mine
    assert 'iifname "vnwtprobe0" ip saddr 10.213.250.0/24 counter accept' in mine
    assert 'iifname "vnwtprobe0" counter xt target REJECT' in mine
    assert 'iifname "vnwtprobe0" oifname "vnwtprobe0" counter accept' in mine
    assert "ip saddr 10.213.250.0/24 ip daddr 224.0.0.0/24 counter return" in mine
    assert (
        "meta l4proto tcp ip saddr 10.213.250.0/24 ip daddr != 10.213.250.0/24 counter "
        "xt target MASQUERADE"
    ) in mine
    assert 'oifname "vnwtprobe0" udp dport 68 counter xt target CHECKSUM' in mine


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ([meta("iifname", {"set": ["a", "b"]})], "iifname { a, b }"),
        (
            [
                {
                    "match": {
                        "op": "in",
                        "left": {"ct": {"key": "state"}},
                        "right": ["established", "related"],
                    }
                }
            ],
            "ct state established,related",
        ),
        ([addr("dport", {"range": [1024, 65535]}, protocol="tcp")], "tcp dport 1024-65535"),
        ([addr("saddr", prefix("fd00:1::", 64), protocol="ip6")], "ip6 saddr fd00:1::/64"),
        ([{"jump": {"target": "LIBVIRT_FWO"}}], "jump LIBVIRT_FWO"),
        ([{"goto": {"target": "x"}}], "goto x"),
        ([{"drop": None}], "drop"),
        (
            [{"reject": {"type": "icmp", "expr": "port-unreachable"}}],
            "reject with icmp port-unreachable",
        ),
        ([{"masquerade": {"port": {"range": [1024, 65535]}}}], "masquerade to :1024-65535"),
        ([{"snat": {"addr": "192.0.2.7"}}], "snat to 192.0.2.7"),
        ([{"xt": {"type": "match", "name": "conntrack"}}], "xt match conntrack"),
        ([{"log": {"prefix": "libvirt: "}}], 'log prefix "libvirt: "'),
        ([{"mangle": {"key": {"meta": {"key": "mark"}}, "value": 7}}], "meta mark set 7"),
        ([{"queue": {"num": 3}}], "<queue>"),  # unknown: named, never an error
    ],
)
def test_each_kind_of_expression_is_printed(expr, text):
    assert render({"expr": expr}) == text


def test_a_comment_follows_the_rule():
    assert render({"expr": [{"accept": None}], "comment": "hi"}) == 'accept comment "hi"'


def test_addresses_count_when_inside_the_subnet_ipv4_and_ipv6():
    ruleset = [
        rule("x", addr("daddr", "10.213.250.9"), {"accept": None}, handle=1),
        rule("x", addr("daddr", prefix("10.213.0.0", 16)), {"accept": None}, handle=2),  # wider
        rule(
            "x",
            addr("saddr", prefix("fd00:9::", 64), protocol="ip6"),
            {"accept": None},
            family="ip6",
            handle=3,
        ),
        rule(
            "x",
            addr("saddr", prefix("fd00:99::", 64), protocol="ip6"),
            {"accept": None},
            family="ip6",
            handle=4,
        ),
    ]
    mine = rules_for(ruleset, bridge="none", subnets=[SUBNET, "fd00:9::/64"])
    assert [r.handle for r in mine] == [1, 3]


def test_the_real_nat_network_has_its_masquerade_and_forward_rules():
    mine = rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET])
    assert has_masquerade(mine, SUBNET)
    assert has_forward_rules(mine, BRIDGE)


def test_without_its_masquerade_rules_a_nat_network_is_found_wanting():
    mine = [
        r for r in rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET]) if "MASQUERADE" not in r.text
    ]
    assert not has_masquerade(mine, SUBNET)
    assert has_forward_rules(mine, BRIDGE)


def test_without_the_rule_that_lets_answers_back_in_forwarding_is_found_wanting():
    mine = [r for r in rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET]) if r.chain != "LIBVIRT_FWI"]
    assert not has_forward_rules(mine, BRIDGE)
    # DHCP and DNS to the host itself (LIBVIRT_INP/OUT) do not count as forwarding.
    only_host = [
        r
        for r in rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET])
        if r.chain.endswith(("INP", "OUT"))
    ]
    assert not has_forward_rules(only_host, BRIDGE)


def test_libvirt_10s_native_tables_are_understood():
    native = [
        rule(
            "guest_output",
            meta("iifname", "virbr0"),
            addr("saddr", prefix("192.168.122.0", 24)),
            {"accept": None},
            table="libvirt_network",
        ),
        rule(
            "guest_input",
            meta("oifname", "virbr0"),
            addr("daddr", prefix("192.168.122.0", 24)),
            {"accept": None},
            table="libvirt_network",
        ),
        rule(
            "guest_nat",
            addr("saddr", prefix("192.168.122.0", 24)),
            addr("daddr", prefix("192.168.122.0", 24), op="!="),
            {"masquerade": None},
            table="libvirt_network",
        ),
    ]
    mine = rules_for(native, bridge="virbr0", subnets=["192.168.122.0/24"])
    assert len(mine) == 3
    assert has_forward_rules(mine, "virbr0")
    assert has_masquerade(mine, "192.168.122.0/24")


def test_libvirts_own_nftables_tables_are_told_from_its_iptables_rules():
    assert firewall.libvirt_native(REAL) is False, "libvirt 9 writes through iptables-nft"
    native = [
        {"table": {"family": "ip", "name": "libvirt_network", "handle": 7}},
        {"table": {"family": "ip6", "name": "libvirt_network", "handle": 8}},
    ]
    assert firewall.libvirt_native(REAL + native) is True
    assert firewall.libvirt_native(None) is None, "not read: not known"


def test_a_rule_survives_the_trip_through_the_database():
    [first, *_] = rules_for(REAL, bridge=BRIDGE, subnets=[SUBNET])
    assert firewall.Rule.from_dict(json.loads(json.dumps(first.to_dict()))) == first


def test_without_nft_the_ruleset_is_not_known(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert firewall.read_ruleset() is None


@pytest.mark.skipif(shutil.which("nft") is None, reason="nft is not installed here")
def test_this_machines_ruleset_can_be_read():
    assert isinstance(firewall.read_ruleset(), list)
