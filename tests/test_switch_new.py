"""New switch on the networks list (issue 17): a button for whoever may create a switch on some
host (admin of it: globally, or by a grant on the whole host), asking which host first when there
are several, and going straight to that host's new switch page when there is one."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from networks.models import Grant, Host

BUTTON = 'data-action="new-switch"'


@pytest.fixture
def hosts(db) -> dict[str, Host]:
    return {
        name: Host.objects.create(name=name, uri="test:///default", description=f"rack {name}")
        for name in ("kvm-a", "kvm-b", "kvm-c")
    }


def granted(hosts: dict[str, Host], **grants: str) -> User:
    """A user without a global role, with grants {host name: role} on whole hosts."""
    user = User.objects.create_user(username="gina-granted", password="pw-gina-granted")
    for name, role in grants.items():
        Grant.objects.create(user=user, role=role, host=hosts[name.replace("_", "-")])
    return user


def list_page(client) -> str:
    return client.get(reverse("network-list")).content.decode()


def create_url(name: str) -> str:
    return reverse("switch-create", args=[name])


def test_an_admin_of_two_hosts_is_asked_which_of_those_two_first(hosts, client_as):
    client = client_as(granted(hosts, kvm_a="admin", kvm_b="admin", kvm_c="operator"))
    assert BUTTON in list_page(client) and reverse("switch-new") in list_page(client)
    response = client.get(reverse("switch-new"))
    assert response.status_code == 200
    page = response.content.decode()
    assert create_url("kvm-a") in page and create_url("kvm-b") in page
    assert create_url("kvm-c") not in page, "only operator there: it may not create"
    assert "rack kvm-a" in page


def test_a_global_admin_is_asked_which_host_among_all(hosts, admin, client_as):
    client = client_as(admin)
    assert BUTTON in list_page(client)
    page = client.get(reverse("switch-new")).content.decode()
    assert all(create_url(name) in page for name in hosts)


def test_an_admin_of_one_host_goes_straight_to_its_new_switch_page(hosts, client_as):
    client = client_as(granted(hosts, kvm_b="admin", kvm_a="viewer"))
    assert BUTTON in list_page(client)
    response = client.get(reverse("switch-new"))
    assert response.status_code == 302
    assert response["Location"] == create_url("kvm-b")
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize("who", ["operator", "viewer", "outsider"])
def test_who_may_not_create_anywhere_gets_no_button_and_no_host_choice(
    hosts, client_as, request, who
):
    client = client_as(request.getfixturevalue(who))
    assert BUTTON not in list_page(client)
    assert client.get(reverse("switch-new")).status_code == 403


def test_an_operator_of_a_whole_host_gets_no_button(hosts, client_as):
    client = client_as(granted(hosts, kvm_a="operator"))
    assert BUTTON not in list_page(client)
    assert client.get(reverse("switch-new")).status_code == 403


def test_a_per_network_admin_cannot_create_so_gets_no_button(hosts, client_as):
    # Admin of kvm-a's lab-* networks: a switch it would create has no name yet to match.
    user = granted(hosts)
    Grant.objects.create(user=user, role="admin", host=hosts["kvm-a"], networks="lab-*")
    client = client_as(user)
    assert BUTTON not in list_page(client)
    assert client.get(reverse("switch-new")).status_code == 403
    assert client.get(create_url("kvm-a")).status_code == 403


def test_a_global_admin_without_hosts_is_offered_to_add_one(admin, client_as):
    client = client_as(admin)
    assert BUTTON in list_page(client)
    page = client.get(reverse("switch-new")).content.decode()
    assert "no host yet" in page and reverse("host-add") in page


def test_the_host_choice_answers_get_only(hosts, admin, client_as):
    assert client_as(admin).post(reverse("switch-new")).status_code == 405
