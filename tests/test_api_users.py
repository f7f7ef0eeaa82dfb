"""The users API: global admins only, as the user pages; the pages' forms and messages, their
audit entries (naming the token), and their stale check on the role and grants (409)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from networks import tokens
from networks.models import AuditEntry, Grant
from networks.views.users import global_role

pytestmark = pytest.mark.postgres

USERS = reverse("api-v1:users")
GOOD_PASSWORD = "correct horse battery staple"
NEW = {"username": "bob", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD}


def api(user, name: str = "t") -> Client:
    _token, key = tokens.issue(user, name)
    return Client(headers={"authorization": f"Bearer {key}"})


def user_url(user: User, *rest: str) -> str:
    return reverse("api-v1:user", args=[user.pk]) + "".join(f"{part}/" for part in rest)


def send(client: Client, method: str, url: str, body: dict | None = None):
    return getattr(client, method)(url, body or {}, content_type="application/json")


# --- reading -------------------------------------------------------------------------------------


def test_an_admin_lists_the_users_with_their_roles_and_grants_and_no_password(
    test_host, admin, viewer, outsider
):
    Grant.objects.create(user=outsider, host=test_host, role="operator", networks="lab-*")

    response = api(admin).get(USERS)

    assert response.status_code == 200
    rows = {row["username"]: row for row in response.json()["results"]}
    assert list(rows) == ["alice-admin", "otto-outsider", "vera-viewer"]
    assert rows["vera-viewer"]["role"] == "viewer"
    [grant] = rows["otto-outsider"]["grants"]
    assert (grant["role"], grant["host"], grant["networks"]) == ("operator", "testdrv", "lab-*")
    assert rows["otto-outsider"]["role"] == ""
    assert "pbkdf2" not in response.content.decode()
    assert "password" not in response.content.decode()


def test_a_user_tells_its_version_and_failed_logins(admin, viewer):
    body = api(admin).get(user_url(viewer)).json()
    assert (body["username"], body["active"], body["failed_logins"]) == ("vera-viewer", True, 0)
    assert body["version"]


@pytest.mark.parametrize("who", ["viewer", "operator", "outsider"])
def test_no_one_but_a_global_admin_reads_or_changes_users(
    test_host, admin, viewer, operator, outsider, who
):
    user = {"viewer": viewer, "operator": operator, "outsider": outsider}[who]
    Grant.objects.create(user=outsider, host=test_host, role="admin")
    client = api(user)
    asked = [
        client.get(USERS),
        client.get(user_url(admin)),
        client.get(reverse("api-v1:user", args=[9999])),
        send(client, "post", USERS, {"username": "x", "password1": "a", "password2": "a"}),
        send(client, "put", user_url(user, "role"), {"role": "admin"}),
        send(client, "post", user_url(admin, "active"), {"active": False}),
        send(client, "post", user_url(user, "grants"), {"role": "admin", "host": "testdrv"}),
        client.delete(user_url(outsider, "grants", str(Grant.objects.get().pk))),
    ]
    assert [response.status_code for response in asked] == [403] * len(asked)
    assert global_role(user) == ("" if who == "outsider" else who)
    assert admin.is_active and Grant.objects.count() == 1


def test_an_unknown_user_is_not_found_for_an_admin(admin):
    assert api(admin).get(reverse("api-v1:user", args=[9999])).status_code == 404


# --- adding --------------------------------------------------------------------------------------


def test_an_admin_adds_a_user_with_a_role_and_the_entry_names_the_token(admin):
    response = send(api(admin, "provisioning"), "post", USERS, {**NEW, "role": "operator"})

    assert response.status_code == 201, response.content
    bob = User.objects.get(username="bob")
    assert response["Location"] == user_url(bob)
    assert (response.json()["role"], global_role(bob)) == ("operator", "operator")
    assert bob.check_password(GOOD_PASSWORD)
    entry = AuditEntry.objects.get(action="user-add")
    assert (entry.token, entry.message) == ("provisioning", "bob: operator")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "password2": "other"}, "password2"),
        ({**NEW, "password1": "123", "password2": "123"}, "password2"),
        ({**NEW, "username": "alice-admin"}, "username"),
        ({**NEW, "role": "god"}, "role"),
    ],
)
def test_a_user_the_form_refuses_is_a_field_error_and_not_made(admin, body, field):
    response = send(api(admin), "post", USERS, body)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not User.objects.filter(username="bob").exists()


# --- role, active, password ----------------------------------------------------------------------


def test_an_admin_changes_a_role_and_the_entry_names_the_token(admin, viewer):
    client = api(admin, "ci")
    seen = client.get(user_url(viewer)).json()["version"]

    response = send(client, "put", user_url(viewer, "role"), {"role": "operator", "version": seen})

    assert response.status_code == 200, response.content
    assert response.json()["role"] == "operator"
    assert response.json()["version"] != seen
    entry = AuditEntry.objects.get(action="user-role")
    assert (entry.token, entry.message) == ("ci", "vera-viewer: viewer -> operator")


def test_a_role_change_from_a_stale_version_is_refused_with_what_changed(admin, viewer):
    client = api(admin)
    seen = client.get(user_url(viewer)).json()["version"]
    send(client, "put", user_url(viewer, "role"), {"role": "operator"})

    response = send(client, "put", user_url(viewer, "role"), {"role": "", "version": seen})

    assert response.status_code == 409
    assert "from viewer to operator" in response.json()["detail"]
    assert global_role(User.objects.get(pk=viewer.pk)) == "operator"


def test_a_role_that_is_not_one_or_for_a_superuser_is_a_field_error(admin, viewer):
    root = User.objects.create_superuser("root", password="x")
    client = api(admin)
    assert send(client, "put", user_url(viewer, "role"), {"role": "god"}).status_code == 422
    response = send(client, "put", user_url(root, "role"), {"role": "viewer"})
    assert response.status_code == 422
    assert response.json()["errors"] == {"role": ["A superuser is an admin whatever its groups."]}
    assert global_role(User.objects.get(pk=viewer.pk)) == "viewer"


def test_an_admin_deactivates_and_reactivates_a_user(admin, viewer):
    client = api(admin)
    off = send(client, "post", user_url(viewer, "active"), {"active": False})
    assert (off.status_code, off.json()["active"]) == (200, False)
    assert send(client, "post", user_url(viewer, "active"), {"active": True}).json()["active"]
    assert list(
        AuditEntry.objects.filter(action__startswith="user-").values_list("action", flat=True)
    ) == ["user-reactivate", "user-deactivate"]


def test_an_admin_cannot_deactivate_itself(admin):
    response = send(api(admin), "post", user_url(admin, "active"), {"active": False})
    assert (response.status_code, response.json()["detail"]) == (
        409,
        "You cannot deactivate yourself.",
    )
    assert User.objects.get(pk=admin.pk).is_active


def test_an_admin_sets_a_password_that_the_validators_accept(admin, viewer):
    client = api(admin)
    url = user_url(viewer, "password")
    weak = send(client, "post", url, {"new_password1": "123", "new_password2": "123"})
    assert weak.status_code == 422
    body = {"new_password1": GOOD_PASSWORD, "new_password2": GOOD_PASSWORD}
    assert send(client, "post", url, body).status_code == 200
    assert User.objects.get(pk=viewer.pk).check_password(GOOD_PASSWORD)
    assert AuditEntry.objects.filter(action="user-password").count() == 1


def test_an_admin_unlocks_a_user(admin, viewer):
    assert api(admin).post(user_url(viewer, "unlock")).status_code == 200
    assert AuditEntry.objects.get(action="user-unlock").message.startswith("vera-viewer: 0 ")


# --- grants --------------------------------------------------------------------------------------


def test_an_admin_grants_a_role_on_some_networks_of_a_host(test_host, admin, outsider):
    response = send(
        api(admin, "ci"),
        "post",
        user_url(outsider, "grants"),
        {"role": "operator", "host": "testdrv", "networks": "lab-*,  web?"},
    )

    assert response.status_code == 201, response.content
    grant = Grant.objects.get(user=outsider)
    assert (grant.role, grant.host, grant.networks) == ("operator", test_host, "lab-*, web?")
    assert response["Location"] == response.json()["url"]
    assert AuditEntry.objects.get(action="grant-add").token == "ci"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "operator", "host": "nohost"}, "host"),
        ({"role": "root", "host": "testdrv"}, "role"),
        ({"role": "viewer", "host": "testdrv", "networks": "lab-*,,"}, "networks"),
    ],
)
def test_a_grant_the_form_refuses_is_a_field_error(test_host, admin, outsider, body, field):
    response = send(api(admin), "post", user_url(outsider, "grants"), body)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert not Grant.objects.exists()


def test_a_grant_from_a_stale_version_is_refused(test_host, admin, outsider):
    client = api(admin)
    seen = client.get(user_url(outsider)).json()["version"]
    send(client, "put", user_url(outsider, "role"), {"role": "viewer"})
    body = {"role": "admin", "host": "testdrv", "version": seen}
    assert send(client, "post", user_url(outsider, "grants"), body).status_code == 409
    assert not Grant.objects.exists()


def test_an_admin_revokes_a_grant_and_again_is_told_it_is_gone(test_host, admin, outsider):
    grant = Grant.objects.create(user=outsider, host=test_host, role="viewer")
    client = api(admin)
    url = user_url(outsider, "grants", str(grant.pk))
    seen = client.get(user_url(outsider)).json()["version"]

    assert client.delete(f"{url}?version={seen}").status_code == 204
    again = client.delete(f"{url}?version={seen}")

    assert not Grant.objects.exists()
    assert again.status_code == 404
    assert "revoked already: alice-admin revoked viewer on testdrv" in again.json()["detail"]


def test_a_revoke_from_a_stale_version_is_refused(test_host, admin, outsider):
    grant = Grant.objects.create(user=outsider, host=test_host, role="viewer")
    client = api(admin)
    seen = client.get(user_url(outsider)).json()["version"]
    send(client, "put", user_url(outsider, "role"), {"role": "operator"})
    response = client.delete(user_url(outsider, "grants", str(grant.pk)) + f"?version={seen}")
    assert response.status_code == 409
    assert Grant.objects.filter(pk=grant.pk).exists()


def test_a_browser_session_of_an_admin_lists_users_too(admin, client_as):
    assert client_as(admin).get(USERS).json()["count"] == 1
