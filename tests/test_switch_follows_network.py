"""The switch editor follows the network typed (issue 17): the suggested gateway and DHCP range move
with it at review, and a gateway, range, static host or route next-hop outside it is a field error.

Nothing here reaches libvirt: a valid form becomes a Job row, an invalid one a page of field errors
and no job at all. The browser's side (as one types) is tests/test_switch_follow_browser.py.
"""

import ipaddress

import pytest

from networks.forms.follow import follow_network
from networks.models import Job
from networks.spec import parse, to_xml
from networks.spec.defaults import suggested_gateway, suggested_range
from tests.test_switch_views import create_url, edit_data, edit_url, form_data, nat_spec, token_of

NET = "10.215.41"


def typed(**overrides) -> dict:
    """The create form with 10.215.41.0/24 typed and its gateway and range, with `overrides`."""
    fields = {
        "bridge": "virbr41",
        "ipv4_network": f"{NET}.0/24",
        "ipv4_gateway": f"{NET}.1",
        "ipv4_ranges": f"{NET}.2 {NET}.254",
    }
    return form_data(**{**fields, **overrides})


def review(client, url: str, data: dict):
    return client.post(url, {**data, "review": "1"})


def errors_of(response) -> dict[str, str]:
    return {field: " ".join(errors) for field, errors in response.context["form"].errors.items()}


# --- what lies outside the network is a field error, in words -------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"ipv4_gateway": "192.168.100.1"},
            "ipv4_gateway",
            "192.168.100.1 is outside 10.215.41.0/24, the IPv4 network",
        ),
        (
            {"ipv4_ranges": "10.215.42.2 10.215.42.50"},
            "ipv4_ranges",
            "line 1: 10.215.42.2 is outside 10.215.41.0/24",
        ),
        (
            {"ipv4_ranges": f"{NET}.200 10.215.42.50"},
            "ipv4_ranges",
            "line 1: 10.215.42.50 is outside 10.215.41.0/24",
        ),
        (
            {"ipv4_ranges": f"{NET}.1 {NET}.50"},
            "ipv4_ranges",
            f"contains the host's own address {NET}.1",
        ),
        (
            {"ipv4_gateway": f"{NET}.100"},
            "ipv4_ranges",
            f"{NET}.2-{NET}.254 contains the host's own address {NET}.100",
        ),
        (
            {"ipv4_hosts": f"52:54:00:00:00:09 web {NET}.5\n52:54:00:00:00:0a db 10.215.42.6"},
            "ipv4_hosts",
            "line 2: 10.215.42.6 is outside 10.215.41.0/24",
        ),
        (
            {"routes": "10.99.0.0/16 via 10.215.42.5"},
            "routes",
            "line 1: gateway 10.215.42.5 is not inside this network's own subnets",
        ),
        (
            {"ipv6_network": "fd00:41::/64", "ipv6_gateway": "fd00:42::1"},
            "ipv6_gateway",
            "fd00:42::1 is outside fd00:41::/64, the IPv6 network",
        ),
        (
            {
                "ipv6_network": "fd00:41::/64",
                "ipv6_dhcp": "on",
                "ipv6_ranges": "fd00:42::100 fd00:42::1ff",
            },
            "ipv6_ranges",
            "line 1: fd00:42::100 is outside fd00:41::/64",
        ),
    ],
    ids=[
        "gateway",
        "range",
        "range-half-outside",
        "range-starting-at-the-gateway",
        "range-around-the-gateway",
        "static-host",
        "route-next-hop",
        "ipv6-gateway",
        "ipv6-range",
    ],
)
def test_what_lies_outside_the_network_is_a_field_error_and_nothing_is_sent(
    test_host, admin, client_as, overrides, field, words
):
    response = review(client_as(admin), create_url(test_host), typed(**overrides))
    assert response.status_code == 422
    assert words in errors_of(response).get(field, ""), errors_of(response)
    assert 'name="token"' not in response.content.decode()
    assert Job.objects.count() == 0


