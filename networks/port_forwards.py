"""Port forwards of a switch: which guests a forward may reach, and whether a wanted one may be
added. The form (networks.forms.forwards), the API and the worker (networks.worker.forwards, which
checks again before it writes the host's firewall) all ask `refusals`, so one rule answers them.

A forward takes a port (or range) of the host, on every address of the host or on one, and sends
it to the same number of ports of one guest of the switch. It may not take a port another
forward of the same host takes (on any of its switches), nor one the host itself listens on (as
its worker last read it, `Host.side`).
"""

import ipaddress
from dataclasses import dataclass

from networks.models import Host, Lease, Network, PortForward
from networks.spec import NetworkSpec, SpecXMLError, parse

PORT_MAX = 65535
# Ports bound only on loopback are not reached by a forward (it leaves 127.0.0.0/8 alone).
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_ANY = ("0.0.0.0", "::", "*", "")


@dataclass(frozen=True)
class Candidate:
    """A guest of the switch a forward may reach: by its address, with the name people know."""

    ip: str
    name: str  # the domain's name, the reservation's, or the lease's hostname ("" if none)
    mac: str
    static: bool  # a reservation holds its address; False: only a dynamic lease does

    @property
    def label(self) -> str:
        name = self.name or self.mac or "unnamed"
        kind = "reserved" if self.static else "dynamic lease: make it permanent first"
        return f"{name} ({self.ip}, {kind})"


@dataclass(frozen=True)
class Wanted:
    """A forward as asked for; `guest_port_end` None: as many ports as the host's."""

    protocol: str
    listen: str | None
    host_port: int
    host_port_end: int | None
    guest_ip: str
    guest_port: int
    guest_port_end: int | None = None

    @property
    def last_host_port(self) -> int:
        return self.host_port_end if self.host_port_end is not None else self.host_port


def spec_of(network: Network) -> NetworkSpec | None:
    try:
        return parse(network.xml)
    except SpecXMLError:
        return None


def subnets(spec: NetworkSpec) -> list[ipaddress.IPv4Network]:
    found = []
    for ip in spec.ips:
        if ip.family == "ipv4":
            try:
                found.append(ipaddress.IPv4Network(ip.cidr, strict=False))
            except ValueError:
                continue
    return found


def candidates(network: Network, spec: NetworkSpec | None = None) -> list[Candidate]:
    """The switch's guests with an IPv4 address: its DHCP reservations and its leases (named by
    the domain whose NIC has the MAC when there is one), reserved ones first, one per address."""
    spec = spec or spec_of(network)
    domains = {nic.get("mac", "").lower(): nic.get("domain", "") for nic in network.guests or []}
    leases = {
        lease.ip: lease
        for lease in Lease.objects.filter(network=network).only(
            "ip", "mac", "hostname", "guest", "static"
        )
        if ":" not in lease.ip
    }
    found: dict[str, Candidate] = {}
    for ip in spec.ips if spec else []:
        if ip.family != "ipv4":
            continue
        for host in ip.dhcp_hosts:
            if host.ip:
                mac = host.mac.lower()
                # A reservation without a name (its client's name was taken) is named by its lease.
                lease = leases.get(host.ip)
                name = domains.get(mac) or host.name or (lease.hostname if lease else "")
                found.setdefault(host.ip, Candidate(host.ip, name, mac, True))
    for address, lease in leases.items():
        if address in found:
            continue
        mac = lease.mac.lower()
        name = lease.guest or domains.get(mac) or lease.hostname
        found[address] = Candidate(address, name, mac, lease.static)
    return sorted(found.values(), key=lambda c: (not c.static, ipaddress.ip_address(c.ip)))


def _overlap(first: int, last: int, other_first: int, other_last: int) -> bool:
    return first <= other_last and other_first <= last


def _same_address(one: str | None, other: str | None) -> bool:
    # No address (every address of the host) meets every address.
    return one in _ANY or other in _ANY or one is None or other is None or one == other


def listened(network: Network, wanted: Wanted) -> dict | None:
    """A port the host itself listens on that the forward would take, or None."""
    side = network.host.side or {}
    for sock in side.get("listening", []):
        if sock.get("protocol") != wanted.protocol:
            continue
        address = sock.get("address", "")
        try:
            if ipaddress.ip_address(address) in _LOOPBACK:
                continue
        except ValueError:
            pass
        port = int(sock.get("port", 0))
        if wanted.host_port <= port <= wanted.last_host_port and _same_address(
            wanted.listen, address
        ):
            return sock
    return None


def clashing(network: Network, wanted: Wanted, *, exclude: int | None = None) -> PortForward | None:
    """Another forward of the same host (any of its switches) that takes one of the ports."""
    others = PortForward.objects.filter(
        network__host_id=network.host_id,
        protocol=wanted.protocol,
        host_port__lte=wanted.last_host_port,
        host_port_end__gte=wanted.host_port,
    ).select_related("network")
    if exclude is not None:
        others = others.exclude(pk=exclude)
    return next((f for f in others if _same_address(wanted.listen, f.listen)), None)


def libvirt_own_tables(host: Host) -> bool:
    """Whether the host's worker last found libvirt writing its firewall in nftables tables of
    its own (Host.side), which no forward of ours gets past."""
    return bool((host.side or {}).get("libvirt_nftables"))


