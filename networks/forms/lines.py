"""List fields of the switch editor as text, one record per line, both ways.

Administrators know these lists from dnsmasq and `ip route`: a line per static host or route is
quicker to type and review than a table of inputs. Each parser returns the records and, for
each record, the line it came from, so that validation messages point at "line 3".
"""

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from networks.spec import (
    DhcpHost,
    DhcpRange,
    DnsForwarder,
    DnsHost,
    DnsSrv,
    DnsTxt,
    PortGroup,
    RouteSpec,
)

T = TypeVar("T")
_MAC = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$")
# A DHCPv6 client identifier (DUID): hex octets separated by colons, longer than a MAC.
_DUID = re.compile(r"^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){6,}$")


class LineError(ValueError):
    """A line that cannot be read; the message is shown with its line number."""


@dataclass
class Parsed(Generic[T]):
    items: list[T] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # 1-based line of each item
    errors: list[str] = field(default_factory=list)


def parse_lines(text: str, parse_one: Callable[[list[str], str], T]) -> Parsed[T]:
    """Blank lines and lines starting with # are skipped; tokens split on spaces and commas."""
    parsed: Parsed[T] = Parsed()
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            parsed.items.append(parse_one(stripped.replace(",", " ").split(), stripped))
            parsed.lines.append(number)
        except LineError as exc:
            parsed.errors.append(f"line {number}: {exc}")
    return parsed


def _is_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def _int(token: str, what: str) -> int:
    if not token.isdigit():
        raise LineError(f"{what} must be a whole number, not {token[:40]!r}")
    return int(token)


def _pairs(tokens: list[str], known: set[str]) -> tuple[list[str], dict[str, str]]:
    """Split `key=value` tokens from plain ones; refuse unknown keys."""
    plain, pairs = [], {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            plain.append(token)
        elif key in known:
            pairs[key] = value
        else:
            raise LineError(f"unknown setting {key[:40]!r} (known: {', '.join(sorted(known))})")
    return plain, pairs


# --- one record per line ---------------------------------------------------------------------


def range_from(tokens: list[str], _line: str) -> DhcpRange:
    if len(tokens) != 2:
        raise LineError("give the first and the last address, e.g. 192.168.100.2 192.168.100.254")
    return DhcpRange(tokens[0], tokens[1])


def host_from(tokens: list[str], _line: str) -> DhcpHost:
    """MAC (IPv4) or DUID (IPv6), name and IP, in any order: each is recognised by its shape."""
    host = DhcpHost()
    for token in tokens:
        if _is_ip(token) and not host.ip:
            host.ip = token
        elif _MAC.match(token) and not host.mac:
            host.mac = token.lower()
        elif _DUID.match(token) and not host.id:
            host.id = token.lower()
        elif not host.name:
            host.name = token
        else:
            raise LineError(f"{token[:40]!r} is a second name; give MAC, name and IP once each")
    if not host.ip:
        raise LineError("give the IP address this host gets")
    return host


def dns_host_from(tokens: list[str], _line: str) -> DnsHost:
    if len(tokens) < 2:
        raise LineError("give an IP address and at least one host name")
    return DnsHost(tokens[0], tokens[1:])


def txt_from(tokens: list[str], line: str) -> DnsTxt:
    name, _, value = line.partition(" ")
    if not value.strip():
        raise LineError("give a name and a value, e.g. example v=spf1 -all")
    return DnsTxt(name, value.strip())


def srv_from(tokens: list[str], _line: str) -> DnsSrv:
    keys = {"target", "port", "priority", "weight", "domain"}
    plain, pairs = _pairs(tokens, keys)
    if len(plain) != 2:
        raise LineError("give service and protocol, e.g. ldap tcp target=ldap.example port=389")
    numbers = {k: _int(pairs[k], k) for k in ("port", "priority", "weight") if k in pairs}
    return DnsSrv(plain[0], plain[1], pairs.get("domain", ""), pairs.get("target", ""), **numbers)


def forwarder_from(tokens: list[str], _line: str) -> DnsForwarder:
    if len(tokens) > 2:
        raise LineError("give a server address, a domain, or both")
    addr = next((t for t in tokens if _is_ip(t)), "")
    domain = next((t for t in tokens if not _is_ip(t)), "")
    return DnsForwarder(addr, domain)


def route_from(tokens: list[str], _line: str) -> RouteSpec:
    words = [t for t in tokens if t not in ("via", "metric")]
    if len(words) not in (2, 3) or "/" not in words[0]:
        raise LineError("give NETWORK/PREFIX via GATEWAY [metric N], e.g. 10.9.0.0/16 via 10.1.0.5")
    address, _, prefix = words[0].partition("/")
    family = "ipv6" if ":" in address else "ipv4"
    metric = _int(words[2], "the metric") if len(words) == 3 else None
    return RouteSpec(address, _int(prefix, "the prefix"), words[1], family, metric)


def portgroup_from(tokens: list[str], _line: str) -> PortGroup:
    plain, pairs = _pairs(tokens, {"vlan"})
    # "vlan=10,20" reaches here as "vlan=10" "20": bare numbers after the name are more tags.
    tags = [pairs["vlan"]] if "vlan" in pairs else []
    tags += [token for token in plain[1:] if token.isdigit()]
    flags = {token for token in plain[1:] if not token.isdigit()}
    if not plain or flags - {"default", "trunk"}:
        raise LineError("give a name, then optionally default, vlan=10,20 and trunk")
    return PortGroup(
        plain[0],
        default="default" in flags,
        vlan_tags=[_int(tag, "a VLAN tag") for tag in tags],
        trunk="trunk" in flags,
    )


# --- records back to text ----------------------------------------------------------------------


def _text(items: list[T], show: Callable[[T], Iterator[str]]) -> str:
    return "\n".join(" ".join(part for part in show(item) if part) for item in items)


def ranges_text(ranges: list[DhcpRange]) -> str:
    return _text(ranges, lambda r: iter((r.start, r.end)))


def hosts_text(hosts: list[DhcpHost]) -> str:
    return _text(hosts, lambda h: iter((h.mac or h.id, h.name, h.ip)))


def dns_hosts_text(hosts: list[DnsHost]) -> str:
    return _text(hosts, lambda h: iter((h.ip, *h.hostnames)))


def txts_text(txts: list[DnsTxt]) -> str:
    return _text(txts, lambda t: iter((t.name, t.value)))


def srvs_text(srvs: list[DnsSrv]) -> str:
    def show(s: DnsSrv) -> Iterator[str]:
        yield from (s.service, s.protocol)
        for key in ("target", "port", "priority", "weight", "domain"):
            value = getattr(s, key)
            if value not in (None, ""):
                yield f"{key}={value}"

    return _text(srvs, show)


def forwarders_text(forwarders: list[DnsForwarder]) -> str:
    return _text(forwarders, lambda f: iter((f.addr, f.domain)))


def routes_text(routes: list[RouteSpec]) -> str:
    def show(r: RouteSpec) -> Iterator[str]:
        yield from (r.cidr, "via", r.gateway)
        if r.metric is not None:
            yield from ("metric", str(r.metric))

    return _text(routes, show)


def portgroups_text(groups: list[PortGroup]) -> str:
    def show(g: PortGroup) -> Iterator[str]:
        yield g.name
        if g.default:
            yield "default"
        if g.vlan_tags:
            yield "vlan=" + ",".join(str(tag) for tag in g.vlan_tags)
        if g.trunk:
            yield "trunk"

    return _text(groups, show)
