"""A grant's network patterns: only what the form reads as patterns grants anything (`,` is not
the whole host), and a pattern made to backtrack costs no more than an ordinary one."""

import fnmatch
import re

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from networks import permissions
from networks.models import Grant, Network
from networks.permissions import Role, glob_regex, matches

pytestmark = pytest.mark.postgres

# Each star of the naive regex (.*) multiplies the ways to share a name of a's among them:
# 2.5 s for 8 stars and 40 a's, C(50, 12) tries for these.
BACKTRACKER = "*a" * 12 + "*b"
NAME_OF_AS = "a" * 50


@pytest.fixture
def lab(test_host, make_network):
    return {name: make_network(test_host, name) for name in ("lab-1", "prod-1", NAME_OF_AS)}


def grant(user, host, networks: str) -> Grant:
    found = Grant.objects.create(user=user, role="admin", host=host, networks=networks)
    user.__dict__.pop("_vnetweb_grants", None)
    return found


# --- what the form takes -----------------------------------------------------------------------


@pytest.mark.parametrize("networks", [",", " , ", ",,", "lab-*,", "lab-*,,web?", ", lab-*"])
def test_a_grant_with_an_empty_pattern_is_refused_in_words(
    networks, admin, outsider, test_host, client_as
):
    data = {"role": "admin", "host": test_host.pk, "networks": networks}
    response = client_as(admin).post(reverse("grant-add", args=[outsider.pk]), data)
    assert response.status_code == 422
    assert "An empty pattern between commas names no network" in response.content.decode()
    assert not Grant.objects.exists()


def test_a_blank_grant_is_still_the_whole_host(admin, outsider, test_host, client_as):
    data = {"role": "viewer", "host": test_host.pk, "networks": "  "}
    client_as(admin).post(reverse("grant-add", args=[outsider.pk]), data)
    assert Grant.objects.get().networks == ""
    assert permissions.role_on_host(outsider, test_host) == Role.VIEWER


# --- what is read where grants are used --------------------------------------------------------


@pytest.mark.parametrize("networks", [",", " ,, ", "lab-*,", "lab-1, web/1"])
def test_a_stored_grant_the_form_would_refuse_gives_nothing(networks, lab, outsider, test_host):
    grant(outsider, test_host, networks)
    assert permissions.role_on_host(outsider, test_host) == Role.NONE
    assert permissions.role_on_network(outsider, lab["lab-1"]) == Role.NONE
    assert not permissions.visible_networks(outsider).exists()
    assert not permissions.visible_guests(outsider).exists()
    assert not permissions.visible_hosts(outsider).exists()
    assert permissions.visible_network_ids(outsider) == (set(), set())


def test_a_stored_grant_with_a_role_that_does_not_exist_gives_nothing(lab, outsider, test_host):
    Grant.objects.create(user=outsider, role="root", host=test_host, networks="")
    assert permissions.role_on_host(outsider, test_host) == Role.NONE
    assert not permissions.has_any_access(outsider)


# --- the matcher -------------------------------------------------------------------------------

# Names as a network may have them: letters, digits and the punctuation a pattern may hold.
NAMES = st.text(alphabet="ab1.-_+()[]", max_size=12)
PATTERNS = st.text(alphabet="ab1.-_+()*?", max_size=10)


@given(pattern=PATTERNS, name=NAMES)
def test_the_linear_matcher_agrees_with_the_shell_s(pattern, name):
    # fnmatch reads [...] as a class; a grant pattern has none, so the brackets stay out of it.
    assert matches(pattern, name) is fnmatch.fnmatchcase(name, pattern)


@given(pattern=PATTERNS, name=NAMES)
def test_the_form_postgresql_reads_matches_the_same_names(pattern, name):
    assert (re.match(glob_regex(pattern, linear=False), name) is not None) is matches(pattern, name)


# A regression to the naive regex would not fail here, it would run for longer than the universe
# has: the timeout makes it a failure.
@pytest.mark.timeout(60)
def test_a_pattern_made_to_backtrack_is_answered(lab, outsider, test_host):
    assert matches(BACKTRACKER, NAME_OF_AS) is False
    assert matches(BACKTRACKER, "a" * 100 + "b") is True
    assert matches("*a" * 100 + "*b", "a" * 150) is False, "a pattern of 201 characters"
    grant(outsider, test_host, BACKTRACKER)
    # The database (SQLite's REGEXP is Python's re) reads the same linear regex.
    assert not permissions.visible_networks(outsider).exists()
    assert permissions.role_on_network(outsider, lab[NAME_OF_AS]) == Role.NONE
    Network.objects.filter(pk=lab[NAME_OF_AS].pk).update(name="a" * 100 + "b")
    outsider.__dict__.pop("_vnetweb_grants", None)
    assert list(permissions.visible_networks(outsider).values_list("name", flat=True)) == [
        "a" * 100 + "b"
    ]
