"""Write what a worker read from libvirt into the database: a whole host in one transaction
(`record_snapshot`), or after a job just the network it changed (`record_network`).

One writer per host at a time: a worker's threads, its monitor and beat's refresh may read the
same host at once, and each writer reads the rows it then adds, updates or drops. SQLite lets one
write transaction run at a time anyway; PostgreSQL would let two both find no row for a new network
and both add it (the second fails on the unique name) or both add its leases (twice), so every
writer first locks the host's row (`_lock_host`), and the others wait for its commit.
"""

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from networks import audit, gateway, live, port_forwards
from networks.models import Guest, Host, Lease, Network, PortForward
from networks.spec import NetworkSpec, SpecXMLError, modes, parse
from networks.spec_compare import runs_as_saved
from networks.subnets import bounds

NO_SUMMARY = {
    "mode": "",
    "bridge": "",
    "forward_dev": "",
    "ipv4": "",
    "ipv6": "",
    "dhcp_ranges": "",
    "ipv4_lo": "",
    "ipv4_hi": "",
    "ipv6_lo": "",
    "ipv6_hi": "",
    "addresses": [],
}


def _subnet_bounds(spec, family: str) -> tuple[str, str]:
    for ip in spec.ips_of(family):
        try:
            return bounds(ip.network)
        except ValueError:
            continue
    return "", ""


def _spec(info: gateway.NetworkInfo) -> NetworkSpec | None:
    """The network's definition, parsed once for everything written about it (None: unreadable)."""
    try:
        return parse(info.xml)
    except SpecXMLError:
        return None


def _summary(spec: NetworkSpec | None) -> dict:
    if spec is None:
        return dict(NO_SUMMARY)
    ranges = [f"{r.start}-{r.end}" for ip in spec.ips for r in ip.dhcp_ranges]
    # The list shows macvtap's private/vepa/passthrough by name, and the first NIC of a pool.
    mode = modes.listed(spec.mode, spec.macvtap_mode)
    ipv4_lo, ipv4_hi = _subnet_bounds(spec, "ipv4")
    ipv6_lo, ipv6_hi = _subnet_bounds(spec, "ipv6")
    return {
        "mode": mode,
        "bridge": spec.bridge,
        "forward_dev": spec.forward_dev or next(iter(spec.forward_interfaces), ""),
        "ipv4": ", ".join(spec.addresses("ipv4")),
        "ipv6": ", ".join(spec.addresses("ipv6")),
        "dhcp_ranges": ", ".join(ranges),
        "ipv4_lo": ipv4_lo,
        "ipv4_hi": ipv4_hi,
        "ipv6_lo": ipv6_lo,
        "ipv6_hi": ipv6_hi,
        "addresses": [
            {
                "family": ip.family,
                "cidr": ip.cidr,
                "dhcp_ranges": [[r.start, r.end] for r in ip.dhcp_ranges],
                "dhcp_hosts": len(ip.dhcp_hosts),
            }
            for ip in spec.ips
        ],
    }


def _config_xml(info: gateway.NetworkInfo) -> str:
    """The saved definition when the running one differs from it (a restart pending), else ""."""
    if not info.config_xml or runs_as_saved(info.xml, info.config_xml):
        return ""
    return info.config_xml


def _fields(info: gateway.NetworkInfo, spec: NetworkSpec | None) -> dict:
    return {
        "uuid": uuid.UUID(info.uuid),
        "active": info.active,
        "persistent": info.persistent,
        "autostart": info.autostart,
        "xml": info.xml,
        "config_xml": _config_xml(info),
        **({"guests": [_row(guest) for guest in info.guests]} if info.guests is not None else {}),
        **_summary(spec),
    }


