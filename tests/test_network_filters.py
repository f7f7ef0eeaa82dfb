"""The network list for people with many networks: filters and pages kept in the URL, and the
same number of queries whatever the size; the network page's recent jobs without N+1."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from networks.models import Host, Job, Lease
from tests.test_network_views import add_job, rows

pytestmark = pytest.mark.postgres

HTMX_TABLE = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "net-table"}


@pytest.fixture
def lab(test_host, make_network):
    kvm2 = Host.objects.create(name="kvm2", uri="qemu+ssh://root@kvm2/system")
    make_network(test_host, "lab-a", mode="nat", active=True, ipv4="10.1.0.1/24", bridge="virbr1")
    make_network(test_host, "lab-b", mode="route", ipv4="10.1.1.1/24", autostart=True)
    make_network(test_host, "prod", mode="isolated", ipv4="192.168.50.1/24")
    make_network(kvm2, "lab-c", mode="nat", active=True, ipv4="10.2.0.1/16", ipv6="fd00:1::1/64")
    make_network(kvm2, "wan", mode="bridge", ipv4="", persistent=False, active=True)
    return kvm2


def names(response) -> list[str]:
    return sorted(name for _host, name in rows(response))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "lab"}, ["lab-a", "lab-b", "lab-c"]),
        ({"q": "LAB kvm2"}, ["lab-c"]),  # every word, anywhere in the row, any case
        ({"q": "virbr1"}, ["lab-a"]),
        ({"q": "192.168"}, ["prod"]),
        ({"q": "FD00:1::"}, ["lab-c"]),  # the IPv6 summary, upper case asked
        ({"q": "lab_a"}, []),  # "_" and "%" are themselves, not SQL's wildcards
        ({"q": "lab%"}, []),
        ({"host": "kvm2"}, ["lab-c", "wan"]),
        ({"mode": "nat"}, ["lab-a", "lab-c"]),
        ({"state": "active"}, ["lab-a", "lab-c", "wan"]),
        ({"state": "inactive"}, ["lab-b", "prod"]),
        ({"state": "autostart"}, ["lab-b"]),
        ({"state": "transient"}, ["wan"]),
        ({"subnet": "10.1.0.0/16"}, ["lab-a", "lab-b"]),  # the networks inside it
        ({"subnet": "10.2.3.4"}, ["lab-c"]),  # the network that holds the address
        ({"subnet": "10.1.1.0/25"}, ["lab-b"]),  # overlapping part of a network
        ({"subnet": "10.0.0.0/8"}, ["lab-a", "lab-b", "lab-c"]),
        ({"subnet": "fd00:1::/48"}, ["lab-c"]),
        ({"subnet": "172.16.0.0/12"}, []),
        ({"q": "lab", "mode": "nat", "host": "testdrv"}, ["lab-a"]),
    ],
)
def test_filters_narrow_the_list(lab, viewer, client_as, params, expected):
    response = client_as(viewer).get(reverse("network-list"), params)
    assert response.status_code == 200
    assert names(response) == expected


def test_a_bad_subnet_is_named_and_the_rest_of_the_filter_still_applies(lab, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"), {"subnet": "10.1/x", "q": "lab"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "&#39;10.1/x&#39; is not an address or subnet" in content
    assert names(response) == ["lab-a", "lab-b", "lab-c"]


def test_no_match_says_so(lab, viewer, client_as):
    content = client_as(viewer).get(reverse("network-list"), {"q": "nothing-like-it"}).content
    assert b"No network matches." in content


def test_the_filter_is_kept_in_every_link_of_the_table(lab, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"), {"q": "lab", "per": "50"})
    content = response.content.decode()
    # Sort headers keep the filter; the page starts again at 1.
    assert 'href="?q=lab&amp;per=50&amp;sort=name"' in content
    # The form shows what is filtered, and the live region re-fetches the same URL.
    assert 'name="q" value="lab"' in content
    assert 'data-live="/networks/?q=lab&amp;per=50"' in content


def test_pages_of_fifty_with_links_that_keep_the_filter(test_host, make_network, viewer, client_as):
    for i in range(120):
        make_network(test_host, f"n{i:03d}")
    client = client_as(viewer)
    first = client.get(reverse("network-list"), {"q": "n", "sort": "name"})
    assert names(first) == [f"n{i:03d}" for i in range(50)]
    content = first.content.decode()
    assert "1\N{EN DASH}50 of 120 networks matching" in content
    assert 'href="?q=n&amp;sort=name&amp;page=2"' in content
    last = client.get(reverse("network-list"), {"q": "n", "sort": "name", "page": "3"})
    assert names(last) == [f"n{i:03d}" for i in range(100, 120)]
    assert "Page 3 of 3" in last.content.decode()
    # A page past the end shows the last one; a bigger page size shows more.
    assert names(client.get(reverse("network-list"), {"page": "99", "sort": "name"})) == names(last)
    assert len(rows(client.get(reverse("network-list"), {"per": "250"}))) == 120


def test_the_filter_as_you_type_gets_just_the_table(lab, viewer, client_as):
    response = client_as(viewer).get(reverse("network-list"), {"q": "prod"}, **HTMX_TABLE)
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="net-table"')
    assert names(response) == ["prod"]
    # The sort the table uses goes back into the form (out of band), for the next keystroke.
    assert 'id="filter-sort" value="host" hx-swap-oob="true"' in content


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "query", ["", "?q=n&sort=-state", "?subnet=10.0.0.0/8&mode=nat&page=2", "?per=500&host=testdrv"]
)
def test_the_list_costs_the_same_queries_at_any_size(
    test_host, make_network, operator, client_as, query
):
    client = client_as(operator)
    url = reverse("network-list") + query
    for i in range(3):
        add_job(make_network(test_host, f"n{i:03d}", ipv4=f"10.0.{i}.1/24"))
    client.get(url)  # warm up: session, user, content types
    few = _queries(client, url)
    for i in range(3, 300):
        network = make_network(test_host, f"n{i:03d}", ipv4=f"10.{i // 250}.{i % 250}.1/24")
        if i % 7 == 0:
            add_job(network, state=Job.State.RUNNING)
    assert _queries(client, url) == few


def test_the_network_page_costs_the_same_queries_with_many_jobs_and_leases(
    test_host, make_network, viewer, client_as
):
    # Each recent job used to cost a query of its own (its host's name): an N+1.
    network = make_network(test_host, "busy", active=True)
    client = client_as(viewer)
    add_job(network, state=Job.State.SUCCEEDED)
    client.get(network.get_absolute_url())
    few = _queries(client, network.get_absolute_url())
    for i in range(9):
        add_job(network, state=Job.State.FAILED, message=f"failure {i}")
    for i in range(200):
        Lease.objects.create(
            network=network,
            mac=f"52:54:00:00:{i // 256:02x}:{i % 256:02x}",
            ip=f"10.9.{i // 250}.{i % 250}",
        )
    content = client.get(network.get_absolute_url()).content.decode()
    jobs_table = content[content.index('<table class="grid jobs">') :]
    assert len(re.findall(r"failure \d", jobs_table)) == 9
    assert _queries(client, network.get_absolute_url()) == few


def test_a_refresh_of_the_table_does_not_read_the_hosts_for_the_drop_down(lab, viewer, client_as):
    client = client_as(viewer)
    url = reverse("network-list") + "?q=lab"
    client.get(url)
    full = _queries(client, url)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, **HTMX_TABLE).status_code == 200
    assert len(ctx.captured_queries) == full - 1
    assert not any('FROM "networks_host" ORDER' in q["sql"] for q in ctx.captured_queries)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="trigram indexes are PostgreSQL's (migration 0015)"
)
def test_on_postgresql_a_word_can_be_found_from_the_search_columns_trigram_indexes(lab):
    from networks.models import Lease, Network

    with connection.cursor() as cursor:
        # A few rows: a scan would be cheaper. Without scans of the table or of another index
        # in order, only a bitmap scan of an index that answers the condition is left.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        for queryset, index in (
            (Network.objects.filter(search__contains="lab"), "networks_network_search_trgm"),
            (Lease.objects.filter(search__contains="52:54:00"), "networks_lease_search_trgm"),
        ):
            sql, params = queryset.query.sql_with_params()
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f"Bitmap Index Scan on {index}" in plan, plan
