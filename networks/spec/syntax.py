"""Is this string a valid name, address, MAC...? Each check returns a message or None.

Every check first refuses what no field may hold (control characters, absurd lengths), so hostile
input gets a clear message instead of an exception further down (lxml refuses NUL bytes).
"""

import ipaddress
import re

from networks.spec.model import AnyNetwork

# libvirt refuses '/' in names; '-' or '.' first would read as an option or a hidden file.
NETWORK_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
# Linux interface names: at most 15 bytes (IFNAMSIZ - 1), no '/', ':' or whitespace.
INTERFACE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}")
LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME = re.compile(rf"{LABEL}(?:\.{LABEL})*\.?")
MAC = re.compile(r"[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}")
DUID = re.compile(r"[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){3,129}")
SRV_SERVICE = re.compile(r"[A-Za-z0-9_-]{1,15}")
TXT_NAME = re.compile(r"[A-Za-z0-9.-]+")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_TEXT = 255


def shown(value: object) -> str:
    """A value quoted for a message: control characters made visible, long values cut."""
    text = CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(value))
    return f"'{text[:40]}…'" if len(text) > 40 else f"'{text}'"


def text_problem(value: str, limit: int = MAX_TEXT) -> str | None:
    if not isinstance(value, str):
        return f"{shown(value)} is not text"
    if CONTROL.search(value):
        return f"{shown(value)} contains a control character (such as a newline or NUL)"
    if len(value) > limit:
        return f"{shown(value)} is too long ({len(value)} characters; at most {limit})"
    return None


def pattern_problem(
    value: str, pattern: re.Pattern, what: str, limit: int = MAX_TEXT
) -> str | None:
    problem = text_problem(value, limit)
    if problem:
        return problem
    if not pattern.fullmatch(value):
        return f"{shown(value)} is not a valid {what}"
    return None


def hostname_problem(value: str) -> str | None:
    if value == "":
        return "a host name is required"
    return pattern_problem(value, HOSTNAME, "host name (letters, digits, '-' and dots)", 253)


def interface_problem(value: str) -> str | None:
    if not isinstance(value, str) or CONTROL.search(value):
        return text_problem(value)
    if len(value) > 15:
        return f"{shown(value)} is longer than 15 characters, the Linux limit for interface names"
    if not INTERFACE_NAME.fullmatch(value):
        return (
            f"{shown(value)} is not a valid interface name "
            "(letters, digits, '_', '-' and '.'; no '/', ':' or spaces)"
        )
    return None


def mac_problem(value: str) -> str | None:
    problem = pattern_problem(value, MAC, "MAC address (like 52:54:00:12:34:56)")
    if problem:
        return problem
    if int(value[:2], 16) & 1:
        return f"{value} is a multicast MAC address; a guest needs a unicast one"
    return None


def parse_ip(
    value: str, family: str | None = None
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None when `value` is not one (of `family`, when given)."""
    if not isinstance(value, str) or "%" in value or text_problem(value):
        return None  # Python accepts "fe80::1%eth0"; libvirt does not
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if family and f"ipv{address.version}" != family:
        return None
    return address


def ip_problem(value: str, family: str | None = None) -> str | None:
    if value == "":
        return "an address is required"
    problem = text_problem(value)
    if problem:
        return problem
    if parse_ip(value, family) is None:
        kind = {"ipv4": "IPv4 ", "ipv6": "IPv6 "}.get(family or "", "IP ")
        return f"{shown(value)} is not a valid {kind}address"
    return None


def parse_subnet(address: str, prefix: object, family: str | None) -> AnyNetwork | None:
    ip = parse_ip(address, family)
    if ip is None or not isinstance(prefix, int) or isinstance(prefix, bool):
        return None
    if not 0 <= prefix <= ip.max_prefixlen:
        return None
    return ipaddress.ip_network(f"{ip}/{prefix}", strict=False)


def int_problem(value: object, low: int, high: int, what: str) -> str | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return f"{shown(value)} is not a whole number"
    if not low <= value <= high:
        return f"{what} {value} is out of range ({low} to {high})"
    return None
