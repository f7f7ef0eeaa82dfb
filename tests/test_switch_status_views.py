"""The network page's "switch on the host" part, drawn from what the worker stored (no libvirt)."""

import time

import pytest
from django.urls import reverse
from django.utils import timezone

from networks.views.switch_status import chart, ifconfig, route_hint

LINK = {
    "name": "virbr9",
    "kind": "bridge",
    "mac": "52:54:00:aa:bb:cc",
    "mtu": 1500,
    "up": True,
    "operstate": "UP",
    "addresses": ["192.168.9.1/24", "fd00:9::1/64"],
}
COUNTERS = {
    "rx_bytes": 2048,
    "tx_bytes": 4096,
    "rx_packets": 20,
    "tx_packets": 40,
    "rx_errors": 0,
    "tx_errors": 1,
    "rx_dropped": 2,
    "tx_dropped": 3,
}
HEALTHY = {
    "local": True,
    "device": "virbr9",
    "link": LINK,
    "ports": [
        {
            "name": "vnet7",
            "kind": "tun",
            "mac": "fe:54:00:11:22:33",
            "mtu": 1500,
            "up": True,
            "operstate": "UNKNOWN",
            "addresses": [],
        }
    ],
    "dnsmasq": {"expected": True, "pid": 4242},
    "forwarding": {"ipv4": True, "ipv6": False},
    "firewall": [
        {"table": "ip nat", "chain": "LIBVIRT_PRT", "text": "ip saddr 192.168.9.0/24 masquerade"},
        {"table": "ip filter", "chain": "LIBVIRT_FWO", "text": 'iifname "virbr9" accept'},
    ],
    "problems": [],
}
BROKEN = {
    **HEALTHY,
    "problems": [
        {
            "code": "nat-rules-missing",
            "text": "The masquerade (NAT) rules are missing.",
            "fix": "restart",
        },
        {"code": "subnet-collision", "text": "The host also routes 192.168.9.0/25.", "fix": ""},
    ],
}


@pytest.fixture
def running(test_host, make_network):
    return make_network(
        test_host,
        "lab",
        active=True,
        bridge="virbr9",
        switch=HEALTHY,
        switch_seen=timezone.now(),
        guests=[
            {
                "domain": "web1",
                "mac": "52:54:00:11:22:33",
                "running": True,
                "state": "running",
                "device": "vnet7",
                "model": "virtio",
                "attached": "network",
                "plugged": True,
            }
        ],
    )


def _page(client, network) -> str:
    return client.get(network.get_absolute_url()).content.decode()


def test_the_page_shows_the_bridge_as_ifconfig_would(running, viewer, client_as, frozen_clock):
    # Counters count as fresh for FRESH_SECONDS: the clock stands still between sample and page.
    now = time.time()
    running.traffic = {
        "t": now,
        "bridge": COUNTERS,
        "ports": {"vnet7": COUNTERS},
        "prev": {"t": now - 2, "bridge": {**COUNTERS, "rx_bytes": 0}, "ports": {}},
        "history": [[now - 4, 0, 0], [now - 2, 0, 1000], [now, 2048, 4096]],
    }
    running.save()
    content = _page(client_as(viewer), running)
    assert "virbr9: flags=&lt;UP,RUNNING&gt;  mtu 1500" in content
    assert "inet 192.168.9.1  netmask 255.255.255.0  broadcast 192.168.9.255" in content
    assert "RX packets 20  bytes 2048 (2.0 KiB)" in content
    assert "TX errors 1  dropped 3" in content
    assert 'data-rate="rx">1.0 KiB/s' in content  # 2048 bytes in 2 s
    assert '<svg class="chart"' in content
    # The port is the guest's tap: named after the guest whose MAC it carries.
    assert 'data-port="vnet7"' in content and "web1" in content
    assert f'data-live-watch="{running.pk}"' in content
    assert 'data-live-topics="switch"' in content


def test_old_counters_show_no_rates(running, viewer, client_as, frozen_clock):
    running.traffic = {"t": time.time() - 600, "bridge": COUNTERS, "ports": {}, "history": []}
    running.save()
    content = _page(client_as(viewer), running)
    assert "RX packets 20" in content
    assert "data-rate" not in content
    assert "sampled a while ago" in content


def test_a_healthy_switch_says_so_with_its_firewall_rules(running, viewer, client_as):
    content = _page(client_as(viewer), running)
    assert "Healthy:" in content and "dnsmasq running (pid 4242)" in content
    assert (
        "table ip nat {\n\tchain LIBVIRT_PRT {\n\t\tip saddr 192.168.9.0/24 masquerade" in content
    )
    assert "iifname &#34;virbr9&#34; accept" in content


def test_an_operator_gets_the_fix_for_each_problem_that_has_one(running, operator, client_as):
    running.switch = BROKEN
    running.save()
    content = _page(client_as(operator), running)
    assert "2 problems" in content
    assert 'data-fix="nat-rules-missing"' in content
    assert 'data-fix="subnet-collision"' not in content  # no fix to offer
    assert "The host also routes 192.168.9.0/25." in content


def test_a_viewer_sees_the_problems_but_no_fix(running, viewer, client_as):
    running.switch = BROKEN
    running.save()
    content = _page(client_as(viewer), running)
    assert "The masquerade (NAT) rules are missing." in content
    assert "data-fix" not in content
    assert "an operator can fix it" in content


