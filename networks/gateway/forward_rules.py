"""Port forwards as iptables lines: what each forward is in vnetweb's chains, how
`iptables-save`'s answer is read, whether it holds what is wanted, and the `iptables-restore`
input that makes it so. Text only: networks.gateway.forwards runs iptables with it (the layout,
and why, is that module's docstring and docs/port-forwards.md).
"""

import ipaddress
import re
from dataclasses import dataclass, field

from .errors import GatewayError

TABLES = ("nat", "filter")
# Each built-in chain and the suffix of ours it jumps to first (VNETWEB_PRE, ...): the prefix is
# the site's (settings.VNETWEB_FORWARD_CHAINS), so a second site or the tests keep their own.
PARENTS = {
    "nat": (("PREROUTING", "PRE"), ("OUTPUT", "OUT"), ("POSTROUTING", "POST")),
    "filter": (("FORWARD", "FWD"),),
}
MARK = "vnetweb forward"


def jumps(prefix: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """Per table: (built-in chain, our chain it jumps to)."""
    return {
        table: tuple((parent, f"{prefix}_{suffix}") for parent, suffix in pairs)
        for table, pairs in PARENTS.items()
    }


def chains(prefix: str) -> tuple[str, ...]:
    return tuple(chain for pairs in jumps(prefix).values() for _parent, chain in pairs)


@dataclass(frozen=True)
class Forward:
    """One forward as the firewall needs it."""

    id: int
    protocol: str  # "tcp" or "udp"
    listen: str | None  # one IPv4 address of the host, or None for every local address
    host_ports: tuple[int, int]
    guest_ip: str
    guest_ports: tuple[int, int]
    bridge: str  # the switch's bridge, where the guest is
    subnet: str  # the switch's subnet holding guest_ip ("10.0.0.0/24")


@dataclass
class Installed:
    """What the firewall holds of vnetweb's: our chains' rules per table (as iptables-save
    prints them, without counters), whether each jump is alone and first in its built-in chain,
    and the connections each forward has translated."""

    rules: dict[str, list[str]] = field(default_factory=dict)
    chains: dict[str, set[str]] = field(default_factory=dict)
    jumps: dict[str, list[int]] = field(default_factory=dict)  # our chain -> its jumps' places
    connections: dict[int, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.chains.values())


def _ports(first: int, last: int, sep: str) -> str:
    return str(first) if first == last else f"{first}{sep}{last}"


def _to(forward: Forward) -> str:
    first, last = forward.guest_ports
    if first == last:
        return f"{forward.guest_ip}:{first}"
    # baseport: host port p goes to guest port first + (p - host_first)
    return f"{forward.guest_ip}:{first}-{last}/{forward.host_ports[0]}"


_BRIDGE = re.compile(r"[A-Za-z0-9_.-]{1,15}")


def check(forward: Forward) -> None:
    """Every value that goes into a line, checked again right before it is written: what a row
    holds becomes iptables-restore input, where a space or newline would be a rule of its own.
    GatewayError when one is not what it must be."""
    try:
        ok = (
            forward.protocol in ("tcp", "udp")
            and all(
                isinstance(port, int) and 1 <= port <= 65535
                for port in (*forward.host_ports, *forward.guest_ports)
            )
            and forward.host_ports[0] <= forward.host_ports[1]
            and forward.guest_ports[1] - forward.guest_ports[0]
            == forward.host_ports[1] - forward.host_ports[0]
            and _BRIDGE.fullmatch(forward.bridge) is not None
            and str(ipaddress.IPv4Address(forward.guest_ip)) == forward.guest_ip
            and str(ipaddress.IPv4Network(forward.subnet)) == forward.subnet
            and (
                forward.listen is None
                or str(ipaddress.IPv4Address(forward.listen)) == forward.listen
            )
        )
    except ValueError:
        ok = False
    if not ok:
        raise GatewayError(f"Port forward {forward.id} is not one that can be written: {forward}")


def rules(forward: Forward, prefix: str) -> dict[str, list[str]]:
    """The forward's lines, per table, exactly as `iptables-save` prints them back."""
    check(forward)
    proto = forward.protocol
    match = f"-p {proto} -m {proto} --dport"
    host = _ports(*forward.host_ports, ":")
    guest = _ports(*forward.guest_ports, ":")
    mark = f'-m comment --comment "{MARK} {forward.id}"'
    if forward.listen:
        where_in = where_out = f"-d {forward.listen}/32 {match} {host}"
    else:
        local = f"-p {proto} -m addrtype --dst-type LOCAL -m {proto} --dport {host}"
        where_in, where_out = local, f"! -d 127.0.0.0/8 {local}"
    dnat = f"{mark} -j DNAT --to-destination {_to(forward)}"
    to_guest = f"-d {forward.guest_ip}/32 -o {forward.bridge} {match} {guest}"
    dnatted = "-m conntrack --ctstate DNAT"
    return {
        "nat": [
            f"-A {prefix}_PRE {where_in} {dnat}",
            f"-A {prefix}_OUT {where_out} {dnat}",
            f"-A {prefix}_POST -s {forward.subnet} {to_guest} {dnatted} {mark} -j MASQUERADE",
        ],
        "filter": [f"-A {prefix}_FWD {to_guest} {dnatted} {mark} -j ACCEPT"],
    }


def wanted_rules(forwards: list[Forward], prefix: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {table: [] for table in TABLES}
    for forward in forwards:
        for table, table_lines in rules(forward, prefix).items():
            lines[table] += table_lines
    return lines


# --- reading -----------------------------------------------------------------------------------

_COUNTED = re.compile(r"^\[(\d+):(\d+)\] (.*)$")
_MARKED = re.compile(rf'--comment "{MARK} (\d+)"')


def parse(table: str, text: str, installed: Installed, prefix: str) -> None:
    """Add one table's part of `iptables-save -c -t TABLE` output to `installed`."""
    ours = chains(prefix)
    found: set[str] = set()
    lines: list[str] = []
    places: dict[str, list[int]] = {chain: [] for _parent, chain in jumps(prefix)[table]}
    parents = {parent: chain for parent, chain in jumps(prefix)[table]}
    seen: dict[str, int] = {}
    for raw in text.splitlines():
        if raw.startswith(":"):
            name = raw[1:].split(" ", 1)[0]
            if name in ours:
                found.add(name)
            continue
        counted = _COUNTED.match(raw)
        packets, line = (int(counted.group(1)), counted.group(3)) if counted else (0, raw)
        if not line.startswith("-A "):
            continue
        chain = line.split(" ", 2)[1]
        if chain in ours:
            lines.append(line)
            marked = _MARKED.search(line)
            if marked and chain in (f"{prefix}_PRE", f"{prefix}_OUT"):
                key = int(marked.group(1))
                installed.connections[key] = installed.connections.get(key, 0) + packets
        elif chain in parents:
            seen[chain] = seen.get(chain, 0) + 1
            if line == f"-A {chain} -j {parents[chain]}":
                places[parents[chain]].append(seen[chain])
    installed.rules[table] = lines
    installed.chains[table] = found
    installed.jumps.update(places)


# --- comparing ---------------------------------------------------------------------------------


def missing(forwards: list[Forward], installed: Installed, prefix: str) -> list[Forward]:
    """The forwards whose rules are not all in place (or whose chains are not reached first)."""
    jumps_ok = all(places == [1] for places in installed.jumps.values())
    have = {table: set(lines) for table, lines in installed.rules.items()}
    return [
        forward
        for forward in forwards
        if not jumps_ok
        or any(
            line not in have.get(table, set())
            for table, lines in rules(forward, prefix).items()
            for line in lines
        )
    ]


def in_place(forwards: list[Forward], installed: Installed, prefix: str) -> bool:
    """The firewall holds exactly the forwards wanted, reached first: nothing missing, nothing
    left over (a forward removed elsewhere), nothing of ours when there are none."""
    if not forwards:
        return installed.empty
    wanted = wanted_rules(forwards, prefix)
    return not missing(forwards, installed, prefix) and all(
        sorted(installed.rules.get(table, [])) == sorted(lines) for table, lines in wanted.items()
    )


# --- writing -----------------------------------------------------------------------------------


def _table_text(table: str, lines: list[str] | None, installed: Installed, prefix: str) -> str:
    """One table's restore input: our chains holding `lines`, reached first; None: none of our
    chains at all. "" when the table holds none and none is wanted."""
    if lines is None and not installed.chains.get(table):
        return ""
    body = [f":{chain} - [0:0]" for _parent, chain in jumps(prefix)[table]]
    body += lines or []
    for parent, chain in jumps(prefix)[table]:
        places = installed.jumps.get(chain, [])
        if lines is not None and places == [1]:
            continue
        body += [f"-D {parent} -j {chain}"] * len(places)
        body.append(f"-X {chain}" if lines is None else f"-I {parent} 1 -j {chain}")
    return "\n".join([f"*{table}", *body, "COMMIT"])


def _joined(parts: list[str]) -> str:
    return "".join(part + "\n" for part in parts if part)


def restore_text(forwards: list[Forward], installed: Installed, prefix: str) -> str:
    """The iptables-restore input that leaves exactly `forwards` (none: nothing of ours)."""
    wanted = wanted_rules(forwards, prefix) if forwards else {}
    return _joined([_table_text(table, wanted.get(table), installed, prefix) for table in TABLES])


def _table_state(installed: Installed, table: str, prefix: str) -> tuple:
    ours = [chain for _parent, chain in jumps(prefix)[table]]
    return (
        sorted(installed.rules.get(table, [])),
        installed.chains.get(table, set()),
        [installed.jumps.get(chain, []) for chain in ours],
    )


def put_back_text(before: Installed, now: Installed, prefix: str) -> str:
    """The restore input that makes the tables that changed hold what they held `before` (its
    rules, reached first)."""
    return _joined(
        [
            _table_text(
                table,
                before.rules.get(table, []) if before.chains.get(table) else None,
                now,
                prefix,
            )
            for table in TABLES
            if _table_state(before, table, prefix) != _table_state(now, table, prefix)
        ]
    )
