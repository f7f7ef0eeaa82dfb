"""The network list, a network's page and its fragments, and htmx start/stop on live pages."""

import ipaddress
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from networks.forms.filters import SORTS
from networks.models import Host, Job, Lease, Network
from networks.operations import Op

ROW = re.compile(r'<tr id="net-\d+" data-network="([^"]*)" data-host="([^"]*)"')
HTMX = {"HTTP_HX_REQUEST": "true"}


def rows(response) -> list[tuple[str, str]]:
    """(host, network) of every network row, in page order."""
    return [(host, name) for name, host in ROW.findall(response.content.decode())]


def row_html(response, name: str) -> str:
    match = re.search(
        rf'<tr id="net-\d+" data-network="{re.escape(name)}".*?</tr>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no row for {name}"
    return match.group(0)


def add_job(network: Network, operation=Op.START, state=Job.State.QUEUED, **fields):
    if state in Job.FINISHED:
        fields.setdefault("finished", timezone.now())
    return Job.objects.create(
        username="oscar-operator",
        host=network.host,
        network=network,
        target=network.name,
        operation=operation,
        state=state,
        **fields,
    )


@pytest.fixture
def other_host(db) -> Host:
    return Host.objects.create(name="kvm2", uri="qemu+ssh://root@kvm2/system")


@pytest.fixture
def varied(test_host, other_host, make_network) -> list[Network]:
    """Networks on two hosts whose every sortable column differs."""
    specs = [
        (test_host, "default", "nat", True, True, "virbr0", "192.168.122.1/24", "", "a"),
        (test_host, "lab", "route", False, False, "virbr10", "10.20.0.1/24", "fd00:20::1/64", ""),
        (test_host, "zeta", "isolated", True, False, "virbr11", "", "", "c"),
        (other_host, "default", "open", False, True, "virbr12", "10.40.0.1/24", "fd00::1/64", "b"),
        (other_host, "alpha", "bridge", True, True, "br0", "", "", ""),
        (other_host, "mid", "macvtap", False, False, "", "172.16.0.1/24", "", "d"),
    ]
    return [
        make_network(
            host,
            name,
            mode=mode,
            active=active,
            autostart=autostart,
            bridge=bridge,
            ipv4=ipv4,
            ipv6=ipv6,
            dhcp_ranges=dhcp,
        )
        for host, name, mode, active, autostart, bridge, ipv4, ipv6, dhcp in specs
    ]


def _address(cidrs: str) -> int:
    return (
        int(ipaddress.ip_network(cidrs.split(",")[0], strict=False).network_address)
        if cidrs
        else -1
    )


# Independent of the view's SORTS: what a user expects each column to sort by.
EXPECTED_KEYS = {
    "name": lambda n: (n.name, n.host.name),
    "host": lambda n: (n.host.name, n.name),
    "mode": lambda n: (n.mode, n.host.name, n.name),
    "state": lambda n: (not n.active, n.host.name, n.name),
    "autostart": lambda n: (not n.autostart, n.host.name, n.name),
    "bridge": lambda n: (n.bridge, n.host.name, n.name),
    # By address, not by text (10.0.0.0/24 before 9.0.0.0/8 would be wrong); none comes first.
    "ipv4": lambda n: (_address(n.ipv4), n.host.name, n.name),
    "ipv6": lambda n: (_address(n.ipv6), n.host.name, n.name),
    "dhcp": lambda n: (n.dhcp_ranges, n.host.name, n.name),
}


def test_every_sort_key_has_an_expectation():
    assert set(SORTS) == set(EXPECTED_KEYS)


def test_the_network_list_shows_rows_from_all_hosts(varied, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"))
    assert response.status_code == 200
    assert sorted(rows(response)) == sorted((n.host.name, n.name) for n in varied)
    # The default order is by host, then name.
    assert rows(response) == [
        ("kvm2", "alpha"),
        ("kvm2", "default"),
        ("kvm2", "mid"),
        ("testdrv", "default"),
        ("testdrv", "lab"),
        ("testdrv", "zeta"),
    ]


@pytest.mark.parametrize("key", list(EXPECTED_KEYS))
def test_sorting_by_a_column_orders_the_rows_ascending(varied, viewer, client_as, key):
    response = client_as(viewer).get(reverse("network-list"), {"sort": key})
    expected = [(n.host.name, n.name) for n in sorted(varied, key=EXPECTED_KEYS[key])]
    assert rows(response) == expected


@pytest.mark.parametrize("key", list(EXPECTED_KEYS))
def test_sorting_by_a_column_orders_the_rows_descending(varied, viewer, client_as, key):
    response = client_as(viewer).get(reverse("network-list"), {"sort": f"-{key}"})
    expected = [(n.host.name, n.name) for n in sorted(varied, key=EXPECTED_KEYS[key])]
    assert rows(response) == expected[::-1]


def test_the_sorted_column_header_links_to_the_reverse_order(varied, viewer, client_as):
    content = client_as(viewer).get(reverse("network-list"), {"sort": "mode"}).content.decode()
    assert 'href="?sort=-mode" hx-get="?sort=-mode"' in content
    assert re.search(r'href="\?sort=-mode"[^>]* class="asc"', content)
    assert re.search(r'href="\?sort=name"[^>]* class=""', content)
    # The order is told to screen readers too (the arrow is decoration, hidden from them).
    assert re.search(r'<th aria-sort="ascending"><a href="\?sort=-mode"', content)
    assert content.count("aria-sort=") == 1
    content = client_as(viewer).get(reverse("network-list"), {"sort": "-mode"}).content.decode()
    assert re.search(r'href="\?sort=mode"[^>]* class="desc"', content)
    assert re.search(r'<th aria-sort="descending"><a href="\?sort=mode"', content)


@pytest.mark.parametrize("sort", ["bogus", "-bogus", "xml", "host__name", ""])
def test_an_unknown_sort_falls_back_to_host_order(varied, viewer, client_as, sort):
    response = client_as(viewer).get(reverse("network-list"), {"sort": sort})
    assert response.status_code == 200
    assert rows(response) == [
        (n.host.name, n.name) for n in sorted(varied, key=EXPECTED_KEYS["host"])
    ]


def _count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("sort", ["host", "-state"])
def test_the_network_list_uses_as_many_queries_for_20_networks_as_for_2(
    test_host, other_host, make_network, operator, client_as, sort
):
    client = client_as(operator)
    url = reverse("network-list") + f"?sort={sort}"
    for host in (test_host, other_host):
        add_job(make_network(host, "first"))
    client.get(url)  # warm up: session, user, content types
    few = _count_queries(client, url)
    for i in range(18):
        network = make_network(test_host if i % 2 else other_host, f"net{i:02d}", active=i % 3 == 0)
        if i % 4 == 0:
            add_job(network, Op.STOP, Job.State.RUNNING)
            add_job(network, Op.START, Job.State.SUCCEEDED)
    response = client.get(url)
    assert len(rows(response)) == 20
    # Each pending job shows on its row, and no row polls: the page's live channel refreshes it.
    assert response.content.decode().count("data-job=") == 2 + 5
    assert "every 1s" not in response.content.decode()
    assert _count_queries(client, url) == few


def test_the_host_page_uses_as_many_queries_for_20_networks_as_for_2(
    test_host, make_network, operator, client_as
):
    client = client_as(operator)
    url = reverse("host-detail", args=[test_host.name])
    add_job(make_network(test_host, "first"))
    make_network(test_host, "second")
    client.get(url)
    few = _count_queries(client, url)
    for i in range(18):
        network = make_network(test_host, f"net{i:02d}")
        if i % 3 == 0:
            add_job(network)
    assert _count_queries(client, url) == few


# --- htmx actions and polling ------------------------------------------------------------------


@pytest.fixture
def net1(test_host, make_network) -> Network:
    return make_network(test_host, "net1", active=False)


def test_an_htmx_action_answers_with_the_row_showing_the_job(
    net1, operator, client_as, django_capture_on_commit_callbacks
):
    url = reverse("network-action-part", args=["testdrv", "net1", "start", "row"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_as(operator).post(url, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    job = Job.objects.get()
    assert content.lstrip().startswith(f'<tr id="net-{net1.pk}"')
    assert "<html" not in content
    # The row does not poll: the job's progress reaches the page over its live channel.
    assert "hx-trigger" not in content
    assert "Start: queued" in content
    assert f'data-job="{job.pk}"' in content
    # While the job runs the buttons are disabled, so a second click cannot queue another job.
    assert re.search(r'data-action="start"[^>]*\sdisabled', content)
    # Once committed, the job is queued and announced to every open page.
    assert len(callbacks) == 2


def test_an_htmx_action_from_the_network_page_answers_with_the_panel(net1, operator, client_as):
    url = reverse("network-action-part", args=["testdrv", "net1", "stop", "panel"])
    response = client_as(operator).post(url, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="net-panel"')
    assert "hx-trigger" not in content
    assert "Stop: queued" in content


def test_an_htmx_action_from_the_host_page_keeps_the_host_column_out(net1, operator, client_as):
    url = reverse("network-action-part", args=["testdrv", "net1", "start", "host-row"])
    response = client_as(operator).post(url, **HTMX)
    content = response.content.decode()
    assert content.count("<td") == 9
    assert 'href="/hosts/testdrv/"' not in content


def test_the_row_of_a_finished_job_shows_the_fresh_state(net1, viewer, client_as):
    add_job(net1, state=Job.State.SUCCEEDED, message="Started net1.")
    Network.objects.filter(pk=net1.pk).update(active=True)
    url = reverse("network-row", args=["testdrv", "net1"])
    response = client_as(viewer).get(url, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert 'class="is-active"' in content
    # The outcome stays on the row for a while, for whoever clicked.
    assert "Start: succeeded" in content
    assert "Started net1." in content


def test_a_row_forgets_a_job_that_ended_long_ago(net1, viewer, client_as):
    job = add_job(net1, state=Job.State.FAILED, message="Old failure.")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    Job.objects.filter(pk=job.pk).update(created=an_hour_ago, finished=an_hour_ago)
    url = reverse("network-row", args=["testdrv", "net1"])
    content = client_as(viewer).get(url, **HTMX).content.decode()
    assert "Old failure." not in content
    assert "data-job=" not in content


def test_the_panel_shows_the_job_asked_for_even_when_it_failed(net1, viewer, client_as):
    job = add_job(net1, state=Job.State.FAILED, message="Network not found")
    url = reverse("network-panel", args=["testdrv", "net1"])
    response = client_as(viewer).get(url, {"job": job.pk}, **HTMX)
    assert response.status_code == 200
    assert "Network not found" in response.content.decode()


def test_the_row_of_a_running_job_shows_it(net1, viewer, client_as):
    job = add_job(net1, state=Job.State.RUNNING)
    url = reverse("network-row", args=["testdrv", "net1"])
    response = client_as(viewer).get(url, {"job": job.pk}, **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    assert "Start: running" in content
    assert f'data-job="{job.pk}"' in content


def test_polling_without_htmx_answers_200(net1, viewer, client_as):
    job = add_job(net1, state=Job.State.SUCCEEDED)
    url = reverse("network-row", args=["testdrv", "net1"])
    assert client_as(viewer).get(url, {"job": job.pk}).status_code == 200


def test_polling_ignores_a_job_of_another_network(test_host, make_network, viewer, client_as):
    net1 = make_network(test_host, "net1")
    other = add_job(make_network(test_host, "net2"), state=Job.State.SUCCEEDED, message="Other")
    url = reverse("network-row", args=["testdrv", "net1"])
    response = client_as(viewer).get(url, {"job": other.pk}, **HTMX)
    assert response.status_code == 200
    assert "Other" not in response.content.decode()
    assert f'id="net-{net1.pk}"' in response.content.decode()


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("network-row", {}),
        ("network-host-row", {}),
        ("network-panel", {}),
        ("network-leases", {}),
    ],
)
def test_a_fragment_of_a_network_that_is_gone_is_empty(
    test_host, make_network, viewer, client_as, name, params
):
    # A transient network vanishes when stopped; the worker's refresh then deletes its row.
    net = make_network(test_host, "transient", persistent=False, active=True)
    job = add_job(net, Op.STOP, Job.State.RUNNING)
    url = reverse(name, args=["testdrv", "transient"])
    net.delete()
    response = client_as(viewer).get(url, {**params, "job": job.pk}, **HTMX)
    assert response.status_code == 200
    assert response.content == b""


def test_a_gone_network_is_still_not_found_outside_htmx(test_host, viewer, client_as):
    for name in ("network-row", "network-host-row", "network-panel", "network-leases"):
        response = client_as(viewer).get(reverse(name, args=["testdrv", "gone"]))
        assert response.status_code == 404


def test_a_plain_post_of_an_action_redirects_to_the_network_page(net1, operator, client_as):
    url = reverse("network-action", args=["testdrv", "net1", "start"])
    response = client_as(operator).post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("network-detail", args=["testdrv", "net1"])
    assert Job.objects.get().operation == Op.START


def test_the_job_status_fragment_follows_the_job(net1, viewer, client_as):
    job = add_job(net1, state=Job.State.RUNNING)
    url = reverse("job-detail", args=[job.pk])
    live = {**HTMX, "HTTP_HX_TARGET": "job-status"}
    content = client_as(viewer).get(url, **live).content.decode()
    assert content.lstrip().startswith('<dl class="facts" id="job-status"')
    assert f'data-live-jobs="{job.pk}" data-live-pending' in content
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED, message="Done here.")
    content = client_as(viewer).get(url, **live).content.decode()
    assert "data-live-pending" not in content
    assert "Done here." in content
    assert "<html" not in content


# --- a network's page --------------------------------------------------------------------------


@pytest.fixture
def with_leases(test_host, make_network) -> Network:
    network = make_network(
        test_host,
        "default",
        active=True,
        xml='<network><name>default</name><description>a <b> & "c"</description>'
        "<script>alert(1)</script></network>",
        leases_seen=timezone.now(),
        addresses=[
            {
                "family": "ipv4",
                "cidr": "192.168.122.1/24",
                "dhcp_ranges": [["192.168.122.2", "192.168.122.254"]],
                "dhcp_hosts": 2,
            }
        ],
    )
    Lease.objects.create(
        network=network,
        mac="52:54:00:aa:bb:01",
        ip="192.168.122.17",
        prefix=24,
        hostname="web01",
        client_id="ff:00:01",
        expires=timezone.now() + timedelta(hours=1),
    )
    Lease.objects.create(network=network, mac="52:54:00:aa:bb:02", ip="192.168.122.9")
    return network


def test_the_network_page_shows_leases_xml_and_recent_jobs(with_leases, viewer, client_as):
    add_job(with_leases, Op.STOP, Job.State.SUCCEEDED, message="Stopped default.")
    add_job(with_leases, Op.START, Job.State.FAILED, message="Boom: no bridge")
    response = client_as(viewer).get(reverse("network-detail", args=["testdrv", "default"]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-mac="52:54:00:aa:bb:01"' in content
    assert "192.168.122.17/24" in content
    assert "web01" in content
    assert 'data-mac="52:54:00:aa:bb:02"' in content
    # The XML is shown as text, escaped, never as markup.
    assert "&lt;network&gt;&lt;name&gt;default&lt;/name&gt;" in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "<script>alert(1)</script>" not in content
    assert "&amp; &#34;c&#34;" in content
    assert "Stopped default." in content
    assert "Boom: no bridge" in content
    assert "192.168.122.2 \N{EN DASH} 192.168.122.254" in content
    assert "2 static hosts" in content


def test_the_network_page_shows_only_this_networks_jobs(
    with_leases, make_network, viewer, client_as
):
    other = make_network(with_leases.host, "other")
    add_job(other, state=Job.State.SUCCEEDED, message="Started other.")
    add_job(with_leases, state=Job.State.SUCCEEDED, message="Started default.")
    content = client_as(viewer).get(with_leases.get_absolute_url()).content.decode()
    assert "Started default." in content
    assert "Started other." not in content


def test_the_network_page_shows_at_most_ten_recent_jobs(with_leases, viewer, client_as):
    for i in range(12):
        add_job(with_leases, state=Job.State.SUCCEEDED, message=f"job number {i:02d}.")
    content = client_as(viewer).get(with_leases.get_absolute_url()).content.decode()
    table = content[content.index('<table class="grid jobs">') :]
    assert table.count("job number") == 10
    assert "job number 11." in table


def test_the_network_page_is_live_regions_for_this_network(with_leases, viewer, client_as):
    job = add_job(with_leases, Op.STOP, Job.State.QUEUED)
    content = client_as(viewer).get(with_leases.get_absolute_url()).content.decode()
    assert f'data-live-networks="{with_leases.pk}" data-live-pending' in content
    assert f'data-job="{job.pk}"' in content
    # The summary, the switch, its port forwards (a NAT switch), the lease table and the rest
    # follow this network, each on its own, in this order on the page; nothing polls.
    assert re.findall(
        r'<(?:div|section) id="([\w-]+)" data-live="[^"]*" data-live-networks="(\d+)"', content
    ) == [
        ("net-live", str(with_leases.pk)),
        ("net-switch", str(with_leases.pk)),
        ("net-forwards", str(with_leases.pk)),
        ("net-leases", str(with_leases.pk)),
        ("net-more", str(with_leases.pk)),
    ]
    assert not re.search(r'hx-trigger="[^"]*every', content)


@pytest.mark.parametrize(
    ("name", "target", "shows", "leaves_out"),
    [
        ("network-summary", "net-live", 'id="net-panel"', "Recent jobs"),
        ("network-more", "net-more", "Recent jobs", 'id="net-panel"'),
    ],
)
def test_a_live_refresh_of_the_network_page_gets_just_its_part(
    with_leases, viewer, client_as, name, target, shows, leaves_out
):
    url = reverse(name, args=["testdrv", "default"])
    content = client_as(viewer).get(url, headers={"HX-Request": "true"}).content.decode()
    assert content.lstrip().startswith(f'<div id="{target}" data-live="{url}"')
    assert shows in content and leaves_out not in content
    assert "<html" not in content and 'id="net-switch"' not in content


def test_the_network_page_names_each_part_by_its_url(with_leases, viewer, client_as):
    content = client_as(viewer).get(with_leases.get_absolute_url()).content.decode()
    for name, target in [
        ("network-summary", "net-live"),
        ("network-switch", "net-switch"),
        ("network-more", "net-more"),
    ]:
        url = reverse(name, args=["testdrv", "default"])
        assert re.search(rf'id="{target}"[^>]* data-live="{re.escape(url)}"', content)
    # No part is chosen by a hidden field any more.
    assert 'name="part"' not in content and '"part":' not in content


def test_an_htmx_request_for_the_network_page_still_gets_the_whole_page(
    with_leases, viewer, client_as
):
    content = client_as(viewer).get(with_leases.get_absolute_url(), headers={"HX-Request": "true"})
    assert b"<html" in content.content


@pytest.mark.parametrize(
    "name", ["network-summary", "network-more", "network-row", "network-host-row", "network-panel"]
)
def test_a_part_of_a_network_is_not_found_for_an_outsider(with_leases, outsider, client_as, name):
    url = reverse(name, args=["testdrv", "default"])
    assert client_as(outsider).get(url).status_code == 404


def test_the_leases_fragment_lists_the_leases(with_leases, viewer, client_as):
    response = client_as(viewer).get(reverse("network-leases", args=["testdrv", "default"]))
    assert response.status_code == 200
    content = response.content.decode()
    assert content.lstrip().startswith('<section id="leases"')
    assert "<html" not in content
    assert content.count("<tr data-mac=") == 2
    assert "web01" in content


def test_the_leases_fragment_follows_the_database(with_leases, viewer, client_as):
    client_as(viewer).get(reverse("network-leases", args=["testdrv", "default"]))  # rendered once
    # As a worker's refresh does: the lease goes, and the network's lease version moves on.
    Lease.objects.filter(mac="52:54:00:aa:bb:01").delete()
    Network.objects.filter(pk=with_leases.pk).update(leases_version=F("leases_version") + 1)
    content = client_as(viewer).get(reverse("network-leases", args=["testdrv", "default"]))
    assert content.content.decode().count("<tr data-mac=") == 1
    assert b"web01" not in content.content


def test_the_leases_fragment_says_when_the_network_is_down(
    test_host, make_network, viewer, client_as
):
    make_network(test_host, "down", active=False)
    response = client_as(viewer).get(reverse("network-leases", args=["testdrv", "down"]))
    assert b"not running" in response.content
    assert b"<tr data-mac=" not in response.content


def test_an_unknown_network_page_is_not_found(test_host, viewer, client_as):
    assert (
        client_as(viewer).get(reverse("network-detail", args=["testdrv", "x"])).status_code == 404
    )
    assert client_as(viewer).get(reverse("network-detail", args=["nohost", "x"])).status_code == 404


# --- a host's page -----------------------------------------------------------------------------


def test_the_host_page_lists_its_networks_without_the_host_column(varied, viewer, client_as):
    response = client_as(viewer).get(reverse("host-detail", args=["testdrv"]))
    assert response.status_code == 200
    assert rows(response) == [("testdrv", "default"), ("testdrv", "lab"), ("testdrv", "zeta")]
    content = response.content.decode()
    assert "<th>Host</th>" not in content
    assert "<th>Name</th>" in content
    for name in ("default", "lab", "zeta"):
        row = row_html(response, name)
        assert 'href="/hosts/testdrv/"' not in row
        assert row.count("<td") == 9


def test_the_network_list_has_the_host_column(varied, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"))
    assert ">Host</a></th>" in response.content.decode()
    row = row_html(response, "zeta")
    assert 'href="/hosts/testdrv/"' in row
    assert row.count("<td") == 10


def test_a_pending_row_on_the_host_page_has_no_host_column(
    test_host, make_network, viewer, client_as
):
    job = add_job(make_network(test_host, "busy"))
    response = client_as(viewer).get(reverse("host-detail", args=["testdrv"]))
    assert f'data-job="{job.pk}"' in row_html(response, "busy")
    rows_url = reverse("host-network-rows", args=["testdrv"])
    assert f'data-live-rows="{rows_url}"' in response.content.decode()
    poll = client_as(viewer).get(
        reverse("network-host-row", args=["testdrv", "busy"]), {"job": job.pk}, **HTMX
    )
    assert poll.content.decode().count("<td") == 9
    assert (
        client_as(viewer).get(rows_url, {"id": job.network_id}).content.decode().count("<td") == 9
    )


def test_the_buttons_of_a_row_ask_for_the_row_as_their_table_draws_it(
    test_host, make_network, operator, client_as
):
    make_network(test_host, "net1", active=False)
    start = reverse("network-action-part", args=["testdrv", "net1", "start", "host-row"])
    host_page = client_as(operator).get(reverse("host-detail", args=["testdrv"]))
    assert f'hx-post="{start}"' in row_html(host_page, "net1")
    start = reverse("network-action-part", args=["testdrv", "net1", "start", "row"])
    network_list = client_as(operator).get(reverse("network-list"))
    assert f'hx-post="{start}"' in row_html(network_list, "net1")
