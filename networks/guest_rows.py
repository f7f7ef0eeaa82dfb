"""A guest's NICs as pages show them: each with its switch and its addresses, from the leases of
the host's networks (matched by MAC) and from the guest agent. Constant queries for any number of
guests: one for the leases, one for the networks."""

from collections import defaultdict

from django.urls import reverse

from networks.models import Guest, Host, Lease, Network


def lease_addresses(host: Host) -> dict[str, list[str]]:
    """{MAC (lower case): ["10.0.0.5", ...]} of every lease on the host's networks."""
    found: dict[str, list[str]] = defaultdict(list)
    leases = Lease.objects.filter(network__host=host).order_by("ip").values_list("mac", "ip")
    for mac, ip in leases:
        found[mac.lower()].append(ip)
    return found


def network_urls(host: Host) -> dict[str, str]:
    return {
        name: reverse("network-detail", args=[host.name, name])
        for name in Network.objects.filter(host=host).order_by().values_list("name", flat=True)
    }


def nic_rows(guest: Guest, leases: dict[str, list[str]], urls: dict[str, str]) -> list[dict]:
    rows = []
    for nic in guest.nics:
        mac = nic.get("mac", "").lower()
        addresses = list(leases.get(mac, ()))
        for cidr in nic.get("agent") or ():
            ip = cidr.split("/")[0]
            if ip not in addresses:
                addresses.append(ip)
        rows.append(
            {
                **nic,
                "addresses": addresses,
                "network_url": urls.get(nic.get("network", ""), ""),
                "from_agent": bool(nic.get("agent")),
            }
        )
    return rows
