"""A guest's NICs as pages show them: each with its switch and its addresses, from the leases of
its switch (matched by MAC) and from the guest agent. Constant queries for any number of guests:
one for the leases, one for the networks. The topology draws from the same addresses."""

from django.urls import reverse

from networks.models import Guest, Host, Lease, Network
from networks.pages.topology import nics_of


def lease_addresses(host: Host) -> dict[tuple[str, str], list[str]]:
    """Every lease address ("10.0.0.5/24") of the host's switches by (switch, lower-case MAC), in
    one query: a lease left on a NIC's previous switch is not its address."""
    found: dict[tuple[str, str], list[str]] = {}
    rows = Lease.objects.filter(network__host=host).order_by("network__name", "ip")
    for network, mac, ip, prefix in rows.values_list("network__name", "mac", "ip", "prefix"):
        found.setdefault((network, mac.lower()), []).append(f"{ip}/{prefix}" if prefix else ip)
    return found


def network_urls(host: Host) -> dict[str, str]:
    return {
        name: reverse("network-detail", args=[host.name, name])
        for name in Network.objects.filter(host=host).order_by().values_list("name", flat=True)
    }


def nic_rows(guest: Guest, leases: dict[tuple[str, str], list[str]], urls: dict[str, str]):
    """The guest's NICs (its row's dicts) with "addresses", "network_url" and "from_agent"."""
    rows = []
    for nic, drawn in zip(guest.nics, nics_of(guest.nics, leases), strict=True):
        rows.append(
            {
                **nic,
                "addresses": list(drawn.addresses),
                "network_url": urls.get(nic.get("network", ""), ""),
                "from_agent": bool(nic.get("agent")),
            }
        )
    return rows
