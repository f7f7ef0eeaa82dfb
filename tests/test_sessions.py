"""Sessions end after a time without activity (vnetweb.idle), a new password ends the user's other
sessions, and Django's password validators refuse a weak one."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from networks.live import EVENTS_PATH
from vnetweb import idle

pytestmark = pytest.mark.postgres

PAGE = reverse("network-list")
CHANGE = reverse("password_change")


def logged_in_client(user, password: str) -> Client:
    client = Client()
    client.post(reverse("login"), {"username": user.username, "password": password})
    return client


def session_of(client: Client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_the_session_lasts_the_idle_time_by_default(settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert not settings.SESSION_SAVE_EVERY_REQUEST


def test_a_click_after_a_minute_pushes_the_end_of_the_session(admin, client_as):
    client = client_as(admin)
    client.get(PAGE)
    session = session_of(client)
    Session.objects.filter(pk=session.pk).update(expire_date=timezone.now() + timedelta(hours=1))
    store = client.session
    store[idle.SEEN] -= 61
    store.save()
    client.get(PAGE)
    assert session_of(client).expire_date > timezone.now() + timedelta(hours=7, minutes=59)


def test_requests_within_a_minute_do_not_write_the_session(admin, client_as):
    client = client_as(admin)
    client.get(PAGE)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() + timedelta(hours=1)
    )
    before = session_of(client).expire_date
    client.get(PAGE)
    assert session_of(client).expire_date == before


def test_a_page_refreshing_itself_does_not_keep_the_session(admin, client_as):
    client = client_as(admin)
    client.get(PAGE)
    store = client.session
    store[idle.SEEN] -= 3600
    store.save()
    before = session_of(client).expire_date
    client.get(PAGE, headers={"HX-Request": "true", "X-Live-Refresh": "1"})
    assert session_of(client).expire_date == before


def test_neither_the_event_stream_nor_a_live_refresh_is_the_user_at_work(rf):
    assert idle.by_the_user(rf.get(PAGE))
    assert not idle.by_the_user(rf.get(EVENTS_PATH))
    assert not idle.by_the_user(rf.get(PAGE, headers={"X-Live-Refresh": "1"}))


def test_an_expired_session_asks_for_the_login_again(admin, client_as):
    client = client_as(admin)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_new_password_ends_the_other_sessions_but_not_this_one(admin):
    here = logged_in_client(admin, "pw-alice-admin")
    elsewhere = logged_in_client(admin, "pw-alice-admin")
    assert elsewhere.get(PAGE).status_code == 200
    response = here.post(
        CHANGE,
        {
            "old_password": "pw-alice-admin",
            "new_password1": "a-much-longer-pass-7",
            "new_password2": "a-much-longer-pass-7",
        },
    )
    assert response.status_code == 302
    assert here.get(PAGE).status_code == 200
    gone = elsewhere.get(PAGE)
    assert gone.status_code == 302
    assert gone.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password123", "too common"),
        ("short7x", "too short"),
        ("8374619205", "entirely numeric"),
        ("alice-admin1", "too similar"),
    ],
)
def test_a_weak_new_password_is_refused(admin, client_as, password, why):
    client = client_as(admin)
    response = client.post(
        CHANGE,
        {"old_password": "pw-alice-admin", "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert why in response.text


def test_the_first_request_after_the_login_writes_no_session(admin, client_as):
    client = client_as(admin)
    assert idle.SEEN in client.session
    before = session_of(client).expire_date
    client.get(PAGE)
    assert session_of(client).expire_date == before