def _row(item) -> dict:
    """A dataclass as the JSON a JSONField gives back (lists, not tuples), so rows compare equal."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(item).items()}


def _inventory(inventory: gateway.HostInventory) -> dict:
    return {
        "bridges": [_row(bridge) for bridge in inventory.bridges],
        "interfaces": [_row(interface) for interface in inventory.interfaces],
        "routes": [_row(route) for route in inventory.routes],
    }


def _lock_host(host: Host) -> None:
    """Wait for the host's other writer, if any, to commit (SELECT … FOR UPDATE; SQLite, which has
    no such lock, already runs one write transaction at a time)."""
    list(Host.objects.select_for_update().filter(pk=host.pk).values_list("pk"))


# An unreachable host is tried again every few seconds; its row says so again at most this often
# when nothing else changed (20 failing hosts of a fleet wrote 10 rows a second).
UNREACHABLE_NOTED_EVERY = timedelta(seconds=30)


def record_unreachable(host: Host, error: gateway.GatewayError) -> None:
    now = timezone.now()
    same = Q(
        reachable=False, last_error=error.message, last_checked__gt=now - UNREACHABLE_NOTED_EVERY
    )
    updated = (
        Host.objects.filter(pk=host.pk)
        .exclude(same)
        .update(reachable=False, last_error=error.message, last_checked=now)
    )
    if updated and (host.reachable is not False or host.last_error != error.message):
        live.publish(host.pk)


@transaction.atomic
def record_snapshot(host: Host, snap: gateway.HostSnapshot) -> None:
    """Make the host's rows match the snapshot: update, add, and drop what libvirt no longer has.

    Open pages hear of it (networks.live) only when something they show changed: a refresh of an
    idle host publishes nothing.
    """
    _lock_host(host)
    now = timezone.now()
    facts = snap.facts
    Host.objects.filter(pk=host.pk).update(
        reachable=True,
        last_error="",
        hostname=facts.hostname,
        libvirt_version=facts.libvirt_version,
        hypervisor=facts.hypervisor,
        hypervisor_version=facts.hypervisor_version,
        cpu_model=facts.cpu_model,
        cpus=facts.cpus,
        memory_kib=facts.memory_kib,
        last_checked=now,
        last_seen=now,
        **_inventory(snap.inventory),
    )
    existing = {
        net.name: net for net in Network.objects.filter(host=host).prefetch_related("leases")
    }
    seen: set[str] = set()
    with_leases: list[int] = []
    changed: list[int] = []
    for info in snap.networks:
        seen.add(info.name)
        net, differs = _record_one(host, existing.get(info.name), info, now)
        if info.leases is not None:
            with_leases.append(net.pk)
        if differs:
            changed.append(net.pk)
    networks = Network.objects.filter(host=host)
    gone = [net.pk for name, net in existing.items() if name not in seen]
    for name, net in existing.items():
        if name not in seen:
            audit.noticed(host, name, audit.network_state(net), None)
            _forwards_go_with(host, net)
    if gone:
        networks.filter(pk__in=gone).delete()
    networks.update(last_seen=now, leases_seen=None)
    networks.filter(pk__in=with_leases).update(leases_seen=now)
    if changed or gone or host.reachable is not True:
        live.publish(host.pk, networks=changed + gone)
    if snap.domains is not None:
        record_guests(host, snap.domains, now)


@transaction.atomic
def record_network(host: Host, name: str, info: gateway.NetworkInfo | None) -> Network | None:
    """Make one network's row (and its leases) match `info`; None (it is gone) deletes the row."""
    _lock_host(host)
    if info is None:
        rows = list(Network.objects.filter(host=host, name=name))
        for net in rows:
            audit.noticed(host, name, audit.network_state(net), None)
            _forwards_go_with(host, net)
        gone = [net.pk for net in rows]
        Network.objects.filter(pk__in=gone).delete()
        live.publish(host.pk, networks=gone)
        return None
    now = timezone.now()
    existing = Network.objects.filter(host=host, name=info.name).prefetch_related("leases").first()
    net, _differs = _record_one(host, existing, info, now)
    leases_seen = now if info.leases is not None else None
    Network.objects.filter(pk=net.pk).update(last_seen=now, leases_seen=leases_seen)
    live.publish(host.pk, networks=[net.pk])
    return net


