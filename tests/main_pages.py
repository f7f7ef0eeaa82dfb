"""The site's main pages, once, for the browser tests that walk all of them (the Content Security
Policy, narrow screens): a `main_site` with something in every column, and each page's path with
its main actions (selectors)."""

import pytest
from django.urls import reverse

from networks.models import Job, Lease
from networks.spec import to_xml
from tests.test_switch_views import nat_spec


@pytest.fixture
def main_site(test_host, make_network, make_guest):
    """A running switch with a long name, a lease and a guest, and a finished job: every
    column of the wide tables has something in it."""
    spec = nat_spec()
    net = make_network(
        test_host,
        "lab",
        active=True,
        bridge=spec.bridge,
        xml=to_xml(spec),
        ipv6="fd00:1234:5678:9abc::1/64",
        addresses=[{"family": "ipv4", "cidr": "10.9.50.1/24", "dhcp_ranges": [], "dhcp_hosts": 1}],
    )
    Lease.objects.create(
        network=net, mac="52:54:00:aa:00:01", ip="10.9.50.11", prefix=24, hostname="web01"
    )
    guest = make_guest(test_host, "web", nics=[("lab", "52:54:00:00:00:01")])
    Job.objects.create(
        username="vnwt-admin",
        host=test_host,
        network=net,
        target="lab",
        operation="start",
        state=Job.State.SUCCEEDED,
    )
    return test_host, net, guest


def main_pages(host, net, guest) -> list[tuple[str, list[str]]]:
    """Each page, and its main actions (selectors; each must be reachable)."""
    return [
        (reverse("network-list"), ["a[data-action=new-switch]", "tr[data-network=lab] .btn"]),
        (net.get_absolute_url(), ["#net-panel .btn", "a[href$='/edit/']"]),
        (reverse("switch-edit", args=[host.name, net.name]), ["button[name=review]"]),
        (reverse("switch-create", args=[host.name]), ["button[name=review]"]),
        (reverse("switch-new"), ["main a.btn"]),
        (reverse("host-list"), ["a[href$='/add/']"]),
        (host.get_absolute_url(), ["a[data-action=new-switch]"]),
        (reverse("host-topology", args=[host.name]), ["[data-zoom=in]", ".topo-connect .btn"]),
        (reverse("guest-list", args=[host.name]), []),
        (reverse("guest-detail", args=[host.name, guest.name]), ["#attach-nic .btn", ".nics .btn"]),
        (reverse("job-list"), []),
        (reverse("lease-search"), []),
        (reverse("audit-list"), []),
        (reverse("user-list"), ["a[href$='/add/']"]),
        (reverse("user-add"), ["button.start"]),
        (reverse("host-add"), ["button.start"]),
        (reverse("password_change"), ["button.start"]),
        (reverse("token-list"), ["button.start"]),
    ]
