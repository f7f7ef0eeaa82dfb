"""Two admins change one guest's NICs at once: each change carries the version of the NICs its
page showed (networks.stale.nics); the second, made on a page drawn before the first, is refused
with what changed since and queues nothing; after loading the page again it goes through. The
topology's drag and connect form carry the version too. The worker's own check is in
tests/test_two_admins_nics_worker.py."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from networks import audit
from networks.models import Guest, Job

pytestmark = pytest.mark.postgres

MAC1, MAC2 = "52:54:00:00:00:01", "52:54:00:00:00:02"
CONFLICT = 409


@pytest.fixture
def world(test_host, make_network, make_guest):
    make_network(test_host, "net1", active=True)
    make_network(test_host, "net2", active=True, ipv4="10.0.1.1/24")
    make_network(test_host, "net3", active=True, ipv4="10.0.2.1/24")
    return {"vm1": make_guest(test_host, "vm1", nics=[("net1", MAC1)])}


@pytest.fixture
def bob(db) -> User:
    user = User.objects.create_user(username="bob-admin", password="pw-bob")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    return user


def _page_version(client, url: str) -> str:
    html = client.get(url).content.decode()
    versions = set(re.findall(r'name="version" value="([^"]*)"', html))
    assert len(versions) == 1, versions  # every form of the page: the same version
    return versions.pop()


def _guest_version(client) -> str:
    return _page_version(client, reverse("guest-detail", args=["testdrv", "vm1"]))


def _post(client, name: str, *args: str, **data):
    url = reverse(name, args=["testdrv", "vm1", *args])
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_every_nic_form_of_the_guest_page_carries_the_version_of_its_nics(world, admin, client_as):
    html = client_as(admin).get(reverse("guest-detail", args=["testdrv", "vm1"])).content.decode()
    # The attach form's lives in the live part (form="attach-nic"), refreshed with the NICs.
    assert re.search(
        r'<input type="hidden" name="version" value="0\.\w{12}" form="attach-nic">', html
    )
    assert html.count('name="version"') == 3  # attach, and the move and detach of its one NIC


def test_a_move_made_on_a_page_older_than_another_admins_move_is_refused_with_what_changed(
    world, admin, bob, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    alice_seen, bob_seen = _guest_version(alice_client), _guest_version(bob_client)
    assert alice_seen == bob_seen

    moved = _post(alice_client, "guest-nic-move", MAC1, network="net2", version=alice_seen)
    assert moved.status_code == 202

    stale = _post(bob_client, "guest-nic-move", MAC1, network="net3", version=bob_seen)
    assert stale.status_code == CONFLICT
    words = stale.content.decode()
    assert "vm1&#39;s NICs changed since this page was drawn" in words
    assert re.search(
        rf"alice-admin asked at \d\d:\d\d to move {MAC1} to net2 \(not done yet\)", words
    )
    assert f"It has now {MAC1} on net1" in words and "nothing was queued" in words
    assert list(Job.objects.values_list("username", "params__network")) == [("alice-admin", "net2")]

    again = _post(
        bob_client, "guest-nic-move", MAC1, network="net3", version=_guest_version(bob_client)
    )
    assert again.status_code == 202
    jobs = Job.objects.order_by("pk").values_list("username", "operation", "params__network")
    assert list(jobs) == [("alice-admin", "nic_move", "net2"), ("bob-admin", "nic_move", "net3")]


def test_once_the_worker_moved_the_nic_the_refusal_says_who_moved_it_where_and_when(
    world, admin, bob, client_as
):
    bob_client = client_as(bob)
    bob_seen = _guest_version(bob_client)
    _post(client_as(admin), "guest-nic-move", MAC1, network="net2", version=bob_seen)
    job = Job.objects.get()
    # What the worker writes once done: the job's end, and the guest as it read it again.
    Job.objects.filter(pk=job.pk).update(state=Job.State.SUCCEEDED)
    audit.job_ended(job, Job.State.SUCCEEDED, "Moved.")
    Guest.objects.filter(pk=world["vm1"].pk).update(
        nics=[{**world["vm1"].nics[0], "source": "net2", "network": "net2"}]
    )

    stale = _post(bob_client, "guest-nic-detach", MAC1, version=bob_seen)
    assert stale.status_code == CONFLICT
    words = stale.content.decode()
    assert re.search(rf"alice-admin moved {MAC1} to net2 at \d\d:\d\d\.", words)
    assert f"It has now {MAC1} on net2" in words
    assert Job.objects.count() == 1


def test_a_detach_and_an_attach_on_a_stale_page_queue_nothing_until_the_page_is_loaded_again(
    world, admin, bob, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    bob_seen = _guest_version(bob_client)
    attached = _post(
        alice_client, "guest-nic-attach", network="net2", version=_guest_version(alice_client)
    )
    assert attached.status_code == 202

    for name, args, data in [
        ("guest-nic-detach", [MAC1], {}),
        ("guest-nic-attach", [], {"network": "net2"}),
    ]:
        stale = _post(bob_client, name, *args, **data, version=bob_seen)
        assert stale.status_code == CONFLICT, name
        assert "alice-admin asked at" in stale.content.decode()
        assert "to attach a NIC on net2 (not done yet)" in stale.content.decode()
    assert Job.objects.count() == 1

    fresh = _guest_version(bob_client)
    assert _post(bob_client, "guest-nic-detach", MAC1, version=fresh).status_code == 202
    assert sorted(Job.objects.values_list("operation", flat=True)) == ["nic_attach", "nic_detach"]


def test_a_nic_changed_outside_vnetweb_makes_the_page_stale_too(world, bob, client_as):
    bob_client = client_as(bob)
    bob_seen = _guest_version(bob_client)
    # The worker read the guest again: someone moved its NIC with virsh.
    Guest.objects.filter(pk=world["vm1"].pk).update(
        nics=[{**world["vm1"].nics[0], "source": "net3", "network": "net3"}]
    )
    stale = _post(bob_client, "guest-nic-move", MAC1, network="net2", version=bob_seen)
    assert stale.status_code == CONFLICT
    words = stale.content.decode()
    assert "its NICs were changed outside vnetweb" in words and f"{MAC1} on net3" in words
    assert not Job.objects.exists()


def test_a_link_set_down_changes_no_nic_s_place_and_no_version(world, admin, bob, client_as):
    bob_seen = _guest_version(client_as(bob))
    assert _post(client_as(admin), "guest-nic-link", MAC1, state="down").status_code == 202
    Guest.objects.filter(pk=world["vm1"].pk).update(nics=[{**world["vm1"].nics[0], "link": "down"}])
    moved = _post(client_as(bob), "guest-nic-move", MAC1, network="net2", version=bob_seen)
    assert moved.status_code == 202


def test_the_job_says_where_the_person_saw_the_nic_for_the_worker_to_check(world, admin, client_as):
    client = client_as(admin)
    _post(client, "guest-nic-move", MAC1, network="net2", version=_guest_version(client))
    _post(client, "guest-nic-attach", network="net3", version=_guest_version(client))
    move, attach = Job.objects.order_by("pk")
    assert move.params == {
        "network": "net2",
        "mac": MAC1,
        "seen_type": "network",
        "seen_source": "net1",
    }
    assert attach.params["seen_macs"] == MAC1


def test_a_stale_plain_form_comes_back_as_the_guest_page_with_the_words_and_a_fresh_version(
    world, admin, bob, client_as
):
    bob_client = client_as(bob)
    bob_seen = _guest_version(bob_client)
    _post(client_as(admin), "guest-nic-move", MAC1, network="net2", version=bob_seen)
    url = reverse("guest-nic-detach", args=["testdrv", "vm1", MAC1])
    page = bob_client.post(url, {"version": bob_seen})
    assert page.status_code == CONFLICT
    html = page.content.decode()
    assert re.search(r'<div id="nic-status"[^>]*><p class="error">vm1&#39;s NICs changed', html)
    fresh = re.search(r'name="version" value="([^"]*)"', html).group(1)
    assert fresh != bob_seen
    assert bob_client.post(url, {"version": fresh}).status_code == 302
    assert Job.objects.count() == 2


# --- the topology ------------------------------------------------------------------------------


def _drawn_version(client, guest: str = "vm1") -> str:
    html = client.get(reverse("host-topology-part", args=["testdrv"])).content.decode()
    return re.search(rf'data-guest="{guest}" data-version="([^"]+)"', html).group(1)


def test_the_drawing_carries_each_guest_s_version_and_a_stale_drag_is_refused(
    world, admin, bob, client_as
):
    alice_client, bob_client = client_as(admin), client_as(bob)
    assert _drawn_version(bob_client) == _guest_version(bob_client)
    bob_seen = _drawn_version(bob_client)
    _post(alice_client, "guest-nic-attach", network="net2", version=_drawn_version(alice_client))

    # topology.js posts the switch and the version the drawing showed.
    stale = _post(bob_client, "guest-nic-attach", network="net2", version=bob_seen)
    assert stale.status_code == CONFLICT
    assert "alice-admin asked at" in stale.content.decode()
    assert Job.objects.count() == 1
    again = _post(
        bob_client, "guest-nic-attach", network="net3", version=_drawn_version(bob_client)
    )
    assert again.status_code == 202
    assert Job.objects.count() == 2


def test_the_connect_form_without_javascript_carries_a_version_per_guest(
    world, admin, bob, client_as
):
    page = reverse("host-topology", args=["testdrv"])
    connect = reverse("host-topology-connect", args=["testdrv"])
    bob_client = client_as(bob)
    html = bob_client.get(page).content.decode()
    bob_seen = re.search(r'name="version:vm1" value="([^"]+)"', html).group(1)
    _post(client_as(admin), "guest-nic-detach", MAC1, version=bob_seen)

    form = {"guest": "vm1", "network": "net2", "version:vm1": bob_seen}
    stale = bob_client.post(connect, form, follow=True)  # as a browser follows the 307
    assert stale.status_code == CONFLICT
    assert "alice-admin asked at" in stale.content.decode()
    assert Job.objects.count() == 1
    fresh = re.search(
        r'name="version:vm1" value="([^"]+)"', bob_client.get(page).content.decode()
    ).group(1)
    done = bob_client.post(connect, {**form, "version:vm1": fresh}, follow=True)
    assert done.redirect_chain[-1][1] == 302
    assert Job.objects.count() == 2
