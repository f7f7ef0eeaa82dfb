"""A network's lease table (columns, sort, filter, its live region), its CSV export, Make
permanent, and the search across every network."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from networks.models import Host, Job, Lease, Network
from networks.pages.lease_table import time_left

pytestmark = pytest.mark.postgres

HTMX = {"HTTP_HX_REQUEST": "true"}
LIVE = {**HTMX, "HTTP_HX_TARGET": "net-leases"}
ROW = re.compile(r'<tr data-mac="([^"]*)" data-ip="([^"]*)"')
DHCP = [
    {
        "family": "ipv4",
        "cidr": "10.0.0.1/24",
        "dhcp_ranges": [["10.0.0.2", "10.0.0.254"]],
        "dhcp_hosts": 1,
    }
]


def ips(response) -> list[str]:
    """The addresses of the lease rows, in page order."""
    return [ip for _mac, ip in ROW.findall(response.content.decode())]


def row_html(response, ip: str) -> str:
    match = re.search(
        rf'<tr data-mac="[^"]*" data-ip="{re.escape(ip)}".*?</tr>', _text(response), re.S
    )
    assert match, f"no row for {ip}"
    return match.group(0)


def _text(response) -> str:
    return response.content.decode()


@pytest.fixture
def lab(frozen_clock, test_host, make_network) -> Network:
    """A running network with four leases whose every sortable column differs, on a clock that
    stands still: the time left on each row is exactly what the fixture says."""
    network = make_network(
        test_host, "lab", active=True, leases_seen=timezone.now(), addresses=DHCP
    )
    now = timezone.now()
    leases = [
        # mac, ip, hostname, client ID, expires, static, guest
        (
            "52:54:00:aa:00:09",
            "10.0.0.9",
            "web09",
            "ff:00:09",
            now + timedelta(seconds=100),
            False,
            "web-vm",
        ),
        ("52:54:00:aa:00:17", "10.0.0.17", "db", "", now + timedelta(hours=2), True, ""),
        ("52:54:00:aa:01:00", "10.0.0.100", "Zed", "", now - timedelta(seconds=5), False, "zvm"),
        ("52:54:00:aa:00:02", "10.0.0.2", "", "", None, False, "build01"),
    ]
    for mac, ip, hostname, client_id, expires, static, guest in leases:
        Lease.objects.create(
            network=network,
            mac=mac,
            ip=ip,
            prefix=24,
            hostname=hostname,
            client_id=client_id,
            expires=expires,
            static=static,
            guest=guest,
        )
    return network


def leases_url(network: Network) -> str:
    return reverse("network-leases", args=[network.host.name, network.name])


# --- the table ---------------------------------------------------------------------------------


def test_what_a_dhcp_client_names_itself_is_printed_as_text_not_markup(lab, operator, client_as):
    """The rows are escaped once when read, and printed with autoescape off (views/leases.py)."""
    Lease.objects.create(
        network=lab,
        mac="52:54:00:aa:00:66",
        ip="10.0.0.66",
        hostname='<script>alert("h")</script>',
        client_id="<b>x</b>&'",
        expires=timezone.now() + timedelta(hours=1),
        guest='"><img src=x>',
    )
    Network.objects.filter(pk=lab.pk).update(leases_version=lab.leases_version + 1)
    for url in (lab.get_absolute_url(), leases_url(lab)):
        content = _text(client_as(operator).get(url))
        assert "<script>alert" not in content and "<b>x</b>" not in content
        assert '"><img' not in content
        row = row_html(client_as(operator).get(url), "10.0.0.66")
        assert "<td>&lt;script&gt;alert(&#34;h&#34;)&lt;/script&gt;</td>" in row
        assert "<code>&lt;b&gt;x&lt;/b&gt;&amp;&#39;</code>" in row
        assert "<td>&#34;&gt;&lt;img src=x&gt;</td>" in row


def test_the_lease_table_shows_every_column(lab, viewer, client_as):
    response = client_as(viewer).get(lab.get_absolute_url())
    content = _text(response)
    for header in (
        "IP address",
        "MAC",
        "Hostname",
        "Client ID",
        "Expires (UTC)",
        "Static",
        "Guest",
    ):
        assert f">{header}<" in content, header
    row = row_html(response, "10.0.0.9")
    assert "<code>10.0.0.9/24</code>" in row
    assert "<code>52:54:00:aa:00:09</code>" in row
    assert "<td>web09</td>" in row
    assert "<code>ff:00:09</code>" in row
    expires = Lease.objects.get(ip="10.0.0.9").expires
    assert f'<time datetime="{expires.isoformat()}">{expires:%Y-%m-%d %H:%M:%S}</time>' in row
    assert '<span class="dim left">in 1 min 40 s</span>' in row
    assert "<td>web-vm</td>" in row
    assert "static" not in row.replace("is-static", "")


def test_a_reservation_is_marked_static_and_a_lease_without_a_guest_says_so(lab, viewer, client_as):
    response = client_as(viewer).get(lab.get_absolute_url())
    row = row_html(response, "10.0.0.17")
    assert 'class="is-static"' in row
    assert ">static</span>" in row
    assert row.endswith("<td>—</td></tr>")  # no guest's NIC has this MAC
    assert '<span class="dim left">in 2 h</span>' in row


def test_an_expired_lease_and_one_that_never_expires(lab, viewer, client_as):
    response = client_as(viewer).get(lab.get_absolute_url())
    assert '<span class="dim left">expired</span>' in row_html(response, "10.0.0.100")
    assert "<td>never</td>" in row_html(response, "10.0.0.2")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (-1, "expired"),
        (0, "expired"),
        (40, "in 40 s"),
        (100, "in 1 min 40 s"),
        (120, "in 2 min"),
        (3725, "in 1 h 2 min"),
        (7200, "in 2 h"),
        (90061, "in 1 d 1 h"),
    ],
)
def test_time_left_in_words(seconds, words):
    assert time_left(seconds) == words


def test_the_time_left_moves_on_while_the_rows_come_from_the_cache(
    lab, viewer, client_as, frozen_clock
):
    client = client_as(viewer)
    assert "in 1 min 40 s" in row_html(client.get(leases_url(lab)), "10.0.0.9")
    # The rows are kept per lease version; nothing changed, yet 200 s later the lease is over.
    Lease.objects.filter(ip="10.0.0.9").update(hostname="not-read-again")
    frozen_clock.shift(200)
    row = row_html(client.get(leases_url(lab)), "10.0.0.9")
    assert "not-read-again" not in row, "the rows came from the cache"
    assert '<span class="dim left">expired</span>' in row


# Leases that end at whole seconds (as dnsmasq's do), on either side of 11:00:00.
HOUR_AWAY = datetime(2026, 12, 3, 13, 0, 0, tzinfo=UTC)
MINUTE_AWAY = datetime(2026, 12, 3, 11, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "hour_left", "minute_left"),
    [
        ("10:59:59", "in 2 h", "in 1 min 1 s"),  # 7201 s: the seconds are not shown next to hours
        ("10:59:59.999", "in 2 h", "in 1 min 1 s"),  # a part of a second left counts as one
        ("11:00:00", "in 2 h", "in 1 min"),
        ("11:00:00.5", "in 2 h", "in 1 min"),
        ("11:00:01", "in 1 h 59 min", "in 59 s"),
        ("11:00:59.5", "in 1 h 59 min", "in 1 s"),
        ("11:01:00", "in 1 h 59 min", "expired"),
    ],
)
def test_the_time_left_follows_the_clock_across_a_minute_and_an_hour(
    frozen_clock, test_host, make_network, viewer, client_as, now, hour_left, minute_left
):
    frozen_clock.move_to(datetime.fromisoformat("2026-12-03T10:59:58+00:00"))
    network = make_network(test_host, "lab", active=True, leases_seen=timezone.now())
    for ip, expires in (("10.0.0.60", HOUR_AWAY), ("10.0.0.61", MINUTE_AWAY)):
        Lease.objects.create(
            network=network, mac=f"52:54:00:bb:00:{ip[-2:]}", ip=ip, expires=expires
        )
    client = client_as(viewer)
    row_html(client.get(leases_url(network)), "10.0.0.60")  # the rows are now in the cache
    frozen_clock.move_to(datetime.fromisoformat(f"2026-12-03T{now}+00:00"))
    response = client.get(leases_url(network))
    assert f'<span class="dim left">{hour_left}</span>' in row_html(response, "10.0.0.60")
    assert f'<span class="dim left">{minute_left}</span>' in row_html(response, "10.0.0.61")
    found = _text(client.get(reverse("lease-search"), {"q": "52:54:00:bb:00"}))
    assert f'<span class="dim left">{hour_left}</span>' in found
    assert f'<span class="dim left">{minute_left}</span>' in found


def test_the_rows_are_read_again_when_the_lease_version_moves_on(lab, viewer, client_as):
    client = client_as(viewer)
    client.get(leases_url(lab))
    Lease.objects.filter(ip="10.0.0.9").update(hostname="renamed")
    Network.objects.filter(pk=lab.pk).update(leases_version=F("leases_version") + 1)
    assert "<td>renamed</td>" in row_html(client.get(leases_url(lab)), "10.0.0.9")


# --- sort --------------------------------------------------------------------------------------

ORDERS = {
    "ip": ["10.0.0.2", "10.0.0.9", "10.0.0.17", "10.0.0.100"],
    "mac": ["10.0.0.2", "10.0.0.9", "10.0.0.17", "10.0.0.100"],
    # Names A to Z (whatever their case), a lease without one last.
    "hostname": ["10.0.0.17", "10.0.0.9", "10.0.0.100", "10.0.0.2"],
    # Soonest first, one that never expires last.
    "expires": ["10.0.0.100", "10.0.0.9", "10.0.0.17", "10.0.0.2"],
    "guest": ["10.0.0.2", "10.0.0.9", "10.0.0.100", "10.0.0.17"],
}


def test_the_default_order_is_by_address_as_numbers(lab, viewer, client_as):
    assert ips(client_as(viewer).get(lab.get_absolute_url())) == ORDERS["ip"]


@pytest.mark.parametrize("key", list(ORDERS))
def test_sorting_by_a_column(lab, viewer, client_as, key):
    client = client_as(viewer)
    assert ips(client.get(leases_url(lab), {"sort": key})) == ORDERS[key]
    assert ips(client.get(leases_url(lab), {"sort": f"-{key}"})) == ORDERS[key][::-1]


@pytest.mark.parametrize("sort", ["bogus", "-client_id", "static", ""])
def test_an_unknown_sort_falls_back_to_address_order(lab, viewer, client_as, sort):
    assert ips(client_as(viewer).get(leases_url(lab), {"sort": sort})) == ORDERS["ip"]


def test_a_sorted_column_header_links_to_the_reverse_order_keeping_the_filter(
    lab, viewer, client_as
):
    content = _text(client_as(viewer).get(leases_url(lab), {"sort": "hostname", "q": "0"}))
    page, part = lab.get_absolute_url(), leases_url(lab)
    to_desc = "?q=0&amp;sort=-hostname"
    assert f'<a href="{page}{to_desc}" hx-get="{part}{to_desc}" class="asc">Hostname</a>' in content
    assert f'<th aria-sort="ascending"><a href="{page}{to_desc}"' in content
    assert content.count("aria-sort=") == 1
    assert (
        f'<a href="{page}?q=0&amp;sort=mac" hx-get="{part}?q=0&amp;sort=mac" class="">MAC</a>'
        in content
    )


# --- filter ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("web", ["10.0.0.9"]),  # hostname
        ("WEB09", ["10.0.0.9"]),  # any case
        ("52-54-00-AA-00-17", ["10.0.0.17"]),  # a MAC with dashes, upper case
        ("525400aa0100", ["10.0.0.100"]),  # a MAC without separators
        ("aa:00:0", ["10.0.0.2", "10.0.0.9"]),  # part of a MAC
        ("ff:00", ["10.0.0.9"]),  # client ID
        ("build", ["10.0.0.2"]),  # guest
        ("10.0.0.17", ["10.0.0.17"]),  # a whole address: only that one
        ("10.0.0.1", []),
        ("0.0.1", ["10.0.0.17", "10.0.0.100"]),  # part of an address
        ("vm 10.0.0", ["10.0.0.9", "10.0.0.100"]),  # every word matches
    ],
)
def test_the_filter_finds_leases_by_any_of_their_fields(lab, viewer, client_as, q, expected):
    assert ips(client_as(viewer).get(leases_url(lab), {"q": q})) == expected


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("static", ["10.0.0.17"]),
        ("dynamic", ["10.0.0.2", "10.0.0.9", "10.0.0.100"]),
        ("bogus", ORDERS["ip"]),
    ],
)
def test_static_or_dynamic_only(lab, viewer, client_as, kind, expected):
    assert ips(client_as(viewer).get(leases_url(lab), {"kind": kind})) == expected


def test_a_filter_that_matches_nothing_says_so(lab, viewer, client_as):
    content = _text(client_as(viewer).get(leases_url(lab), {"q": "nothing-like-this"}))
    assert "No lease matches." in content
    assert "0 leases match" in content


def test_the_network_page_takes_the_filter_without_javascript(lab, viewer, client_as):
    response = client_as(viewer).get(lab.get_absolute_url(), {"q": "vm", "sort": "-ip"})
    assert ips(response) == ["10.0.0.100", "10.0.0.9"]
    content = _text(response)
    form = content[content.index('<form class="filters" id="lease-filter"') :]
    form = form[: form.index("</form>")]
    assert f'method="get" action="{lab.get_absolute_url()}"' in form
    assert f'hx-get="{leases_url(lab)}"' in form
    assert 'hx-target="#net-leases"' in form
    assert 'name="q" value="vm"' in form
    assert 'name="sort" id="lease-sort" value="-ip"' in form
    # The form is outside the live region, whose URL carries the same choice.
    assert content.index("</form>", content.index('id="lease-filter"')) < content.index(
        '<div id="net-leases"'
    )
    assert f'<div id="net-leases" data-live="{leases_url(lab)}?q=vm&amp;sort=-ip"' in content


# --- the live region ---------------------------------------------------------------------------


def test_a_request_aimed_at_the_lease_part_gets_just_that_part(lab, viewer, client_as):
    response = client_as(viewer).get(leases_url(lab), {"q": "web", "sort": "-ip"}, **LIVE)
    content = _text(response)
    assert content.lstrip().startswith(
        f'<div id="net-leases" data-live="{leases_url(lab)}?q=web&amp;sort=-ip" '
        f'data-live-networks="{lab.pk}"'
    )
    assert "<html" not in content
    assert ips(response) == ["10.0.0.9"]
    # The sort the headers chose reaches the filter form, outside this part.
    assert (
        '<input type="hidden" name="sort" id="lease-sort" value="-ip" hx-swap-oob="true">'
        in content
    )
    # The address bar shows the network's page with the same choice.
    assert response["HX-Push-Url"] == f"{lab.get_absolute_url()}?q=web&sort=-ip"


def test_the_lease_part_without_htmx_is_the_section_alone(lab, viewer, client_as):
    response = client_as(viewer).get(leases_url(lab))
    content = _text(response)
    assert content.lstrip().startswith('<section id="leases"')
    assert "data-live=" not in content
    assert not response.has_header("HX-Push-Url")


def test_a_refresh_of_the_summary_leaves_the_leases_alone(lab, viewer, client_as):
    response = client_as(viewer).get(
        reverse("network-summary", args=[lab.host.name, lab.name]), HTTP_HX_REQUEST="true"
    )
    assert response.content.decode().lstrip().startswith('<div id="net-live"')
    assert b"data-mac=" not in response.content


def test_the_lease_part_costs_the_same_queries_for_4_leases_as_for_200(
    lab, viewer, client_as, django_assert_num_queries
):
    client = client_as(viewer)
    url = leases_url(lab)
    client.get(url, **LIVE)  # warm up: session, user
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"q": "10"}, **LIVE)  # filtered: never from the cache
    for i in range(196):
        Lease.objects.create(network=lab, mac=f"52:54:00:bb:00:{i:02x}", ip=f"10.0.1.{i}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, {"q": "10"}, **LIVE)
    assert len(ips(response)) == 200


# --- CSV ---------------------------------------------------------------------------------------


def csv_url(network: Network) -> str:
    return reverse("network-leases-csv", args=[network.host.name, network.name])


def test_a_viewer_exports_the_leases_as_csv(lab, viewer, client_as):
    response = client_as(viewer).get(csv_url(lab))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="testdrv-lab-leases.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["ip", "prefix", "mac", "hostname", "client_id", "expires", "static", "guest"]
    expires = Lease.objects.get(ip="10.0.0.9").expires
    assert rows[1:] == [
        ["10.0.0.2", "24", "52:54:00:aa:00:02", "", "", "", "false", "build01"],
        [
            "10.0.0.9",
            "24",
            "52:54:00:aa:00:09",
            "web09",
            "ff:00:09",
            expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "false",
            "web-vm",
        ],
        ["10.0.0.17", "24", "52:54:00:aa:00:17", "db", "", rows[3][5], "true", ""],
        ["10.0.0.100", "24", "52:54:00:aa:01:00", "Zed", "", rows[4][5], "false", "zvm"],
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", rows[3][5])


def test_the_csv_has_the_filter_and_sort_of_the_page(lab, viewer, client_as):
    response = client_as(viewer).get(csv_url(lab), {"q": "0.0", "sort": "-ip", "kind": "dynamic"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [row[0] for row in rows[1:]] == ["10.0.0.100", "10.0.0.9", "10.0.0.2"]


@pytest.mark.parametrize(
    "hostname", ['=HYPERLINK("http://evil.example/","x")', "+1+2", "-2+3", "@SUM(A1)", "\tx"]
)
def test_the_csv_defuses_what_a_spreadsheet_would_run_as_a_formula(
    lab, viewer, client_as, hostname
):
    Lease.objects.filter(ip="10.0.0.9").update(hostname=hostname, guest="=cmd|' /C calc'!A0")
    response = client_as(viewer).get(csv_url(lab), {"q": "10.0.0.9"})
    [row] = list(csv.reader(io.StringIO(response.content.decode())))[1:]
    assert row[3] == "'" + hostname
    assert row[7] == "'=cmd|' /C calc'!A0"
    assert row[0] == "10.0.0.9", "an address is left as it is"


def test_the_csv_of_a_network_the_user_cannot_see_is_not_found(lab, outsider, client_as):
    assert client_as(outsider).get(csv_url(lab)).status_code == 404


# --- Make permanent ----------------------------------------------------------------------------


def pin_url(network: Network) -> str:
    return reverse("lease-pin", args=[network.host.name, network.name])


def test_operators_see_make_permanent_on_each_dynamic_lease(lab, operator, client_as):
    response = client_as(operator).get(lab.get_absolute_url())
    content = _text(response)
    assert content.count('data-action="pin-lease"') == 3
    assert "pin-lease" not in row_html(response, "10.0.0.17"), "a reservation already"
    row = row_html(response, "10.0.0.9")
    assert f'<form method="post" action="{pin_url(lab)}" hx-post="{pin_url(lab)}"' in row
    assert re.search(r'<input type="hidden" name="csrfmiddlewaretoken" value="\w+">', row)
    assert '<input type="hidden" name="mac" value="52:54:00:aa:00:09">' in row
    assert '<input type="hidden" name="ip" value="10.0.0.9">' in row
    assert "<!--" not in content[content.index('<div id="net-leases"') :], "every marker filled"


def test_viewers_see_no_make_permanent_even_after_an_operator(lab, operator, viewer, client_as):
    assert "pin-lease" in _text(client_as(operator).get(leases_url(lab)))
    assert "pin-lease" not in _text(client_as(viewer).get(leases_url(lab)))


def test_a_stopped_network_has_no_make_permanent(lab, operator, client_as):
    Network.objects.filter(pk=lab.pk).update(active=False)
    assert "pin-lease" not in _text(client_as(operator).get(leases_url(lab)))


def test_an_operator_makes_a_lease_permanent_and_sees_the_job_in_the_lease_part(
    lab, operator, client_as
):
    response = client_as(operator).post(
        pin_url(lab),
        {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"},
        HTTP_HX_CURRENT_URL=f"http://testserver{lab.get_absolute_url()}?q=vm",
        **LIVE,
    )
    assert response.status_code == 200
    job = Job.objects.get()
    assert (job.operation, job.state, job.network, job.target) == (
        "pin_lease",
        Job.State.QUEUED,
        lab,
        "lab",
    )
    assert (job.user, job.host) == (operator, lab.host)
    assert job.params == {
        "mac": "52:54:00:aa:00:09",
        "ip": "10.0.0.9",
        "hostname": "web09",
        "client_id": "ff:00:09",
        "base_xml": lab.saved_xml,
    }
    content = _text(response)
    assert content.lstrip().startswith(f'<div id="net-leases" data-live="{leases_url(lab)}?q=vm"')
    assert "data-live-pending" in content
    assert f'data-job="{job.pk}"' in content
    assert "Make permanent: queued" in content
    assert ips(response) == ["10.0.0.9", "10.0.0.100"], "the page's filter is kept"


def test_a_hostname_sent_with_the_lease_names_the_reservation(lab, operator, client_as):
    data = {"mac": "52:54:00:AA:00:02", "ip": "10.0.0.2", "hostname": "build01"}
    client_as(operator).post(pin_url(lab), data)
    assert Job.objects.get().params["hostname"] == "build01"
    assert Job.objects.get().params["mac"] == "52:54:00:aa:00:02", "as the lease has it"


def test_make_permanent_without_htmx_goes_back_to_the_network_page(lab, operator, client_as):
    response = client_as(operator).post(
        pin_url(lab), {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    )
    assert response.status_code == 302
    assert response["Location"] == lab.get_absolute_url()
    assert Job.objects.get().operation == "pin_lease"


def test_the_lease_part_shows_the_pin_job_until_it_is_old(lab, viewer, client_as):
    job = Job.objects.create(
        username="oscar-operator",
        host=lab.host,
        network=lab,
        target="lab",
        operation="pin_lease",
        state=Job.State.SUCCEEDED,
        message="10.0.0.9 is now reserved for 52:54:00:aa:00:09 (web09) on lab, without a restart.",
    )
    client = client_as(viewer)
    for url in (leases_url(lab), lab.get_absolute_url()):
        content = _text(client.get(url))
        assert "is now reserved for 52:54:00:aa:00:09 (web09)" in content, url
    Job.objects.filter(pk=job.pk).update(created=timezone.now() - timedelta(hours=1))
    assert "is now reserved" not in _text(client.get(leases_url(lab)))


def test_a_viewer_may_not_make_a_lease_permanent(lab, viewer, client_as):
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client_as(viewer).post(pin_url(lab), data, **LIVE)
    assert response.status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"mac": "52:54:00:aa:00:09", "ip": "10.0.0.17"}, "lab has no lease of 10.0.0.17 for"),
        ({"mac": "52:54:00:ff:ff:ff", "ip": "10.0.0.9"}, "lab has no lease of 10.0.0.9 for"),
        ({"mac": "52:54:00:aa:00:09"}, "'' is not an IP address"),
        ({"mac": "52:54:00:aa:00:09", "ip": "10.0.0.999"}, "'10.0.0.999' is not an IP address"),
    ],
)
def test_make_permanent_of_an_unknown_lease_is_a_bad_request_and_queues_nothing(
    lab, operator, client_as, data, words
):
    response = client_as(operator).post(pin_url(lab), data, **LIVE)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith(words)
    assert "nothing was queued" in response.content.decode()
    assert not Job.objects.exists()


def test_make_permanent_on_a_stopped_network_is_a_bad_request(lab, operator, client_as):
    Network.objects.filter(pk=lab.pk).update(active=False)
    data = {"mac": "52:54:00:aa:00:09", "ip": "10.0.0.9"}
    response = client_as(operator).post(pin_url(lab), data)
    assert response.status_code == 400
    assert response.content == b"lab is not running, so it has no leases; nothing was queued."
    assert not Job.objects.exists()


def test_an_ipv6_lease_without_a_client_id_cannot_be_made_permanent(lab, operator, client_as):
    Lease.objects.create(network=lab, mac="52:54:00:aa:00:66", ip="fd00::66", prefix=64)
    data = {"mac": "52:54:00:aa:00:66", "ip": "fd00::66"}
    response = client_as(operator).post(pin_url(lab), data)
    assert response.status_code == 400
    assert b"no client ID (DUID)" in response.content
    assert not Job.objects.exists()
    # Nor does its row offer it.
    row = row_html(client_as(operator).get(leases_url(lab)), "fd00::66")
    assert "pin-lease" not in row


def test_make_permanent_only_answers_post(lab, operator, client_as):
    assert client_as(operator).get(pin_url(lab)).status_code == 405
    assert not Job.objects.exists()


# --- the search across every host and network --------------------------------------------------

SEARCH_ROW = re.compile(r'<tr data-mac="[^"]*" data-ip="([^"]*)" data-network="([^"]*)"')


def found(response) -> list[tuple[str, str]]:
    """(network, address) of every row of the search, in page order."""
    return [(network, ip) for ip, network in SEARCH_ROW.findall(_text(response))]


@pytest.fixture
def two_hosts(lab, make_network) -> Network:
    """`lab` on testdrv, and `edge` on another host with a lease of the same hostname."""
    other = Host.objects.create(name="kvm2", uri="qemu+ssh://root@kvm2/system")
    edge = make_network(other, "edge", active=True, leases_seen=timezone.now())
    Lease.objects.create(
        network=edge, mac="52:54:00:cc:00:01", ip="192.168.5.9", prefix=24, hostname="web09-b"
    )
    return edge


def search(client, q: str, **headers):
    return client.get(reverse("lease-search"), {"q": q}, **headers)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("10.0.0.17", [("lab", "10.0.0.17")]),
        ("192.168.5", [("edge", "192.168.5.9")]),
        ("52-54-00-AA-00-09", [("lab", "10.0.0.9")]),
        ("52:54:00:CC:00:01", [("edge", "192.168.5.9")]),
        ("web09", [("edge", "192.168.5.9"), ("lab", "10.0.0.9")]),  # kvm2 before testdrv
        ("no-such-lease", []),
    ],
)
def test_the_search_finds_leases_on_every_host_by_address_mac_or_hostname(
    two_hosts, viewer, client_as, q, expected
):
    assert found(search(client_as(viewer), q)) == expected


def test_a_search_row_links_to_its_network_and_host(two_hosts, viewer, client_as):
    response = search(client_as(viewer), "52:54:00:cc:00:01")
    content = _text(response)
    assert f'<a href="{two_hosts.get_absolute_url()}">edge</a>' in content
    assert '<a href="/hosts/kvm2/">kvm2</a>' in content
    assert "<code>192.168.5.9/24</code>" in content
    assert "<td>web09-b</td>" in content
    assert "1 lease matches." in content
    lab_row = _text(search(client_as(viewer), "10.0.0.17"))
    assert ">static</span>" in lab_row
    assert '<span class="dim left">in 2 h</span>' in lab_row


def test_an_empty_search_asks_for_something_to_find(two_hosts, viewer, client_as):
    response = client_as(viewer).get(reverse("lease-search"))
    assert response.status_code == 200
    assert b"Type an address, a MAC or a hostname." in response.content
    assert found(response) == []


def test_the_search_is_a_live_region_that_answers_htmx_with_just_its_results(
    two_hosts, viewer, client_as
):
    client = client_as(viewer)
    page = _text(search(client, "web09"))
    assert '<div id="lease-results" data-live="/leases/?q=web09" data-live-hosts="*">' in page
    assert f'href="{reverse("lease-search")}">Leases</a>' in page  # in the header's menu
    part = search(client, "web09", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="lease-results")
    assert _text(part).lstrip().startswith('<div id="lease-results"')
    assert "<html" not in _text(part)
    assert len(found(part)) == 2


def test_an_outsider_finds_nothing(two_hosts, outsider, client_as):
    response = search(client_as(outsider), "web09")
    assert response.status_code == 200
    assert found(response) == []
    assert b"edge" not in response.content
    assert b"0 leases match." in response.content


def test_the_search_shows_at_most_200_and_says_there_are_more(lab, viewer, client_as):
    Lease.objects.bulk_create(
        Lease(network=lab, mac=f"52:54:00:dd:{i // 256:02x}:{i % 256:02x}", ip=f"10.0.2.{i}")
        for i in range(201)
    )
    response = search(client_as(viewer), "52:54:00:dd")
    assert len(found(response)) == 200
    assert b"More than 200 leases match: the first 200 are shown; narrow the search." in (
        response.content
    )
    assert found(response)[:3] == [("lab", "10.0.2.0"), ("lab", "10.0.2.1"), ("lab", "10.0.2.2")]


def test_the_search_costs_the_same_queries_for_1_network_as_for_20(
    test_host, make_network, viewer, client_as, django_assert_num_queries
):
    client = client_as(viewer)

    def add(name: str) -> None:
        network = make_network(test_host, name, active=True)
        for i in range(3):
            Lease.objects.create(
                network=network, mac=f"52:54:00:ee:00:{i:02x}", ip=f"10.9.0.{i}", hostname="vm"
            )

    add("net00")
    search(client, "vm")  # warm up: session, user
    with CaptureQueriesContext(connection) as one:
        assert len(found(search(client, "vm"))) == 3
    for n in range(1, 20):
        add(f"net{n:02d}")
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(found(search(client, "vm"))) == 60