def test_the_issues_form_names_every_field_outside_the_typed_network_at_once(
    test_host, admin, client_as
):
    # As reported: 10.215.41.0/24 typed over the suggestions, which stayed (no JavaScript, and a
    # form that did not say what they were suggested for). Before, this created 192.168.100.1/24.
    data = typed(
        ipv4_gateway="192.168.100.1",
        ipv4_ranges="192.168.100.2 192.168.100.254",
        ipv4_hosts="52:54:00:00:00:09 web 192.168.100.10",
        routes="10.99.0.0/16 via 192.168.100.5",
    )
    client = client_as(admin)
    response = review(client, create_url(test_host), data)
    assert response.status_code == 422
    errors = errors_of(response)
    assert "192.168.100.1 is outside 10.215.41.0/24" in errors["ipv4_gateway"]
    assert "line 1: 192.168.100.2 is outside 10.215.41.0/24" in errors["ipv4_ranges"]
    assert "192.168.100.254 is outside" in errors["ipv4_ranges"]
    assert "line 1: 192.168.100.10 is outside 10.215.41.0/24" in errors["ipv4_hosts"]
    assert "gateway 192.168.100.5 is not inside" in errors["routes"]
    # Nor does an apply with a token forged for the old review go through.
    client.post(create_url(test_host), {**data, "apply": "1", "token": "0" * 32})
    assert Job.objects.count() == 0


def test_a_mode_without_addresses_ignores_what_its_hidden_address_fields_hold(
    test_host, admin, client_as
):
    data = typed(mode="bridge", host_bridge="br0", ipv4_gateway="192.168.100.1")
    response = review(client_as(admin), create_url(test_host), data)
    assert response.status_code == 200, errors_of(response)
    assert parse(response.context["review"].xml).ips == []


def test_an_admins_edit_with_a_gateway_outside_the_network_is_refused(
    test_host, make_network, admin, client_as
):
    network = make_network(test_host, "lab", bridge="virbr50", xml=to_xml(nat_spec()))
    data = edit_data(network, ipv4_gateway="10.9.60.1")
    response = review(client_as(admin), edit_url(network), data)
    assert response.status_code == 422
    assert "10.9.60.1 is outside 10.9.50.0/24" in errors_of(response)["ipv4_gateway"]
    assert Job.objects.count() == 0


# --- the suggestions follow the network at review -------------------------------------------------


def test_a_review_with_a_new_network_and_the_old_suggestions_moves_them_to_it(
    test_host, admin, client_as
):
    client = client_as(admin)
    page = client.get(create_url(test_host)).content.decode()
    assert 'name="ipv4_suggested_for" value="192.168.100.0/24"' in page
    data = typed(
        ipv4_gateway="192.168.100.1",
        ipv4_ranges="192.168.100.2 192.168.100.254",
        ipv4_suggested_for="192.168.100.0/24",
    )
    reviewed = review(client, create_url(test_host), data)
    assert reviewed.status_code == 200, errors_of(reviewed)
    form = reviewed.context["form"]
    assert form.data["ipv4_gateway"] == f"{NET}.1"
    assert form.data["ipv4_ranges"] == f"{NET}.2 {NET}.254"
    assert form.data["ipv4_suggested_for"] == f"{NET}.0/24"
    page = reviewed.content.decode()
    assert (
        "The suggested gateway and DHCP range followed the IPv4 network to 10.215.41.0/24" in page
    )
    assert parse(reviewed.context["review"].xml).ips[0].cidr == f"{NET}.1/24"
    # The page's form, as the browser sends it back with "Create switch": what was reviewed.
    shown = {key: form.data[key] for key in form.data if key != "review"}
    client.post(create_url(test_host), {**shown, "apply": "1", "token": token_of(reviewed)})
    ip = parse(Job.objects.get().params["xml"]).ips[0]
    assert ip.cidr == f"{NET}.1/24"
    assert [(r.start, r.end) for r in ip.dhcp_ranges] == [(f"{NET}.2", f"{NET}.254")]


