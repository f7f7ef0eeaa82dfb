"""Two admins change one user's access at once: the user's page carries the version of the
global role and grants it showed (networks.stale.access); a grant, revoke or role change made on
a page drawn before another admin's change is refused with what changed, and changes nothing;
after loading the page again it goes through. A grant revoked meanwhile says by whom."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from networks.models import AuditEntry, Grant

pytestmark = pytest.mark.postgres

CONFLICT = 409


@pytest.fixture
def bob(db) -> User:
    user = User.objects.create_user(username="bob-admin", password="pw-bob")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    return user


def _version(client, person: User) -> str:
    html = client.get(reverse("user-detail", args=[person.pk])).content.decode()
    versions = set(re.findall(r'name="version" value="([^"]+)"', html))
    assert len(versions) == 1, versions  # the role form, the grant form, each revoke
    return versions.pop()


def _grants(person: User) -> list[tuple[str, str, str]]:
    rows = Grant.objects.filter(user=person).order_by("pk")
    return list(rows.values_list("role", "host__name", "networks"))


def test_the_role_form_the_grant_form_and_each_revoke_carry_the_version(
    admin, viewer, test_host, client_as
):
    Grant.objects.create(user=viewer, role="operator", host=test_host, networks="lab-*")
    html = client_as(admin).get(reverse("user-detail", args=[viewer.pk])).content.decode()
    assert html.count('name="version"') == 3


def test_a_grant_added_on_a_page_older_than_another_admins_grant_is_refused(
    admin, bob, viewer, test_host, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_seen, bob_seen = _version(alice_client, viewer), _version(bob_client, viewer)
    url = reverse("grant-add", args=[viewer.pk])
    alice = {"role": "operator", "host": test_host.pk, "networks": "lab-*"}
    assert alice_client.post(url, {**alice, "version": alice_seen}).status_code == 302

    bobs = {"role": "admin", "host": test_host.pk, "networks": "web?"}
    refused = bob_client.post(url, {**bobs, "version": bob_seen})
    assert refused.status_code == CONFLICT
    assert re.search(
        r"vera-viewer&#x27;s role or grants changed since this page was drawn: alice-admin "
        r"granted operator on testdrv \(lab-\*\) at \d\d:\d\d\. Nothing was changed: look at "
        r"them again\.",
        refused.content.decode(),
    )
    assert _grants(viewer) == [("operator", "testdrv", "lab-*")]
    # The form keeps what bob chose; the page it comes back as carries the current version.
    assert 'value="web?"' in refused.content.decode()
    fresh = re.search(r'name="version" value="([^"]+)"', refused.content.decode()).group(1)
    assert bob_client.post(url, {**bobs, "version": fresh}).status_code == 302
    assert _grants(viewer) == [("operator", "testdrv", "lab-*"), ("admin", "testdrv", "web?")]


def test_a_role_changed_on_a_stale_page_is_refused_and_goes_through_once_loaded_again(
    admin, bob, viewer, test_host, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    bob_seen = _version(bob_client, viewer)
    url = reverse("user-role", args=[viewer.pk])
    assert alice_client.post(url, {"role": "operator", "version": bob_seen}).status_code == 302

    refused = bob_client.post(url, {"role": "admin", "version": bob_seen})
    assert refused.status_code == CONFLICT
    assert re.search(
        r"alice-admin changed the global role from viewer to operator at \d\d:\d\d",
        refused.content.decode(),
    )
    assert list(viewer.groups.values_list("name", flat=True)) == ["operator"]

    fresh = _version(bob_client, viewer)
    assert bob_client.post(url, {"role": "admin", "version": fresh}).status_code == 302
    assert list(viewer.groups.values_list("name", flat=True)) == ["admin"]
    assert AuditEntry.objects.filter(action="user-role").count() == 2


def test_revoking_a_grant_on_a_page_older_than_another_admins_grant_is_refused(
    admin, bob, viewer, test_host, client_as
):
    grant = Grant.objects.create(user=viewer, role="operator", host=test_host, networks="lab-*")
    alice_client, bob_client = client_as(admin), client_as(bob)
    bob_seen = _version(bob_client, viewer)
    add = reverse("grant-add", args=[viewer.pk])
    alice = {"role": "viewer", "host": test_host.pk, "networks": "", "version": bob_seen}
    assert alice_client.post(add, alice).status_code == 302

    revoke = reverse("grant-delete", args=[viewer.pk, grant.pk])
    refused = bob_client.post(revoke, {"version": bob_seen})
    assert refused.status_code == CONFLICT
    html = refused.content.decode()
    assert re.search(
        r'<p class="error" id="revoke-error">vera-viewer&#39;s role or grants changed since '
        r"this page was drawn: alice-admin granted viewer on testdrv at \d\d:\d\d",
        html,
    )
    assert len(_grants(viewer)) == 2

    assert bob_client.post(revoke, {"version": _version(bob_client, viewer)}).status_code == 302
    assert _grants(viewer) == [("viewer", "testdrv", "")]


def test_revoking_a_grant_another_admin_revoked_already_says_by_whom_and_changes_nothing(
    admin, bob, viewer, test_host, client_as
):
    kept = Grant.objects.create(user=viewer, role="viewer", host=test_host)
    grant = Grant.objects.create(user=viewer, role="operator", host=test_host, networks="lab-*")
    alice_client, bob_client = client_as(admin), client_as(bob)
    bob_seen = _version(bob_client, viewer)
    revoke = reverse("grant-delete", args=[viewer.pk, grant.pk])
    assert alice_client.post(revoke, {"version": _version(alice_client, viewer)}).status_code == 302

    answer = bob_client.post(revoke, {"version": bob_seen}, follow=True)
    assert answer.redirect_chain == [(reverse("user-detail", args=[viewer.pk]), 302)]
    assert re.search(
        r"That grant of vera-viewer was revoked already: alice-admin revoked operator on "
        r"testdrv \(lab-\*\) at \d\d:\d\d\. Nothing was changed\.",
        answer.content.decode(),
    )
    assert list(Grant.objects.filter(user=viewer)) == [kept]
    assert AuditEntry.objects.filter(action="grant-revoke").count() == 1


def test_another_user_s_changes_do_not_make_this_user_s_page_stale(
    admin, bob, viewer, operator, test_host, client_as
):
    bob_seen = _version(client_as(bob), viewer)
    other = {"role": "viewer", "host": test_host.pk, "networks": ""}
    client_as(admin).post(reverse("grant-add", args=[operator.pk]), other)
    mine = {"role": "operator", "host": test_host.pk, "networks": "", "version": bob_seen}
    assert client_as(bob).post(reverse("grant-add", args=[viewer.pk]), mine).status_code == 302
