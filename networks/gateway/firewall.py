"""The host's firewall as `nft -j list ruleset` reports it: the rules that belong to one network,
printed as `nft list ruleset` prints them, and the checks the health verdict needs.

JSON, read through a parser, rather than the text output: every match is a structure (left side,
operator, right side), so "iifname virbr0" cannot be mistaken for virbr01 and a rule's subnet is
compared as a network, not as a string. libvirt 9 writes its rules with iptables on the nf_tables
backend, so they appear here too (tables ip filter/nat/mangle, chains LIBVIRT_*), with targets
nft cannot translate shown as `xt target MASQUERADE` exactly as `nft list` does. libvirt 10+
writes native tables (`ip libvirt_network`), which the same code reads.

Counters are left out of the text (a rule's packet count changes with every packet, and the page
shows the text only when something changed); they are kept apart in `Rule.packets`/`bytes`.
"""

import ipaddress
import json
import logging
import shutil
import subprocess
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)

_warned = False


def read_ruleset(timeout: float = 5.0) -> list[dict] | None:
    """The whole ruleset as nft's JSON list, or None when it cannot be read (nft missing, not
    permitted, too slow). Never raises: the page then says the firewall could not be read."""
    global _warned
    nft = shutil.which("nft")
    try:
        if nft is None:
            raise OSError("the nft command is not installed")
        done = subprocess.run(
            [nft, "-j", "list", "ruleset"], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or f"nft exited with {done.returncode}")
        return json.loads(done.stdout).get("nftables", [])
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        if not _warned:
            log.warning("cannot read the firewall with nft: %s", exc)
            _warned = True
        return None


# libvirt 10.4 and later may write its switches' rules natively (firewall_backend = "nftables"
# in network.conf, the build's default where nft is installed), in tables "ip libvirt_network"
# and "ip6 libvirt_network" of their own.
LIBVIRT_TABLE = "libvirt_network"


def libvirt_native(ruleset: list[dict] | None) -> bool | None:
    """Whether libvirt writes its switches' rules in nftables tables of its own (its nftables
    backend) rather than through iptables (libvirt 9, or firewall_backend = "iptables"); None
    when the ruleset could not be read. The tables exist while one of its switches runs."""
    if ruleset is None:
        return None
    return any((item.get("table") or {}).get("name") == LIBVIRT_TABLE for item in ruleset)


@dataclass(frozen=True)
class Rule:
    family: str
    table: str
    chain: str
    handle: int
    text: str  # as `nft list ruleset` prints it, counters without their numbers
    packets: int = 0
    bytes: int = 0
    iifname: str = ""  # the interface matched on, if any (for the health checks)
    oifname: str = ""
    saddr: str = ""  # the source network matched with ==, if any ("10.0.0.0/24")
    verdict: str = ""  # accept, drop, reject, return, jump X, masquerade, snat, ...

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Rule":
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


# --- rendering ---------------------------------------------------------------------------------


def _value(right) -> str:
    if isinstance(right, dict):
        if "prefix" in right:
            return f"{right['prefix']['addr']}/{right['prefix']['len']}"
        if "set" in right:
            return "{ " + ", ".join(_value(item) for item in right["set"]) + " }"
        if "range" in right:
            low, high = right["range"]
            return f"{_value(low)}-{_value(high)}"
        return f"<{next(iter(right), '?')}>"
    if isinstance(right, list):
        return ",".join(_value(item) for item in right)
    return str(right)


def _left(left) -> str:
    if isinstance(left, dict):
        if "meta" in left:
            key = left["meta"]["key"]
            # nft prints these without "meta"; l4proto, mark and the rest with it.
            return key if key in ("iifname", "oifname", "iif", "oif") else f"meta {key}"
        if "payload" in left:
            payload = left["payload"]
            return f"{payload.get('protocol', payload.get('base', '?'))} {payload['field']}"
        if "ct" in left:
            return f"ct {left['ct']['key']}"
    return f"<{next(iter(left), '?')}>" if isinstance(left, dict) else str(left)


