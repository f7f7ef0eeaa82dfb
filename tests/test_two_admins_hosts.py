"""Two admins edit one host's settings at once: the edit page carries the version of the
settings it showed (networks.stale.hosts); the second save, made on a page drawn before the
first, is refused with who changed what and when, and changes nothing; the page it comes back
as shows the settings as they are now, and saving from it goes through."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from networks.models import AuditEntry, Host

pytestmark = pytest.mark.postgres

CONFLICT = 409
URL = reverse("host-edit", args=["testdrv"])


@pytest.fixture
def bob(db) -> User:
    user = User.objects.create_user(username="bob-admin", password="pw-bob")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    return user


def _version(html: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', html).group(1)


def _settings() -> tuple[str, str]:
    return Host.objects.values_list("uri", "description").get(name="testdrv")


def test_the_edit_page_carries_the_version_of_the_settings_it_shows(test_host, admin, client_as):
    html = client_as(admin).get(URL).content.decode()
    assert re.search(r'<input type="hidden" name="version" value="0\.\w{12}">', html)
    assert "Version" not in html  # hidden, not a field with a label


def test_a_save_on_a_page_older_than_another_admins_save_is_refused_with_what_changed(
    test_host, admin, bob, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_seen, bob_seen = (
        _version(alice_client.get(URL).content.decode()),
        _version(bob_client.get(URL).content.decode()),
    )
    alice = {
        "uri": "qemu+ssh://root@kvm7/system",
        "description": "test driver",
        "version": alice_seen,
    }
    assert alice_client.post(URL, alice).status_code == 302

    typed = {"uri": "test:///default", "description": "bob's lab", "version": bob_seen}
    refused = bob_client.post(URL, typed)
    assert refused.status_code == CONFLICT
    words = refused.content.decode().replace("&#34;", '"')
    assert re.search(
        r"testdrv&#39;s settings changed since this page was drawn: alice-admin changed the URI "
        r'from "test:///default" to "qemu\+ssh://root@kvm7/system" at \d\d:\d\d\. Nothing was '
        r"saved; the form shows them as they are now\. You had typed the URI \"test:///default\" "
        r'and the description "bob&#39;s lab"\.',
        words,
    ), words
    assert _settings() == ("qemu+ssh://root@kvm7/system", "test driver")
    assert AuditEntry.objects.filter(action="host-edit").count() == 1
    # The page it comes back as is the page loaded again: the current settings, a fresh version.
    assert 'value="qemu+ssh://root@kvm7/system"' in refused.content.decode()
    fresh = _version(refused.content.decode())
    assert fresh != bob_seen

    again = {"uri": "qemu+ssh://root@kvm7/system", "description": "bob's lab", "version": fresh}
    assert bob_client.post(URL, again).status_code == 302
    assert _settings() == ("qemu+ssh://root@kvm7/system", "bob's lab")  # both changes


def test_a_save_that_changed_nothing_makes_no_other_page_stale(test_host, admin, bob, client_as):
    bob_client = client_as(bob)
    bob_seen = _version(bob_client.get(URL).content.decode())
    same = {"uri": "test:///default", "description": "test driver", "version": bob_seen}
    assert client_as(admin).post(URL, same).status_code == 302
    assert bob_client.post(URL, {**same, "description": "bob's lab"}).status_code == 302
    assert _settings() == ("test:///default", "bob's lab")


def test_settings_changed_outside_these_pages_make_the_page_stale_too(test_host, bob, client_as):
    bob_client = client_as(bob)
    bob_seen = _version(bob_client.get(URL).content.decode())
    Host.objects.filter(pk=test_host.pk).update(description="set in the Django admin")
    typed = {"uri": "test:///default", "description": "bob's lab", "version": bob_seen}
    refused = bob_client.post(URL, typed)
    assert refused.status_code == CONFLICT
    assert "they were changed outside these pages" in refused.content.decode()
    assert _settings() == ("test:///default", "set in the Django admin")
