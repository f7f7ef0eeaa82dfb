"""Write what a worker read from libvirt into the database, in one transaction per host."""

import uuid

from django.db import transaction
from django.utils import timezone

from networks import gateway
from networks.models import Host, Lease, Network
from networks.spec import SpecXMLError, parse


def _summary(info: gateway.NetworkInfo) -> dict:
    try:
        spec = parse(info.xml)
    except SpecXMLError:
        return {
            "mode": "",
            "bridge": "",
            "forward_dev": "",
            "ipv4": "",
            "ipv6": "",
            "dhcp_ranges": "",
            "addresses": [],
        }
    ranges = [f"{r.start}-{r.end}" for ip in spec.ips for r in ip.dhcp_ranges]
    # The list shows macvtap's private/vepa/passthrough by name, and the first NIC of a pool.
    mode = spec.mode
    if mode == "macvtap" and spec.macvtap_mode != "bridge":
        mode = spec.macvtap_mode
    return {
        "mode": mode,
        "bridge": spec.bridge,
        "forward_dev": spec.forward_dev or next(iter(spec.forward_interfaces), ""),
        "ipv4": ", ".join(spec.addresses("ipv4")),
        "ipv6": ", ".join(spec.addresses("ipv6")),
        "dhcp_ranges": ", ".join(ranges),
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


def record_unreachable(host: Host, error: gateway.GatewayError) -> None:
    Host.objects.filter(pk=host.pk).update(
        reachable=False, last_error=error.message, last_checked=timezone.now()
    )


@transaction.atomic
def record_snapshot(host: Host, snap: gateway.HostSnapshot) -> None:
    """Make the host's rows match the snapshot: update, add, and drop what libvirt no longer has."""
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
    )
    existing = {
        net.name: net for net in Network.objects.filter(host=host).prefetch_related("leases")
    }
    seen: set[str] = set()
    with_leases: list[int] = []
    for info in snap.networks:
        seen.add(info.name)
        fields = {
            "uuid": uuid.UUID(info.uuid),
            "active": info.active,
            "persistent": info.persistent,
            "autostart": info.autostart,
            "xml": info.xml,
            **_summary(info),
        }
        net = existing.get(info.name)
        if net is None:
            net = Network.objects.create(host=host, name=info.name, last_seen=now, **fields)
            current: list[Lease] = []
        else:
            # Only write rows that changed: a refresh of an idle host is a handful of queries.
            changed = [key for key, value in fields.items() if getattr(net, key) != value]
            for key in changed:
                setattr(net, key, fields[key])
            if changed:
                net.save(update_fields=changed)
            current = list(net.leases.all())
        if info.leases is not None:
            with_leases.append(net.pk)
            _record_leases(net, current, info.leases)
        elif current:
            Lease.objects.filter(network=net).delete()
    networks = Network.objects.filter(host=host)
    networks.exclude(name__in=seen).delete()
    networks.update(last_seen=now, leases_seen=None)
    networks.filter(pk__in=with_leases).update(leases_seen=now)


def _record_leases(
    net: Network, current: list[Lease], leases: tuple[gateway.LeaseInfo, ...]
) -> None:
    rows = {(lease.mac, lease.ip): lease for lease in current}
    wanted = {(lease.mac, lease.ip): lease for lease in leases}
    stale = [row.pk for key, row in rows.items() if key not in wanted]
    if stale:
        Lease.objects.filter(pk__in=stale).delete()
    for key, info in wanted.items():
        fields = {
            "prefix": info.prefix,
            "hostname": info.hostname,
            "client_id": info.client_id,
            "expires": info.expires,
        }
        row = rows.get(key)
        if row is None:
            Lease.objects.create(network=net, mac=info.mac, ip=info.ip, **fields)
        elif any(getattr(row, k) != v for k, v in fields.items()):
            Lease.objects.filter(pk=row.pk).update(**fields)