def _record_one(
    host: Host, net: Network | None, info: gateway.NetworkInfo, now: datetime
) -> tuple[Network, bool]:
    """Write one network; returns it and whether anything a page shows changed."""
    spec = _spec(info)
    fields = _fields(info, spec)
    audit.noticed(
        host,
        info.name,
        audit.network_state(net),
        {"saved": fields["config_xml"] or fields["xml"], "active": info.active},
    )
    if net is None:
        net = Network.objects.create(host=host, name=info.name, last_seen=now, **fields)
        current: list[Lease] = []
        differs = True
    else:
        # Only write rows that changed: a refresh of an idle host is a handful of queries.
        changed = [key for key, value in fields.items() if getattr(net, key) != value]
        for key in changed:
            setattr(net, key, fields[key])
        if changed:
            net.save(update_fields=changed)
        current = list(net.leases.all())
        differs = bool(changed)
    leases_differ = False
    if info.leases is not None:
        leases_differ = _record_leases(net, current, info.leases, _lease_facts(info, net, spec))
    elif current and not info.leases_unknown:
        Lease.objects.filter(network=net).delete()
        leases_differ = True
    if leases_differ:
        Network.objects.filter(pk=net.pk).update(leases_version=F("leases_version") + 1)
    return net, differs or leases_differ


class _LeaseFacts:
    """What a lease row says besides dnsmasq's own fields: reserved? whose NIC?"""

    def __init__(self, static: set[tuple[str, str]], guests: dict[str, str]) -> None:
        self.static = static  # ("mac", MAC, ip) and ("id", DUID, ip) of the DHCP <host>s
        self.guests = guests  # MAC -> guest name

    def is_static(self, lease: gateway.LeaseInfo) -> bool:
        if ("mac", lease.mac.lower(), lease.ip) in self.static:
            return True
        return bool(lease.client_id) and ("id", lease.client_id.lower(), lease.ip) in self.static


def _lease_facts(info: gateway.NetworkInfo, net: Network, spec: NetworkSpec | None) -> _LeaseFacts:
    static: set = set()
    for ip in spec.ips if spec else ():
        for host in ip.dhcp_hosts:
            if host.mac:
                static.add(("mac", host.mac.lower(), host.ip))
            if host.id:
                static.add(("id", host.id.lower(), host.ip))
    if info.guests is not None:
        known = [(guest.mac, guest.domain) for guest in info.guests]
    else:  # not read this time: those the database has
        known = [(guest.get("mac", ""), guest.get("domain", "")) for guest in net.guests or []]
    guests = {mac.lower(): domain for mac, domain in known if mac}
    return _LeaseFacts(static, guests)


def _record_leases(
    net: Network,
    current: list[Lease],
    leases: tuple[gateway.LeaseInfo, ...],
    facts: _LeaseFacts,
) -> bool:
    """Make the network's lease rows match; returns whether any was added, changed or dropped.
    What a guest chose (client ID, hardware address, hostname) is stored cut to fit its column:
    the refresh of the whole host must not fail on one lease."""
    rows = {(lease.mac, lease.ip): lease for lease in current}
    wanted = {(Lease.fit("mac", lease.mac), lease.ip): lease for lease in leases}
    stale = [row.pk for key, row in rows.items() if key not in wanted]
    if stale:
        Lease.objects.filter(pk__in=stale).delete()
    differs = bool(stale)
    for (mac, ip), info in wanted.items():
        fields = {
            "prefix": info.prefix,
            "hostname": Lease.fit("hostname", info.hostname),
            "client_id": Lease.fit("client_id", info.client_id),
            "expires": info.expires,
            "static": facts.is_static(info),
            "guest": Lease.fit("guest", facts.guests.get(info.mac.lower(), "")),
        }
        row = rows.get((mac, ip))
        if row is None:
            Lease.objects.create(network=net, mac=mac, ip=ip, **fields)
            differs = True
        elif any(getattr(row, k) != v for k, v in fields.items()):
            Lease.objects.filter(pk=row.pk).update(**fields)
            differs = True
    return differs


# --- guests ------------------------------------------------------------------------------------


def _switches(host: Host) -> tuple[set[str], dict[str, str], dict[str, str]]:
    """The host's networks by name, by bridge and by host NIC (for NICs put straight on them)."""
    names, bridges, devices = set(), {}, {}
    for name, bridge, dev in Network.objects.filter(host=host).values_list(
        "name", "bridge", "forward_dev"
    ):
        names.add(name)
        if bridge:
            bridges.setdefault(bridge, name)
        if dev:
            devices.setdefault(dev, name)
    return names, bridges, devices


