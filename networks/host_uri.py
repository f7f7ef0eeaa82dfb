"""Which libvirt URIs a host may have, read the way libvirt itself reads them.

A libvirt URI is code run by root: for the ssh transports its user part, port and parameters
become arguments of the ssh command the worker runs (`command=` and `netcat=` name the program
itself), and a test:/// path is a file the worker opens. The host form and the gateway, right
before it connects, both ask `refusal(uri)`, so a Host row written some other way gets no further.

libvirt (virURIParseParams, 9.0) splits the query at the first `&` or, when there is none left,
at the first `;`, unescapes names and values once and compares names without regard to case;
libxml2 unescapes the user part, host and path. `parse` does the same, so the check judges what
libvirt will act on; on top of that an accepted URI has no `%` or `;` at all.
"""

import ipaddress
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from django.conf import settings

# libvirt's test driver reads the file a test:/// URI names: only the demo hosts shipped here.
DEMO_DIR = Path(__file__).resolve().parent / "demo"
TEST_DEFAULT = "test:///default"

_SHAPE = re.compile(
    r"(?P<driver>[a-z0-9]+)(?:\+(?P<transport>[a-z0-9]+))?://"
    r"(?:(?P<user>[^@/?#]*)@)?(?P<host>\[[^\]/?#]*\]|[^:/?#]*)(?::(?P<port>[^/?#]*))?"
    r"(?P<path>/[^?#]*)?(?:\?(?P<query>[^#]*))?(?P<fragment>#.*)?",
    re.S,
)
_TRANSPORTS = {"", "ssh", "libssh", "libssh2", "tls", "tcp", "unix"}
_QEMU_PATHS = {"/system", "/session"}
_USER = re.compile(r"[a-z_][a-z0-9_.-]{0,31}")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DNS_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.I)
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_SSH_AUTH = {"agent", "privkey", "password", "keyboard-interactive"}
_CHOICES = {
    "no_tty": {"0", "1"},
    # auto would write unknown host keys into known_hosts, ignore would not check them at all.
    "known_hosts_verify": {"normal"},
    "mode": {"auto", "legacy", "direct"},
    "proxy": {"auto", "netcat", "native"},
}
ALLOWED_PARAMETERS = {"keyfile", "known_hosts", "pkipath", "sshauth", *_CHOICES}
_WHY_NOT = {
    "no_verify": "it turns off the check of the host's key (put the key in a known_hosts file "
    "in VNETWEB_SSH_DIR instead)",
}
EXAMPLES = "qemu:///system, qemu+ssh://root@kvm1/system, qemu+tls://kvm1/system or test:///default"


@dataclass(frozen=True)
class HostUri:
    """A URI's parts as libvirt reads them: unescaped, parameters in order, names as written."""

    driver: str
    transport: str
    user: str | None
    host: str
    port: str | None
    path: str
    query: str | None
    parameters: tuple[tuple[str, str], ...]
    fragment: str | None


def parameters(query: str) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs libvirt's virURIParseParams reads from a raw query."""
    found: list[tuple[str, str]] = []
    rest = query
    while rest:
        end = rest.find("&")
        if end < 0:
            end = rest.find(";")
        if end < 0:
            end = len(rest)
        part, rest = rest[:end], rest[end + 1 :]
        name, equals, value = part.partition("=")
        if part and not (equals and not name):  # libvirt skips empty parts and "=value"
            found.append((unquote(name), unquote(value)))
    return tuple(found)


def parse(uri: str) -> HostUri | None:
    """The URI's parts as libvirt reads them, or None when it is not shaped like a URI."""
    match = _SHAPE.fullmatch(uri)
    if not match:
        return None
    part = match.groupdict()
    host = unquote(part["host"])
    return HostUri(
        driver=part["driver"],
        transport=part["transport"] or "",
        user=None if part["user"] is None else unquote(part["user"]),
        host=host[1:-1] if host.startswith("[") else host,
        port=part["port"],
        path=unquote(part["path"] or ""),
        query=part["query"],
        parameters=parameters(part["query"] or ""),
        fragment=part["fragment"],
    )


def refusal(uri: str) -> str | None:
    """Why vnetweb will not use this URI, in words; None when it may."""
    parts = parse(uri)
    if parts is None or parts.driver not in ("qemu", "test") or parts.transport not in _TRANSPORTS:
        return f"Give a libvirt URI such as {EXAMPLES}."
    if parts.driver == "test":
        return _test_refusal(uri, parts.path)
    return (
        _parameters_refusal(parts.parameters)
        or _escape_refusal(uri)
        or _address_refusal(parts)
        or _values_refusal(parts.parameters)
    )


def demo_uris() -> set[str]:
    """test:/// URIs of the demo host files: regular files (not links, FIFOs or devices)."""
    found = set()
    for path in DEMO_DIR.glob("*.xml"):
        if _FILE_NAME.fullmatch(path.name) and stat.S_ISREG(os.lstat(path).st_mode):
            found.add(f"test://{path}")
    return found


