"""User management in the site: global admins create users, set roles, passwords and grants."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from networks.models import AuditEntry, Grant

pytestmark = pytest.mark.postgres

STRONG = "Strong-pw-for-tests-42"


def test_an_admin_creates_a_user_with_a_global_role(admin, client_as):
    data = {"username": "newbie", "password1": STRONG, "password2": STRONG, "role": "viewer"}
    response = client_as(admin).post(reverse("user-add"), data)
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert list(user.groups.values_list("name", flat=True)) == ["viewer"]
    assert user.check_password(STRONG)
    entry = AuditEntry.objects.get(action="user-add")
    assert (entry.username, entry.message) == (admin.username, "newbie: viewer")


def test_passwords_that_differ_or_are_weak_come_back_as_field_errors(admin, client_as):
    client = client_as(admin)
    data = {"username": "newbie", "password1": STRONG, "password2": STRONG + "x", "role": ""}
    response = client.post(reverse("user-add"), data)
    assert response.status_code == 422
    assert "password fields didn" in response.content.decode()
    weak = {"username": "newbie", "password1": "password", "password2": "password"}
    assert b"too common" in client.post(reverse("user-add"), weak).content
    assert not User.objects.filter(username="newbie").exists()
    assert not AuditEntry.objects.exists()


def test_an_admin_grants_and_revokes_a_role_on_networks(admin, viewer, test_host, client_as):
    client = client_as(admin)
    url = reverse("grant-add", args=[viewer.pk])
    data = {"role": "operator", "host": test_host.pk, "networks": " lab-* ,web? "}
    assert client.post(url, data).status_code == 302
    grant = Grant.objects.get()
    assert (grant.user, grant.role, grant.networks) == (viewer, "operator", "lab-*, web?")
    assert AuditEntry.objects.get(action="grant-add").host == test_host
    revoke = reverse("grant-delete", args=[viewer.pk, grant.pk])
    assert client.post(revoke).status_code == 302
    assert not Grant.objects.exists()
    assert AuditEntry.objects.filter(action="grant-revoke").count() == 1


def test_a_pattern_with_spaces_or_slashes_is_a_field_error(admin, viewer, test_host, client_as):
    data = {"role": "operator", "host": test_host.pk, "networks": "lab 1"}
    response = client_as(admin).post(reverse("grant-add", args=[viewer.pk]), data)
    assert response.status_code == 422
    assert b"is not a pattern" in response.content
    assert not Grant.objects.exists()


def test_a_new_password_ends_the_user_s_sessions(admin, viewer, client_as):
    theirs = client_as(viewer)
    assert theirs.get(reverse("network-list")).status_code == 200
    data = {"new_password1": STRONG, "new_password2": STRONG}
    assert (
        client_as(admin).post(reverse("user-password", args=[viewer.pk]), data).status_code == 302
    )
    assert theirs.get(reverse("network-list")).status_code == 302
    assert AuditEntry.objects.filter(action="user-password", message=viewer.username).exists()


def test_a_deactivated_user_is_logged_out_and_can_be_reactivated(admin, viewer, client_as):
    theirs, client = client_as(viewer), client_as(admin)
    client.post(reverse("user-active", args=[viewer.pk]), {"active": "0"})
    assert theirs.get(reverse("network-list")).status_code == 302
    client.post(reverse("user-active", args=[viewer.pk]), {"active": "1"})
    viewer.refresh_from_db()
    assert viewer.is_active
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert actions == {"user-deactivate", "user-reactivate"}


def test_an_admin_cannot_deactivate_itself(admin, client_as):
    client_as(admin).post(reverse("user-active", args=[admin.pk]), {"active": "0"})
    admin.refresh_from_db()
    assert admin.is_active


def test_the_global_role_can_be_changed_and_removed(admin, viewer, client_as):
    client = client_as(admin)
    client.post(reverse("user-role", args=[viewer.pk]), {"role": "operator"})
    assert list(viewer.groups.values_list("name", flat=True)) == ["operator"]
    client.post(reverse("user-role", args=[viewer.pk]), {"role": ""})
    assert not viewer.groups.exists()


def test_the_user_list_shows_roles_and_grants(admin, viewer, test_host, client_as):
    Grant.objects.create(user=viewer, role="operator", host=test_host, networks="lab-*")
    content = client_as(admin).get(reverse("user-list")).content.decode()
    assert 'data-user="vera-viewer"' in content
    assert "operator on testdrv (lab-*)" in content


def test_who_was_granted_what_is_in_the_audit_trail_for_admins_only(
    admin, viewer, test_host, client_as
):
    data = {"role": "viewer", "host": test_host.pk, "networks": ""}
    client_as(admin).post(reverse("grant-add", args=[viewer.pk]), data)
    assert b"grant-add" in client_as(admin).get(reverse("audit-csv")).content
    assert b"grant-add" not in client_as(viewer).get(reverse("audit-csv")).content


def test_the_header_links_users_for_admins_only(admin, operator, client_as):
    assert reverse("user-list") in client_as(admin).get(reverse("network-list")).content.decode()
    page = client_as(operator).get(reverse("network-list")).content.decode()
    assert reverse("user-list") not in page


def test_an_admin_unlocks_a_user_locked_out_by_someone_else_s_guesses(admin, viewer, client_as):
    guesser = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(10):
        guesser.post(reverse("login"), {"username": viewer.username, "password": "wrong"})
    locked = guesser.post(reverse("login"), {"username": viewer.username, "password": "x"})
    assert locked.status_code == 429
    client = client_as(admin)
    page = client.get(reverse("user-detail", args=[viewer.pk])).content.decode()
    assert "10 failed logins with this name in the last 15 minutes" in page
    assert reverse("user-unlock", args=[viewer.pk]) in page
    assert client.post(reverse("user-unlock", args=[viewer.pk])).status_code == 302
    assert not AccessAttempt.objects.filter(username=viewer.username).exists()
    entry = AuditEntry.objects.get(action="user-unlock")
    assert (entry.username, entry.message) == (
        admin.username,
        f"{viewer.username}: 1 failed-login record cleared",
    )
    again = Client(REMOTE_ADDR="198.51.100.7")
    data = {"username": viewer.username, "password": "pw-vera-viewer"}
    assert again.post(reverse("login"), data).status_code == 302
    page = client.get(reverse("user-detail", args=[viewer.pk])).content.decode()
    assert "failed login" not in page
