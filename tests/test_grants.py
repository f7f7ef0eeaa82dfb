"""Grants: patterns, the role on each object, what a user sees, and the live stream's filter."""

import pytest
from django.urls import reverse

from networks import permissions
from networks.models import Grant, Network
from networks.permissions import Role, glob_regex, matches
from networks.views.live import Visible

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("lab-*", "lab-1", True),
        ("lab-*", "lab-", True),
        ("lab-*", "xlab-1", False),
        ("web?", "web1", True),
        ("web?", "web12", False),
        ("a.b", "axb", False),
        ("a.b", "a.b", True),
        ("(x)+", "(x)+", True),
        ("*", "anything", True),
    ],
)
def test_a_pattern_matches_whole_names_only(pattern, name, expected):
    assert matches(pattern, name) is expected


def test_the_database_reads_a_pattern_as_python_does(test_host, make_network):
    for name in ("lab-1", "lab-22", "xlab-1", "web1", "web12", "a.b", "axb"):
        make_network(test_host, name)
    for pattern in ("lab-*", "web?", "a.b", "*b"):
        in_db = Network.objects.filter(name__regex=glob_regex(pattern)).values_list(
            "name", flat=True
        )
        in_python = [n.name for n in Network.objects.all() if matches(pattern, n.name)]
        assert sorted(in_db) == sorted(in_python), pattern


@pytest.fixture
def lab(test_host, make_network, outsider):
    nets = {name: make_network(test_host, name) for name in ("lab-1", "web1", "prod-1")}
    Grant.objects.create(user=outsider, role="operator", host=test_host, networks="lab-*, web?")
    return nets


def test_the_role_on_a_network_is_the_highest_that_applies(lab, outsider, test_host):
    assert permissions.role_on_network(outsider, lab["lab-1"]) == Role.OPERATOR
    assert permissions.role_on_network(outsider, lab["web1"]) == Role.OPERATOR
    assert permissions.role_on_network(outsider, lab["prod-1"]) == Role.NONE
    assert permissions.role_on_host(outsider, test_host) == Role.NONE
    Grant.objects.create(user=outsider, role="viewer", host=test_host)
    outsider.__dict__.pop("_vnetweb_grants")
    assert permissions.role_on_network(outsider, lab["prod-1"]) == Role.VIEWER
    assert permissions.role_on_network(outsider, lab["lab-1"]) == Role.OPERATOR


def test_a_comma_separated_grant_shows_each_pattern_s_networks(lab, outsider):
    names = set(permissions.visible_networks(outsider).values_list("name", flat=True))
    assert names == {"lab-1", "web1"}
    assert not permissions.visible_guests(outsider).exists()


def test_the_grants_are_read_once_per_request(lab, outsider, django_assert_num_queries):
    permissions.role_on_network(outsider, lab["lab-1"])
    with django_assert_num_queries(0):
        permissions.role_on_network(outsider, lab["web1"])


def test_the_stream_of_a_per_network_user_forwards_only_its_networks(lab, outsider, test_host):
    visible = Visible(outsider)
    visible.refresh()
    lab_1, prod = lab["lab-1"].pk, lab["prod-1"].pk
    assert visible.filter({"host": test_host.pk, "networks": [prod], "jobs": [7]}) is None
    assert visible.filter({"host": test_host.pk, "networks": [], "jobs": [7]}) is None
    both = visible.filter({"host": test_host.pk, "networks": [lab_1, prod], "jobs": [7]})
    assert both["networks"] == [lab_1] and both["jobs"] == []


def test_the_stream_of_a_global_viewer_forwards_everything(lab, viewer, test_host):
    visible = Visible(viewer)
    visible.refresh()
    change = {"host": test_host.pk, "networks": [lab["prod-1"].pk], "jobs": [1]}
    assert visible.filter(change) == change


def test_the_stream_sees_a_new_grant_at_its_next_refresh(lab, outsider, test_host):
    visible = Visible(outsider)
    visible.refresh()
    change = {"host": test_host.pk, "networks": [lab["prod-1"].pk], "jobs": []}
    assert visible.filter(change) is None
    Grant.objects.create(user=outsider, role="viewer", host=test_host)
    visible.refresh()
    assert visible.filter(change) == change


def test_the_switch_editor_does_not_name_networks_the_user_cannot_see(
    test_host, make_network, outsider, client_as
):
    lab = make_network(test_host, "lab-1", ipv4="10.7.0.1/24")
    lab.addresses = [{"family": "ipv4", "cidr": "10.7.0.1/24"}]
    lab.save()
    secret = make_network(test_host, "prod-secret", ipv4="10.8.0.1/24", bridge="br-prod")
    secret.addresses = [{"family": "ipv4", "cidr": "10.8.0.1/24"}]
    secret.save()
    Grant.objects.create(user=outsider, role="admin", host=test_host, networks="lab-*")
    url = reverse("switch-edit", args=[test_host.name, "lab-1"])
    page = (
        client_as(outsider)
        .post(
            url,
            {
                "name": "lab-1",
                "mode": "nat",
                "bridge": "br-prod",
                "ipv4_network": "10.8.0.0/24",
                "ipv4_gateway": "10.8.0.1",
                "review": "1",
            },
        )
        .content.decode()
    )
    assert "prod-secret" not in page
    assert "a network you cannot see" in page