def _nic_row(nic: gateway.NicInfo, switches: tuple[set[str], dict[str, str], dict[str, str]]):
    names, bridges, devices = switches
    if nic.type == "network":
        network = nic.source if nic.source in names else ""
    elif nic.type == "bridge":
        network = bridges.get(nic.source, "")
    elif nic.type == "direct":
        network = devices.get(nic.source, "")
    else:
        network = ""
    return {**_row(nic), "network": network}


def _guest_fields(domain: gateway.DomainInfo, switches) -> dict:
    return {
        "uuid": uuid.UUID(domain.uuid),
        "state": domain.state,
        "persistent": domain.persistent,
        "autostart": domain.autostart,
        "vcpus": domain.vcpus,
        "memory_kib": domain.memory_kib,
        "nics": [_nic_row(nic, switches) for nic in domain.nics],
        "agent": domain.agent,
        "hotplug": domain.hotplug,
        "xml": domain.xml,
    }


@transaction.atomic
def record_guests(host: Host, domains: tuple[gateway.DomainInfo, ...], now: datetime) -> None:
    """Make the host's guest rows match `domains` (every domain of the host); pages showing
    guests hear of it on the live channel's "guests" topic, only when something changed."""
    _lock_host(host)
    switches = _switches(host)
    existing = {guest.name: guest for guest in Guest.objects.filter(host=host)}
    plugged_before = _plugged(guest.nics for guest in existing.values())
    plugged_now: set[tuple[str, str]] = set()
    changed: list[int] = []
    for domain in domains:
        fields = _guest_fields(domain, switches)
        plugged_now |= _plugged([fields["nics"]])
        guest = existing.pop(domain.name, None)
        if guest is None:
            guest = Guest.objects.create(host=host, name=domain.name, last_seen=now, **fields)
            changed.append(guest.pk)
            continue
        differs = [key for key, value in fields.items() if getattr(guest, key) != value]
        for key in differs:
            setattr(guest, key, fields[key])
        if differs:
            guest.save(update_fields=differs)
            changed.append(guest.pk)
    gone = [guest.pk for guest in existing.values()]
    if gone:
        Guest.objects.filter(pk__in=gone).delete()
    Guest.objects.filter(host=host).update(last_seen=now)
    unplugged = plugged_before - plugged_now
    if unplugged:
        _forget_forwards(host, unplugged)
    if changed or gone:
        live.publish(host.pk, topic="guests")


def _plugged(nic_lists) -> set[tuple[str, str]]:
    """(network name, MAC) of every guest NIC on one of the host's networks."""
    return {
        (nic["network"], nic.get("mac", "").lower())
        for nics in nic_lists
        for nic in nics
        if nic.get("network")
    }


def _forwards_go_with(host: Host, network: Network) -> None:
    """The switch is gone: its port forwards go with its row, said in the audit trail (the
    firewall follows at the next survey's ensure)."""
    before = port_forwards.listing(network)
    if before:
        audit.record(
            None,
            audit.FORWARDS_OUTSIDE,
            host=host,
            network_name=network.name,
            message="Port forwards removed with the switch.",
            before=before,
        )


def _forget_forwards(host: Host, unplugged: set[tuple[str, str]]) -> None:
    """A guest's NIC left a switch (detached, moved, the guest undefined): the switch's port
    forwards to that NIC go with it, in the audit trail too (the firewall follows at the next
    survey's ensure)."""
    forwards = PortForward.objects.filter(
        network__host=host, guest_mac__in={mac for _, mac in unplugged}
    )
    rows = [
        row
        for row in forwards.select_related("network")
        if (row.network.name, row.guest_mac) in unplugged
    ]
    if not rows:
        return
    for network in {row.network for row in rows}:
        before = port_forwards.listing(network)
        mine = [row for row in rows if row.network_id == network.pk]
        PortForward.objects.filter(pk__in=[row.pk for row in mine]).delete()
        audit.record(
            None,
            audit.FORWARDS_OUTSIDE,
            host=host,
            network_name=network.name,
            outside=True,
            message="Port forwards removed: the guest's NIC left the switch "
            f"({', '.join(sorted({row.guest_name or row.guest_mac for row in mine}))}).",
            before=before,
            after=port_forwards.listing(network),
        )
    live.publish(host.pk, networks=sorted({row.network_id for row in rows}), topic="switch")
