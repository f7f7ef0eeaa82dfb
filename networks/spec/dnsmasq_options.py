"""What libvirt writes into the config of a dnsmasq that runs as root: allow-lists, not deny-lists.

libvirt copies each `<dnsmasq:option value>` and each DNS TXT value into that config as it is.
dnsmasq removes quotes and comments from the whole line *before* it reads the option name
(`co"n"f-script=id` runs `id` as root), so a name compared as typed proves nothing. Here a line
is accepted only when dnsmasq's reader leaves it exactly as typed (no quotes, backslashes, '#',
spaces or control characters), its name is one of ALLOWED and its value matches that option's
grammar. Each allowed option only changes what dnsmasq answers on the network's own bridge or
what it logs: none runs a program, names a host file, or makes dnsmasq listen anywhere else.
Checked when a spec is validated and again by the worker right before it defines or updates.
"""

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from networks.spec.model import NetworkSpec
from networks.spec.syntax import HOSTNAME, parse_ip, shown, text_problem

# Only characters dnsmasq's config reader keeps as they are, wherever they stand in the line.
LINE = re.compile(r"(?P<name>[a-z0-9-]+)(?:=(?P<value>[A-Za-z0-9.:,/\[\]_-]*))?")
SAFE_CHARACTERS = "letters, digits and . : , / [ ] _ -"
NUMBER = re.compile(r"[0-9]{1,10}")
PATH_TOKEN = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*")


@dataclass(frozen=True)
class Grammar:
    """The values an option takes: `check(value)` is True when fine (None: no '=' at all)."""

    what: str  # says what it takes, for the message
    check: Callable[[str | None], bool]
    once: bool = False  # dnsmasq refuses the option twice ("illegal repeated keyword")


def _flag(value: str | None) -> bool:
    return value is None


def _number(low: int, high: int) -> Callable[[str | None], bool]:
    def check(value: str | None) -> bool:
        return value is not None and bool(NUMBER.fullmatch(value)) and low <= int(value) <= high

    return check


def _items(value: str | None, item: Callable[[str], bool], *, empty: bool = False) -> bool:
    """Comma-separated values; `empty`: the option may be given with none (dnsmasq then sends
    it empty, which tells guests "none": `dhcp-option=3` is how libvirt says "no router")."""
    if value is None:
        return empty
    return all(item(part) for part in value.split(","))


def _ipv4(part: str) -> bool:
    return parse_ip(part, "ipv4") is not None


def _ipv6_bracketed(part: str) -> bool:
    return part.startswith("[") and part.endswith("]") and parse_ip(part[1:-1], "ipv6") is not None


def _hostname(part: str) -> bool:
    return bool(HOSTNAME.fullmatch(part)) and len(part) <= 253


def _routes(value: str | None) -> bool:
    """classless-static-route: subnet/prefix,router pairs."""
    parts = (value or "").split(",")
    if len(parts) % 2 or not value:
        return False
    for subnet, router in zip(parts[::2], parts[1::2], strict=True):
        try:
            ipaddress.IPv4Network(subnet)
        except ValueError:
            return False
        if "/" not in subnet or not _ipv4(router):
            return False
    return True


def _address(value: str | None) -> bool:
    """address=/name/[name/...]address: what this network's DNS answers for those names."""
    if not value or not value.startswith("/") or value.count("/") < 2:
        return False
    *names, answer = value[1:].split("/")
    return all(_hostname(name) for name in names) and (answer == "" or parse_ip(answer) is not None)


# DHCP options sent to guests (data for them; nothing on the host): dnsmasq's name, its
# number, and the value it takes. Tags, encapsulation and vendor classes are not offered.
DhcpValue = tuple[str, int | None, str, Callable[[str | None], bool]]
DHCP_OPTIONS: list[DhcpValue] = [
    ("option", 3, "router", lambda v: _items(v, _ipv4, empty=True)),
    ("option", 6, "dns-server", lambda v: _items(v, _ipv4, empty=True)),
    ("option", 42, "ntp-server", lambda v: _items(v, _ipv4)),
    ("option", 44, "netbios-ns", lambda v: _items(v, _ipv4)),
    ("option", 15, "domain-name", lambda v: v is not None and _hostname(v)),
    ("option", 119, "domain-search", lambda v: _items(v, _hostname)),
    ("option", 26, "mtu", _number(68, 65535)),
    ("option", 58, "T1", _number(1, 2**31 - 1)),
    ("option", 59, "T2", _number(1, 2**31 - 1)),
    ("option", 121, "classless-static-route", _routes),
    ("option", 67, "bootfile-name", lambda v: v is not None and bool(PATH_TOKEN.fullmatch(v))),
    ("option", 101, "tzdb-timezone", lambda v: v is not None and bool(PATH_TOKEN.fullmatch(v))),
    ("option6", None, "dns-server", lambda v: _items(v, _ipv6_bracketed, empty=True)),
    ("option6", None, "sntp-server", lambda v: _items(v, _ipv6_bracketed)),
    ("option6", None, "domain-search", lambda v: _items(v, _hostname)),
]


def _dhcp_option(value: str | None) -> bool:
    if not value:
        return False
    head, _, rest = value.partition(",")
    given = rest if "," in value else None
    for kind, number, name, check in DHCP_OPTIONS:
        if head == f"{kind}:{name}" or (number is not None and head == str(number)):
            return check(given)
    return False


DHCP_OPTION = Grammar(
    "option:NAME or its number, then its values ("
    + ", ".join(sorted({f"{kind}:{name}" for kind, _, name, _ in DHCP_OPTIONS}))
    + ")",
    _dhcp_option,
)
FLAG = Grammar("no value", _flag)
TTL = Grammar("a number of seconds from 0 to 604800", _number(0, 604800), once=True)