def _match(match: dict) -> str:
    left = _left(match["left"])
    right = match["right"]
    text = (
        f'"{right}"' if left in ("iifname", "oifname") and isinstance(right, str) else _value(right)
    )
    op = match.get("op", "==")
    return f"{left} {'' if op in ('==', 'in') else op + ' '}{text}"


def _nat(kind: str, spec) -> str:
    if not spec:
        return kind
    parts = []
    if "addr" in spec:
        parts.append(_value(spec["addr"]))
    if "port" in spec:
        parts.append(":" + _value(spec["port"]))
    return f"{kind} to {''.join(parts)}" if parts else kind


def _expression(expr: dict) -> str:
    ((kind, body),) = expr.items()
    if kind == "match":
        return _match(body)
    if kind == "counter":
        return "counter"
    if kind in ("accept", "drop", "return", "continue"):
        return kind
    if kind in ("jump", "goto"):
        return f"{kind} {body['target']}"
    if kind == "reject":
        return "reject" + (f" with {body.get('type')} {_value(body['expr'])}" if body else "")
    if kind in ("masquerade", "snat", "dnat", "redirect"):
        return _nat(kind, body)
    if kind == "xt":
        return f"xt {body.get('type', '?')} {body.get('name', '?')}"
    if kind == "log":
        return "log" + (f' prefix "{body["prefix"]}"' if body and "prefix" in body else "")
    if kind == "mangle":
        return f"{_left(body['key'])} set {_value(body['value'])}"
    return f"<{kind}>"


def render(rule: dict) -> str:
    """One rule as `nft list ruleset` prints it (without counter numbers)."""
    text = " ".join(_expression(expr) for expr in rule.get("expr", []))
    if rule.get("comment"):
        text += f' comment "{rule["comment"]}"'
    return text


# --- selecting a network's rules ---------------------------------------------------------------


def _networks(right) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    if isinstance(right, dict) and "prefix" in right:
        right = f"{right['prefix']['addr']}/{right['prefix']['len']}"
    if isinstance(right, dict) and "set" in right:
        return [net for item in right["set"] for net in _networks(item)]
    if not isinstance(right, str):
        return []
    try:
        return [ipaddress.ip_network(right, strict=False)]
    except ValueError:
        return []


def _names(right) -> list[str]:
    if isinstance(right, dict) and "set" in right:
        return [name for item in right["set"] for name in _names(item)]
    return [right] if isinstance(right, str) else []


def _facts(rule: dict) -> dict:
    """What a rule matches on (interfaces, addresses) and what it does."""
    facts = {"iif": [], "oif": [], "addrs": [], "iifname": "", "oifname": "", "saddr": ""}
    verdict = ""
    for expr in rule.get("expr", []):
        if "match" in expr:
            match = expr["match"]
            left = match["left"]
            key = left.get("meta", {}).get("key") if isinstance(left, dict) else None
            field = left.get("payload", {}).get("field") if isinstance(left, dict) else None
            if key in ("iifname", "oifname"):
                names = _names(match["right"])
                facts["iif" if key == "iifname" else "oif"] += names
                if match.get("op", "==") == "==" and len(names) == 1:
                    facts[key] = names[0]
            elif field in ("saddr", "daddr"):
                nets = _networks(match["right"])
                facts["addrs"] += nets
                if field == "saddr" and match.get("op", "==") == "==" and len(nets) == 1:
                    facts["saddr"] = str(nets[0])
        elif "xt" in expr and expr["xt"].get("type") == "target":
            verdict = expr["xt"].get("name", "").lower()
        else:
            ((kind, body),) = expr.items()
            if kind in ("accept", "drop", "return", "reject", "masquerade", "snat", "dnat"):
                verdict = kind
            elif kind in ("jump", "goto"):
                verdict = f"{kind} {body['target']}"
    facts["verdict"] = verdict
    return facts