def test_a_remote_host_says_what_it_cannot_see(running, viewer, client_as):
    running.switch = {"local": False, "reason": "This host is reached over ssh (kvm2)."}
    running.save()
    content = _page(client_as(viewer), running)
    assert "data-remote" in content and "reached over ssh (kvm2)" in content
    assert "data-ifconfig" not in content


def test_a_stopped_network_has_no_switch_to_show(running, viewer, client_as):
    running.active = False
    running.switch = {}
    running.save()
    assert "The network is not running" in _page(client_as(viewer), running)


def test_the_switch_part_alone_for_the_live_refresh(running, viewer, client_as):
    url = reverse("network-switch", args=[running.host.name, running.name])
    response = client_as(viewer).get(url, headers={"HX-Request": "true"})
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="net-switch"' in content and "<html" not in content


def test_the_switch_part_of_a_gone_network_is_empty_for_htmx(test_host, viewer, client_as):
    url = reverse("network-switch", args=[test_host.name, "gone"])
    assert client_as(viewer).get(url, headers={"HX-Request": "true"}).content == b""
    assert client_as(viewer).get(url).status_code == 404


def test_guests_on_the_switch_are_listed_with_device_and_state(running, viewer, client_as):
    content = _page(client_as(viewer), running)
    assert 'data-guest="web1"' in content
    assert "plugged in" in content and "vnet7" in content and "virtio" in content


def test_a_routed_network_shows_the_route_the_lan_needs(test_host, make_network, viewer, client_as):
    test_host.interfaces = [{"name": "eth0", "addresses": ["192.0.2.10/24"]}]
    test_host.routes = [{"dst": "0.0.0.0/0", "gateway": "192.0.2.1", "dev": "eth0"}]
    test_host.save()
    net = make_network(
        test_host,
        "routed",
        mode="route",
        addresses=[{"family": "ipv4", "cidr": "10.99.0.1/24", "dhcp_ranges": [], "dhcp_hosts": 0}],
    )
    content = _page(client_as(viewer), net)
    assert "ip route add 10.99.0.0/24 via 192.0.2.10" in content
    assert route_hint(net, test_host)[0]["device"] == "eth0"


def test_the_forward_device_gives_the_next_hop_of_a_routed_network(test_host, make_network):
    test_host.interfaces = [
        {"name": "eth0", "addresses": ["192.0.2.10/24"]},
        {"name": "eth1", "addresses": ["198.51.100.7/24", "2001:db8::7/64"]},
    ]
    test_host.routes = [{"dst": "0.0.0.0/0", "gateway": "192.0.2.1", "dev": "eth0"}]
    net = make_network(
        test_host,
        "routed",
        mode="route",
        forward_dev="eth1",
        addresses=[{"family": "ipv4", "cidr": "10.99.0.1/24", "dhcp_ranges": [], "dhcp_hosts": 0}],
    )
    assert route_hint(net, test_host) == [
        {"subnet": "10.99.0.0/24", "via": "198.51.100.7", "device": "eth1"}
    ]


def test_other_modes_need_no_route(test_host, make_network):
    assert route_hint(make_network(test_host, "n", mode="nat"), test_host) == []


def test_ifconfig_without_counters_or_addresses():
    text = ifconfig({**LINK, "up": False, "addresses": []}, None)
    assert text.splitlines() == [
        "virbr9: flags=<DOWN>  mtu 1500",
        "        ether 52:54:00:aa:bb:cc  (bridge)",
    ]


def test_the_chart_needs_two_rates_and_scales_to_the_peak():
    assert chart([[0, 0, 0], [2, 100, 100]]) is None
    drawn = chart([[0, 0, 0], [2, 200, 0], [4, 600, 0]])
    assert drawn["peak"] == "200 B/s"
    # The peak (200 B/s received at t=4) is at the top; nothing sent stays at the bottom.
    assert drawn["rx"].split()[-1] == "320.0,1.0"
    assert drawn["tx"].split()[-1] == "320.0,63.0"


def test_drawing_the_page_asks_neither_the_host_nor_libvirt(
    running, viewer, client_as, monkeypatch
):
    import subprocess

    import pyroute2

    def refuse(*_args, **_kwargs):
        raise AssertionError("a page asked the host itself")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(pyroute2, "IPRoute", refuse)
    monkeypatch.setattr("networks.gateway.hostside.IPRoute", refuse)  # netlink, as the worker reads
    # Every libvirt call goes through the gateway's connection cache.
    monkeypatch.setattr("networks.gateway.connection._cached", refuse)
    client = client_as(viewer)
    assert client.get(running.get_absolute_url()).status_code == 200
    url = reverse("network-switch", args=[running.host.name, running.name])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 200


def test_a_route_with_no_known_next_hop_says_so_in_words(
    test_host, make_network, viewer, client_as
):
    """The placeholder is text, escaped: written raw, the browser took it for an unknown tag and
    showed "via" followed by nothing."""
    net = make_network(
        test_host,
        "routed",
        mode="route",
        addresses=[{"family": "ipv4", "cidr": "10.99.0.1/24", "dhcp_ranges": [], "dhcp_hosts": 0}],
    )
    assert route_hint(net, test_host)[0]["via"] == ""
    content = _page(client_as(viewer), net)
    assert "ip route add 10.99.0.0/24 via &lt;this host&#39;s address&gt;</pre>" in content
    assert "next hop this host&#39;s address." in content