# Why each is harmless: it changes only what dnsmasq answers on this network's bridge (DHCP,
# DNS), how it caches, or what it logs to syslog, where libvirt's dnsmasq logs anyway.
ALLOWED: dict[str, Grammar] = {
    # DHCP on this network's bridge
    "no-ping": FLAG,  # offers an address without pinging it first
    "dhcp-authoritative": FLAG,  # answers clients it does not know at once
    "dhcp-rapid-commit": FLAG,
    "dhcp-sequential-ip": FLAG,
    "dhcp-broadcast": FLAG,  # broadcast replies, for clients that need them
    "dhcp-ignore-names": FLAG,  # names guests give do not enter DNS
    "dhcp-no-override": FLAG,
    "dhcp-option": DHCP_OPTION,  # data sent to guests
    "dhcp-option-force": DHCP_OPTION,
    # DNS as this network's guests see it
    # what guests get for these names (the host itself does not ask this dnsmasq)
    "address": Grammar("/name/[name/…]address (or no address)", _address),
    "domain-needed": FLAG,
    "bogus-priv": FLAG,
    "strict-order": FLAG,
    "all-servers": FLAG,
    "no-negcache": FLAG,
    "stop-dns-rebind": FLAG,
    "rebind-localhost-ok": FLAG,
    "no-round-robin": FLAG,
    "filterwin2k": FLAG,
    "cache-size": Grammar("a number of entries from 0 to 10000", _number(0, 10000), once=True),
    "dns-forward-max": Grammar("a number from 1 to 10000", _number(1, 10000), once=True),
    "edns-packet-max": Grammar("a size from 512 to 4096", _number(512, 4096), once=True),
    "local-ttl": TTL,
    "neg-ttl": TTL,
    "max-ttl": TTL,
    "max-cache-ttl": TTL,
    "min-cache-ttl": Grammar("a number of seconds from 0 to 3600", _number(0, 3600), once=True),
    # logging, to syslog
    "log-dhcp": FLAG,
    "log-queries": Grammar("no value, or extra", lambda v: v in (None, "extra")),
    "quiet-dhcp": FLAG,
    "quiet-dhcp6": FLAG,
    "quiet-ra": FLAG,
}


def option_problem(option: object) -> str | None:
    """Why dnsmasq must not be given `option` as a line of its config; None when it may."""
    if problem := text_problem(option, 1000):  # not text, a control character, too long
        return problem
    if not option.strip():
        return "an empty dnsmasq option"
    match = LINE.fullmatch(option)
    if match is None:
        return _shape_problem(option)
    name, value = match["name"], match["value"]
    grammar = ALLOWED.get(name)
    if grammar is None:
        return (
            f"{name} is not allowed: dnsmasq runs as root, so vnetweb allows only options that "
            "cannot run programs, use host files or listen beyond this network (such as "
            "no-ping, dhcp-option, log-dhcp or cache-size)"
        )
    if not grammar.check(value):
        return f"{name} takes {grammar.what}; {shown(option)} does not fit"
    return None


def _shape_problem(option: str) -> str:
    bad = next((c for c in option if not re.fullmatch(r"[A-Za-z0-9.:,/\[\]_=-]", c)), None)
    if bad is None:
        return f"{shown(option)} is not allowed: write name or name=value, the name in lower case"
    # dnsmasq drops quotes and spaces around the name: say what it would have read.
    read_as = re.split(r"[=\s#]", option.replace('"', "").strip(), maxsplit=1)[0]
    return (
        f"{shown(option)} is not allowed: it contains {shown(bad)}, and dnsmasq would read the "
        f"option name as {shown(read_as)}; options hold only {SAFE_CHARACTERS}"
    )


def repeated(options: Iterable[str]) -> list[str]:
    """Options given more than once that dnsmasq accepts only once."""
    names = [option.split("=", 1)[0] for option in options if isinstance(option, str)]
    once = {name for name, grammar in ALLOWED.items() if grammar.once}
    return sorted({name for name in names if name in once and names.count(name) > 1})


def txt_value_problem(value: str) -> str | None:
    """libvirt writes `txt-record=NAME,VALUE` unquoted: a '"' starts a quote dnsmasq never
    sees closed ("missing \\"") and the network's dnsmasq does not start (or, with a pair,
    quietly drops them)."""
    if '"' in value:
        return f"{shown(value)} contains '\"', which stops the network's dnsmasq: leave it out"
    return None


def txt_value_note(value: str) -> str | None:
    """A '#' after a space starts a comment in dnsmasq's config: guests get the text before it."""
    if re.search(r"\s#", value):
        kept = re.split(r"\s#", value, maxsplit=1)[0].rstrip()
        return f"dnsmasq reads ' #' as the start of a comment: guests get only {shown(kept)}"
    return None


def config_problems(spec: NetworkSpec, kept: Iterable[str] = ()) -> list[str]:
    """Everything in `spec` dnsmasq must not be given, for the worker's last check. `kept` are
    options the host's saved definition already has: left as they are, never added by vnetweb."""
    kept = set(kept)
    found = [
        problem
        for option in spec.dnsmasq_options
        if option not in kept and (problem := option_problem(option))
    ]
    twice = repeated(spec.dnsmasq_options)
    found += [f"{name} is given twice; dnsmasq refuses that" for name in twice]
    found += [p for txt in spec.dns_txts if (p := txt_value_problem(txt.value))]
    return found