def _inside(candidate, subnets) -> bool:
    return any(
        candidate.version == subnet.version and candidate.subnet_of(subnet) for subnet in subnets
    )


class Ruleset:
    """A ruleset whose rules' matches are worked out once, then asked for many networks: each
    network's rules are found through an index of the interfaces and addresses rules name,
    instead of every rule being looked at again for every network."""

    def __init__(self, ruleset: list[dict]) -> None:
        self.rules = [(item["rule"], _facts(item["rule"])) for item in ruleset if "rule" in item]
        self.by_interface: dict[str, list[int]] = {}
        self.with_addresses: list[int] = []
        for position, (_rule, facts) in enumerate(self.rules):
            for name in {*facts["iif"], *facts["oif"]}:
                self.by_interface.setdefault(name, []).append(position)
            if facts["addrs"]:
                self.with_addresses.append(position)

    def rules_for(self, *, bridge: str, subnets: list[str]) -> list[Rule]:
        """The rules that name the network's bridge (as input or output interface) or match an
        address inside one of its subnets, in the ruleset's order."""
        mine = [ipaddress.ip_network(subnet, strict=False) for subnet in subnets]
        positions = set(self.by_interface.get(bridge, ())) if bridge else set()
        if mine:
            positions.update(
                position
                for position in self.with_addresses
                if any(_inside(net, mine) for net in self.rules[position][1]["addrs"])
            )
        return [_rule(*self.rules[position]) for position in sorted(positions)]


def _rule(rule: dict, facts: dict) -> Rule:
    counter = next((e["counter"] for e in rule.get("expr", []) if "counter" in e), None)
    return Rule(
        family=rule.get("family", ""),
        table=rule.get("table", ""),
        chain=rule.get("chain", ""),
        handle=int(rule.get("handle", 0)),
        text=render(rule),
        packets=int((counter or {}).get("packets", 0) or 0),
        bytes=int((counter or {}).get("bytes", 0) or 0),
        iifname=facts["iifname"],
        oifname=facts["oifname"],
        saddr=facts["saddr"],
        verdict=facts["verdict"],
    )


def rules_for(ruleset: list[dict], *, bridge: str, subnets: list[str]) -> list[Rule]:
    """One network's rules of a ruleset (for many networks, make a Ruleset once)."""
    return Ruleset(ruleset).rules_for(bridge=bridge, subnets=subnets)


# --- what the health verdict asks --------------------------------------------------------------

_TRANSLATING = ("nat", "mangle")


def has_masquerade(rules: list[Rule], subnet: str) -> bool:
    """A NAT rule translates the subnet's outgoing traffic (masquerade or SNAT)."""
    wanted = ipaddress.ip_network(subnet, strict=False)
    return any(
        rule.verdict in ("masquerade", "snat")
        and rule.saddr
        and ipaddress.ip_network(rule.saddr) == wanted
        for rule in rules
    )


def has_forward_rules(rules: list[Rule], bridge: str) -> bool:
    """Rules let the bridge's traffic through the host both ways: an accept for traffic coming in
    from it (guests' outgoing) and one for traffic going out to it (answers to the guests)."""
    filtering = [
        rule for rule in rules if rule.table not in _TRANSLATING and rule.verdict == "accept"
    ]
    outgoing = any(
        rule.iifname == bridge and rule.oifname != bridge for rule in filtering if _forward(rule)
    )
    incoming = any(
        rule.oifname == bridge and rule.iifname != bridge for rule in filtering if _forward(rule)
    )
    return outgoing and incoming


def _forward(rule: Rule) -> bool:
    # libvirt's input/output chains (DHCP and DNS to the host itself) are not forwarding.
    chain = rule.chain.lower()
    return not chain.endswith(("_inp", "_out", "input", "output")) or chain.startswith("guest_")