def libvirt_nftables(host_name: str) -> str:
    """Why port forwards do not work on a host whose libvirt writes its firewall with its
    nftables backend: the page's refusal and the switch's health verdict say it in these words.
    (nftables accepts a packet only if every base chain on its hook does: libvirt's own forward
    chain rejects new connections to guests, whatever our rules in iptables' tables accept.)"""
    return (
        f"libvirt on {host_name} writes its switches' firewall with nftables, in tables of its "
        "own (libvirt_network), which reject new connections to guests whatever other tables "
        "accept. vnetweb's port forwards are written for libvirt's iptables backend: set "
        'firewall_backend = "iptables" in /etc/libvirt/network.conf and restart libvirtd to '
        "use them."
    )


def unavailable(network: Network) -> str:
    """Why no forward can be added to this switch now, whatever is asked; "" when one can."""
    if not network.mode_info.forwards:
        return (
            f"{network.name}'s mode is {network.mode_info.label}: port forwards need a NAT "
            "or routed switch, whose traffic passes through the host."
        )
    if not (network.switch or {}).get("local"):
        return (
            f"Port forwards are written into the firewall of {network.host.name} by a "
            "worker running on that host. This host's worker does not see the host's side "
            f"({(network.switch or {}).get('reason') or 'not read yet'})."
        )
    if libvirt_own_tables(network.host):
        return libvirt_nftables(network.host.name)
    return ""


def refusals(network: Network, wanted: Wanted) -> dict[str, str]:
    """Why `wanted` cannot be added to `network`, by form field ("" key: the whole form); {}
    when it can. The database is the judge of clashes: the worker asks again, under its lock."""
    if why := unavailable(network):
        return {"": why}
    spec = spec_of(network)
    errors: dict[str, str] = {}
    if wanted.protocol not in PortForward.Protocol.values:
        errors["protocol"] = "Choose TCP or UDP."
    _ports(errors, "host_port", wanted.host_port, wanted.last_host_port)
    guest_last = (
        wanted.guest_port_end
        if wanted.guest_port_end is not None
        else wanted.guest_port + wanted.last_host_port - wanted.host_port
    )
    _ports(errors, "guest_port", wanted.guest_port, guest_last)
    if not errors and guest_last - wanted.guest_port != wanted.last_host_port - wanted.host_port:
        errors["guest_port_end"] = (
            f"The guest's ports {wanted.guest_port}-{guest_last} are not as many as the host's "
            f"{wanted.host_port}-{wanted.last_host_port}: each host port goes to one guest port."
        )
    if wanted.listen:
        errors.update(_listen(network, wanted.listen))
    errors.update(_guest(network, spec, wanted.guest_ip))
    if errors:
        return errors
    if (other := clashing(network, wanted)) is not None:
        where = "this switch" if other.network_id == network.pk else f"switch {other.network.name}"
        errors["host_port"] = (
            f"{other.get_protocol_display()} port "
            f"{PortForward.ports(other.host_port, other.host_port_end)} of the host is already "
            f"forwarded by {where} ({other.text})."
        )
    elif (sock := listened(network, wanted)) is not None:
        errors["host_port"] = (
            f"The host itself listens on {wanted.protocol.upper()} port {sock['port']} "
            f"(on {sock.get('address') or 'every address'}): a forward would take its "
            "connections. Choose another port."
        )
    return errors


def _ports(errors: dict, field: str, first: int, last: int) -> None:
    if not 1 <= first <= PORT_MAX:
        errors[field] = f"A port is a number from 1 to {PORT_MAX}."
    elif not first <= last <= PORT_MAX:
        errors[f"{field}_end"] = f"The range's last port must be from {first} to {PORT_MAX}."


def _listen(network: Network, listen: str) -> dict[str, str]:
    try:
        address = ipaddress.IPv4Address(listen)
    except ValueError:
        return {"listen": f"{listen!r} is not an IPv4 address of the host."}
    known = (network.host.side or {}).get("addresses")
    if address.is_loopback or address.is_multicast or address.is_unspecified:
        return {"listen": f"{address} cannot be forwarded: leave it empty for every address."}
    if known is not None and str(address) not in known:
        return {
            "listen": f"{address} is not an address of {network.host.name} (it has "
            f"{', '.join(known) or 'none'})."
        }
    return {}


def _guest(network: Network, spec: NetworkSpec | None, guest_ip: str) -> dict[str, str]:
    try:
        address = ipaddress.IPv4Address(guest_ip)
    except ValueError:
        return {"guest": "Choose a guest of this switch."}
    mine = subnets(spec) if spec else []
    if not any(address in subnet for subnet in mine):
        return {"guest": f"{address} is not in this switch's subnets; choose one of its guests."}
    if spec and any(ip.address == str(address) for ip in spec.ips):
        return {"guest": f"{address} is the switch's own address on the host, not a guest."}
    candidate = next((c for c in candidates(network, spec) if c.ip == str(address)), None)
    if candidate is None:
        return {
            "guest": f"No guest of {network.name} has {address}: neither a reservation nor a "
            "lease names it."
        }
    if not candidate.static:
        return {
            "guest": f"{candidate.name or address} has {address} only from a dynamic lease, which "
            "may move to another guest: make the lease permanent first (Make permanent in the "
            "lease table), then add the forward."
        }
    return {}


def guest_of(network: Network, guest_ip: str) -> Candidate | None:
    return next((c for c in candidates(network) if c.ip == guest_ip), None)


def listing(network: Network) -> str:
    """The switch's forwards, one a line: the "before" and "after" of a forward's audit entry."""
    return "\n".join(forward.text for forward in network.forwards.all())