def test_a_gateway_the_person_typed_stays_and_is_judged_while_the_range_follows(
    test_host, admin, client_as
):
    data = typed(
        ipv4_gateway="192.168.100.7",
        ipv4_ranges="192.168.100.2 192.168.100.254",
        ipv4_suggested_for="192.168.100.0/24",
    )
    response = review(client_as(admin), create_url(test_host), data)
    assert response.status_code == 422
    assert response.context["form"].data["ipv4_ranges"] == f"{NET}.2 {NET}.254"
    assert errors_of(response).keys() == {"ipv4_gateway"}
    assert "192.168.100.7 is outside 10.215.41.0/24" in errors_of(response)["ipv4_gateway"]
    assert Job.objects.count() == 0


def test_an_edit_moves_the_suggested_gateway_and_judges_the_range_that_was_typed(
    test_host, make_network, admin, client_as
):
    # lab: gateway 10.9.50.1 (the suggestion for its /24), range .100-.200 (not the suggestion).
    network = make_network(test_host, "lab", bridge="virbr50", xml=to_xml(nat_spec()))
    data = edit_data(network, ipv4_network="10.9.51.0/24")
    assert data["ipv4_suggested_for"] == "10.9.50.0/24"
    response = review(client_as(admin), edit_url(network), data)
    assert response.status_code == 422
    assert response.context["form"].data["ipv4_gateway"] == "10.9.51.1"
    errors = errors_of(response)
    assert "line 1: 10.9.50.100 is outside 10.9.51.0/24" in errors["ipv4_ranges"]
    assert "line 1: 10.9.50.10 is outside 10.9.51.0/24" in errors["ipv4_hosts"]
    assert "ipv4_gateway" not in errors
    assert Job.objects.count() == 0


def test_a_first_ipv6_network_gets_the_suggested_gateway_and_range():
    data, moved = follow_network({"ipv6_network": "fd00:41::/64", "ipv6_suggested_for": ""})
    assert (data["ipv6_gateway"], data["ipv6_ranges"]) == (
        "fd00:41::1",
        "fd00:41::100 fd00:41::1ff",
    )
    assert moved == [
        "The suggested gateway and DHCP range followed the IPv6 network to fd00:41::/64."
    ]


@pytest.mark.parametrize(
    "network", ["", "10.215.4", "10.215.41.0", "10.215.41.0/33", "192.168.100.0/24", "fd00::/64"]
)
def test_nothing_follows_a_network_half_typed_unchanged_or_of_the_other_family(network):
    data = {
        "ipv4_network": network,
        "ipv4_gateway": "192.168.100.1",
        "ipv4_ranges": "192.168.100.2 192.168.100.254",
        "ipv4_suggested_for": "192.168.100.0/24",
    }
    followed, said = follow_network(data)
    assert (followed["ipv4_gateway"], followed["ipv4_ranges"]) == (
        "192.168.100.1",
        "192.168.100.2 192.168.100.254",
    )
    assert said == []


@pytest.mark.parametrize(
    ("network", "gateway", "dhcp_range"),
    [
        ("192.168.100.0/24", "192.168.100.1", ("192.168.100.2", "192.168.100.254")),
        ("10.213.0.0/16", "10.213.0.1", ("10.213.0.2", "10.213.255.254")),
        ("10.0.0.0/30", "10.0.0.1", ("10.0.0.2", "10.0.0.2")),
        ("10.0.0.0/31", "10.0.0.0", None),
        ("10.0.0.5/32", "10.0.0.5", None),
        ("fd00:41::/64", "fd00:41::1", ("fd00:41::100", "fd00:41::1ff")),
        ("fd00::/120", "fd00::1", ("fd00::2", "fd00::ff")),
        ("fd00::/127", "fd00::", None),
    ],
)
def test_the_suggestions_fit_networks_of_every_size(network, gateway, dhcp_range):
    net = ipaddress.ip_network(network)
    assert suggested_gateway(net) == gateway
    found = suggested_range(net)
    assert ((found.start, found.end) if found else None) == dhcp_range
