"""API tokens in the site: every logged-in user makes and revokes its own (the key shown once),
site admins revoke anyone's on the user's page; and what a key then does in the API."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from networks import redis_client, tokens
from networks.models import ApiToken, AuditEntry, Job

pytestmark = pytest.mark.postgres

KEY = re.compile(r"vnw_[A-Za-z0-9_-]{43}")
NETWORKS = "/api/v1/networks/"


def bearer(key: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def make(client: Client, **data):
    return client.post(reverse("token-list"), {"name": "ci", **data})


def test_a_new_token_s_key_is_shown_once_and_only_its_digest_is_stored(viewer, client_as):
    client = client_as(viewer)
    response = make(client, read_only="on", days="30")
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    [key] = set(KEY.findall(page))
    assert f'curl -H "Authorization: Bearer $KEY" http://testserver{NETWORKS}' in page
    token = ApiToken.objects.get(user=viewer)
    assert (token.name, token.read_only) == ("ci", True)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key.startswith(token.prefix) and key not in token.prefix
    assert timedelta(days=29, hours=23) < token.expires - timezone.now() <= timedelta(days=30)
    # Nowhere afterwards: not on the page drawn again, not in the session.
    again = client.get(reverse("token-list")).content.decode()
    assert key not in again and "ci" in again and f"{token.prefix}…" in again
    assert key not in str(dict(client.session))
    entry = AuditEntry.objects.get(action="token-add")
    assert entry.username == viewer.username
    assert entry.message.startswith("vera-viewer: ci (read-only, expires ")
    assert key not in entry.message


def test_the_key_works_on_the_api_and_is_refused_once_revoked(operator, test_host, client_as):
    client = client_as(operator)
    [key] = set(KEY.findall(make(client).content.decode()))
    api = Client()
    assert api.get(NETWORKS, **bearer(key)).status_code == 200
    token = ApiToken.objects.get(user=operator)
    response = client.post(reverse("token-revoke", args=[token.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("token-list")
    assert not ApiToken.objects.exists()
    assert AuditEntry.objects.filter(action="token-revoke", username=operator.username).exists()
    assert api.get(NETWORKS, **bearer(key)).status_code == 401


def test_a_user_without_any_role_has_the_page_too_and_the_header_links_it(outsider, client_as):
    client = client_as(outsider)
    page = client.get(reverse("network-list")).content.decode()
    assert f'href="{reverse("token-list")}"' in page
    assert 'href="/api/v1/docs/"' in page
    assert make(client).status_code == 201
    assert ApiToken.objects.get().user == outsider


def test_the_revoke_button_through_htmx_is_told_to_load_the_page(viewer, client_as):
    token, _ = tokens.issue(viewer, "ci")
    response = client_as(viewer).post(
        reverse("token-revoke", args=[token.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("token-list")
    assert not ApiToken.objects.exists()


def test_another_user_s_token_is_not_found_and_stays(viewer, operator, client_as):
    theirs, key = tokens.issue(operator, "ci")
    page = client_as(viewer).get(reverse("token-list")).content.decode()
    assert theirs.prefix not in page
    response = client_as(viewer).post(reverse("token-revoke", args=[theirs.pk]))
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert Client().get(NETWORKS, **bearer(key)).status_code == 200


def test_a_site_admin_sees_and_revokes_a_user_s_token(admin, viewer, client_as):
    token, key = tokens.issue(viewer, "ansible")
    client = client_as(admin)
    page = client.get(reverse("user-detail", args=[viewer.pk])).content.decode()
    assert 'data-token="ansible"' in page
    url = reverse("user-token-revoke", args=[viewer.pk, token.pk])
    assert client.post(url).status_code == 302
    assert not ApiToken.objects.exists()
    entry = AuditEntry.objects.get(action="token-revoke")
    assert (entry.username, entry.message) == (admin.username, "vera-viewer: ansible (read-write)")
    assert Client().get(NETWORKS, **bearer(key)).status_code == 401


def test_only_a_site_admin_revokes_another_user_s_token(operator, viewer, client_as):
    token, _ = tokens.issue(viewer, "ansible")
    url = reverse("user-token-revoke", args=[viewer.pk, token.pk])
    assert client_as(operator).post(url).status_code == 403
    assert ApiToken.objects.exists()


def test_the_admin_revoke_finds_only_that_user_s_token(admin, operator, viewer, client_as):
    token, _ = tokens.issue(viewer, "ansible")
    url = reverse("user-token-revoke", args=[operator.pk, token.pk])
    assert client_as(admin).post(url).status_code == 404
    assert ApiToken.objects.exists()


def test_a_name_taken_is_a_field_error_next_to_the_name(viewer, client_as):
    client = client_as(viewer)
    assert make(client).status_code == 201
    response = make(client)
    assert response.status_code == 422
    page = response.content.decode()
    assert "vera-viewer already has a token named &#x27;ci&#x27;." in page
    assert 'aria-describedby="id_name_helptext id_name_error"' in page
    assert re.search(r'<ul class="errorlist" id="id_name_error">', page)
    assert not KEY.search(page)
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "   "}, "This field is required."),
        ({"name": "x" * 65}, "at most 64 characters"),
        ({"days": "0"}, "greater than or equal to 1"),
        ({"days": "soon"}, "Enter a whole number."),
        ({"days": "3651"}, "less than or equal to 3650"),
    ],
)
def test_a_bad_name_or_expiry_is_refused_with_its_message(viewer, client_as, data, error):
    response = client_as(viewer).post(reverse("token-list"), {"name": "ci", **data})
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_read_only_token_may_not_start_a_network(operator, test_host, make_network):
    make_network(test_host, "net1")
    _, key = tokens.issue(operator, "monitoring", read_only=True)
    api = Client()
    assert api.get(NETWORKS, **bearer(key)).status_code == 200
    response = api.post(f"{NETWORKS}{test_host.name}/net1/actions/start/", **bearer(key))
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert not Job.objects.exists()


def test_an_expired_token_is_refused(viewer):
    _, key = tokens.issue(viewer, "old", expires=timezone.now() - timedelta(minutes=1))
    assert Client().get(NETWORKS, **bearer(key)).status_code == 401


def test_the_page_says_when_a_token_has_expired(viewer, client_as):
    tokens.issue(viewer, "old", expires=timezone.now() - timedelta(minutes=1))
    page = client_as(viewer).get(reverse("token-list")).content.decode()
    assert '<span class="error">expired</span>' in page


# --- the brake on guessing ----------------------------------------------------------------------

# Addresses of the tests' own: other tests' wrong keys (from 127.0.0.1) do not count here.
GUESSER, NEIGHBOUR = "192.0.2.77", "192.0.2.78"


@pytest.fixture
def no_failures_counted():
    """Their counts in the tests' Redis database, gone before and after."""
    keys = [tokens._key(GUESSER), tokens._key(NEIGHBOUR)]
    redis_client.client().delete(*keys)
    yield
    redis_client.client().delete(*keys)


@override_settings(VNETWEB_API_FAILURE_LIMIT=3)
def test_after_too_many_wrong_keys_even_the_right_one_is_refused_for_a_while(
    viewer, no_failures_counted
):
    _, key = tokens.issue(viewer, "ci")
    api = Client(REMOTE_ADDR=GUESSER)
    assert api.get(NETWORKS, **bearer(key)).status_code == 200
    for guess in range(3):
        assert api.get(NETWORKS, **bearer(f"vnw_guess{guess}")).status_code == 401
    response = api.get(NETWORKS, **bearer(key))
    assert response.status_code == 429
    assert "Too many wrong tokens" in response.json()["detail"]
    assert response["Retry-After"] == str(15 * 60)
    # Another address is not held back by this one's guesses.
    assert Client(REMOTE_ADDR=NEIGHBOUR).get(NETWORKS, **bearer(key)).status_code == 200