def _in_test_hosts_dir(path: str) -> bool:
    """A regular file directly in VNETWEB_TEST_HOSTS_DIR (simulated hosts, e.g. bench/fleet.py's),
    named plainly: no link, FIFO or device, no folder of its own. The setting may end in '/'
    (as folders are often written); "/" alone names no folder."""
    folder = settings.VNETWEB_TEST_HOSTS_DIR.rstrip("/")
    if not folder or not path.endswith(".xml") or not _in_dir(path, folder):
        return False
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _test_refusal(uri: str, path: str) -> str | None:
    if uri == TEST_DEFAULT or uri in demo_uris():
        return None
    if uri == f"test://{path}" and _in_test_hosts_dir(path):
        return None
    folders = "vnetweb's demo folder"
    if settings.VNETWEB_TEST_HOSTS_DIR:
        folders += f" or {settings.VNETWEB_TEST_HOSTS_DIR} (VNETWEB_TEST_HOSTS_DIR)"
    return (
        f"A test:/// URI may only be {TEST_DEFAULT} or name a file in {folders}, "
        f"e.g. test://{DEMO_DIR / 'demo-host.xml'} (written out exactly, without %-escapes), "
        f"not {path!r}."
    )


def _parameters_refusal(found: tuple[tuple[str, str], ...]) -> str | None:
    names = [name.lower() for name, _value in found]
    unsafe = sorted({name for name in names if name not in ALLOWED_PARAMETERS})
    if unsafe:
        why = "; ".join(f"{name}: {_WHY_NOT[name]}" for name in unsafe if name in _WHY_NOT)
        return (
            f"vnetweb does not take the URI parameter{'s' if len(unsafe) > 1 else ''} "
            f"{', '.join(unsafe)}{f' ({why})' if why else ''}: "
            f"only {', '.join(sorted(ALLOWED_PARAMETERS))}."
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        return f"The URI gives the parameter {', '.join(twice)} more than once."
    return None


def _escape_refusal(uri: str) -> str | None:
    if "%" in uri or ";" in uri:
        return (
            "Write the URI out plainly: libvirt reads %-escapes and ';' as separators, so "
            "vnetweb takes neither (parameters are separated by '&')."
        )
    if any(not char.isprintable() or char.isspace() for char in uri):
        return "The URI may not contain spaces or control characters."
    return None


def _address_refusal(parts: HostUri) -> str | None:
    if parts.user is not None and not _USER.fullmatch(parts.user):
        return (
            f"The user {parts.user!r} is not a user name vnetweb takes: lower-case letters, "
            "digits, '_', '.' and '-', starting with a letter or '_'."
        )
    if parts.host and not _is_host_name(parts.host):
        return f"{parts.host!r} is not a host name or IP address."
    if parts.port is not None and not (
        parts.port.isdigit() and len(parts.port) <= 5 and 1 <= int(parts.port) <= 65535
    ):
        return f"{parts.port!r} is not a port number (1 to 65535)."
    if parts.path not in _QEMU_PATHS or parts.fragment is not None:
        return f"The URI must end in /system or /session (and parameters): {EXAMPLES}."
    return None


def _is_host_name(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return len(host) <= 253 and bool(_DNS_NAME.fullmatch(host))
    return True


def _values_refusal(found: tuple[tuple[str, str], ...]) -> str | None:
    for written, value in found:
        name = written.lower()
        if name in _CHOICES and value not in _CHOICES[name]:
            return f"{name} may be {' or '.join(sorted(_CHOICES[name]))}, not {value!r}."
        if name == "sshauth" and not set(value.split(",")) <= _SSH_AUTH:
            return f"sshauth is a comma-separated list of {', '.join(sorted(_SSH_AUTH))}."
        if name in ("keyfile", "known_hosts") and not _in_dir(value, settings.VNETWEB_SSH_DIR):
            return (
                f"{name} must name a file directly in {settings.VNETWEB_SSH_DIR} "
                f"(VNETWEB_SSH_DIR), e.g. {settings.VNETWEB_SSH_DIR}/id_ed25519."
            )
        if name == "pkipath" and not (
            value == settings.VNETWEB_PKI_DIR or _in_dir(value, settings.VNETWEB_PKI_DIR)
        ):
            return (
                f"pkipath must be {settings.VNETWEB_PKI_DIR} (VNETWEB_PKI_DIR) "
                "or a folder directly in it."
            )
    return None


def _in_dir(value: str, directory: str) -> bool:
    """Whether `value` is DIRECTORY/NAME for a plain file name (no '/', no leading dot)."""
    folder, _slash, name = value.rpartition("/")
    return folder == directory and bool(_FILE_NAME.fullmatch(name))
