"""The API's guests: a host's guests, one guest with its NICs, and the NIC changes (attach, move,
detach, link), each a job as from the guest's page, or the page's refusal; real views, real
tokens. The worker's side (libvirt) is in tests/test_nics_real.py."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from networks import tokens
from networks.models import Grant, Job, Lease
from networks.stale.nics import guest_version

pytestmark = pytest.mark.postgres

MAC1, MAC2 = "52:54:00:00:00:01", "52:54:00:00:00:02"
JSON = "application/json"


def bearer(user: User) -> dict:
    _, key = tokens.issue(user, "t")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def url(name: str, *args: str) -> str:
    return reverse(f"api-v1:{name}", args=["testdrv", *args])


@pytest.fixture
def world(test_host, make_network, make_guest):
    net1 = make_network(test_host, "net1", active=True)
    net2 = make_network(test_host, "net2", active=True, ipv4="10.0.1.1/24")
    make_network(test_host, "cold", active=False, ipv4="10.0.2.1/24")
    vm1 = make_guest(test_host, "vm1", nics=[("net1", MAC1, {"agent": ["10.0.0.77/24"]})])
    vm2 = make_guest(test_host, "vm2", nics=[("net2", MAC2)], state="shut off")
    Lease.objects.create(network=net1, mac=MAC1, ip="10.0.0.50", prefix=24)
    return {"net1": net1, "net2": net2, "vm1": vm1, "vm2": vm2}


# --- reading ------------------------------------------------------------------------------------


def test_a_viewer_lists_the_hosts_guests_with_their_nics_and_addresses(world, viewer, client):
    response = client.get(url("guests"), **bearer(viewer))
    assert response.status_code == 200
    body = response.json()
    assert [guest["name"] for guest in body["results"]] == ["vm1", "vm2"]
    vm1 = body["results"][0]
    assert (vm1["state"], vm1["url"], vm1["page"]) == (
        "running",
        url("guest", "vm1"),
        reverse("guest-detail", args=["testdrv", "vm1"]),
    )
    assert vm1["nics"] == [
        {
            "mac": MAC1,
            "type": "network",
            "source": "net1",
            "network": "net1",
            "model": "virtio",
            "device": "",
            "link": "up",
            "config": True,
            "addresses": ["10.0.0.50/24", "10.0.0.77/24"],
            "from_agent": True,
        }
    ]


def test_the_guest_list_comes_in_pages(world, viewer, client):
    body = client.get(url("guests"), {"per": 1, "page": 2}, **bearer(viewer)).json()
    assert (body["count"], body["pages"], [g["name"] for g in body["results"]]) == (2, 2, ["vm2"])


def test_one_guest_tells_its_nics_version_and_whether_you_may_change_them(
    world, viewer, operator, client
):
    as_viewer = client.get(url("guest", "vm1"), **bearer(viewer)).json()
    assert as_viewer["version"] == guest_version(world["vm1"])
    assert as_viewer["nics"][0]["addresses"] == ["10.0.0.50/24", "10.0.0.77/24"]
    assert not as_viewer["may_change"]
    assert client.get(url("guest", "vm1"), **bearer(operator)).json()["may_change"]


def test_the_browsers_session_reads_a_guest_too(world, viewer, client_as):
    assert client_as(viewer).get(url("guest", "vm1")).json()["name"] == "vm1"


def test_an_outsider_does_not_find_the_host_or_its_guests(world, outsider, client):
    auth = bearer(outsider)
    assert client.get(url("guests"), **auth).status_code == 404
    assert client.get(url("guest", "vm1"), **auth).status_code == 404


def test_a_grant_on_some_networks_sees_no_guests(world, outsider, client):
    Grant.objects.create(user=outsider, role="operator", host=world["net1"].host, networks="net*")
    auth = bearer(outsider)
    assert client.get(url("guests"), **auth).status_code == 404
    assert client.get(url("guest", "vm1"), **auth).status_code == 404
    response = client.post(url("guest-nics", "vm1"), {"network": "net2"}, JSON, **auth)
    assert response.status_code == 404
    assert not Job.objects.exists()


def test_a_grant_on_the_whole_host_sees_its_guests(world, outsider, client):
    Grant.objects.create(user=outsider, role="viewer", host=world["net1"].host)
    assert client.get(url("guests"), **bearer(outsider)).json()["count"] == 2


def test_an_unknown_guest_is_not_found(world, viewer, client):
    assert client.get(url("guest", "nope"), **bearer(viewer)).status_code == 404


# --- attach -------------------------------------------------------------------------------------


def test_an_operator_attaches_a_nic_and_gets_its_job(world, operator, client):
    response = client.post(url("guest-nics", "vm1"), {"network": "net2"}, JSON, **bearer(operator))
    assert response.status_code == 202
    job = Job.objects.get()
    assert response.json()["id"] == job.pk
    assert response.json()["guest"] == "vm1"
    assert (job.operation, job.guest, job.network) == ("nic_attach", world["vm1"], world["net2"])
    assert job.params == {"network": "net2", "model": "virtio", "mac": ""}


def test_an_attach_that_names_the_version_it_saw_tells_the_worker_the_nics(world, operator, client):
    data = {"network": "net2", "model": "e1000e", "version": guest_version(world["vm1"])}
    response = client.post(url("guest-nics", "vm1"), data, JSON, **bearer(operator))
    assert response.status_code == 202
    assert Job.objects.get().params == {
        "network": "net2",
        "model": "e1000e",
        "mac": "",
        "seen_macs": MAC1,
    }


def test_a_viewer_may_not_attach(world, viewer, client):
    response = client.post(url("guest-nics", "vm1"), {"network": "net2"}, JSON, **bearer(viewer))
    assert response.status_code == 403
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"network": "nope"}, "network", "Select a valid choice"),
        ({"network": ""}, "network", "This field is required"),
        ({"network": "net2", "mac": "52:54:00:zz:00:01"}, "mac", "six pairs"),
        ({"network": "net2", "mac": MAC2}, "mac", f"{MAC2} is already on net2, on guest vm2"),
        ({"network": "cold"}, "network", "cold is not running, and vm1 is: start cold first"),
        ({"network": "net2", "model": "ne2k_isa"}, "model", "Select a valid choice"),
    ],
)
def test_an_attach_the_form_refuses_is_422_with_its_words(
    world, operator, client, data, field, words
):
    response = client.post(url("guest-nics", "vm1"), data, JSON, **bearer(operator))
    assert response.status_code == 422
    assert words in " ".join(response.json()["errors"][field])
    assert not Job.objects.exists()


def test_a_change_on_an_old_version_of_the_nics_is_refused(world, operator, client):
    seen = guest_version(world["vm1"])
    auth = bearer(operator)
    assert (
        client.post(url("guest-nics", "vm1"), {"network": "net2"}, JSON, **auth).status_code == 202
    )
    data = {"network": "net2", "version": seen}
    response = client.post(url("guest-nic-move", "vm1", MAC1), data, JSON, **auth)
    assert response.status_code == 409
    assert "vm1's NICs changed since this page was drawn" in response.json()["detail"]
    assert Job.objects.count() == 1


# --- move ---------------------------------------------------------------------------------------


def test_an_operator_moves_a_nic_to_another_network(world, operator, client):
    response = client.post(
        url("guest-nic-move", "vm1", MAC1.upper()), {"network": "net2"}, JSON, **bearer(operator)
    )
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network, job.params) == (
        "nic_move",
        world["net2"],
        {"network": "net2", "mac": MAC1},
    )


def test_a_move_to_where_the_nic_is_is_refused_in_the_forms_words(world, operator, client):
    response = client.post(
        url("guest-nic-move", "vm1", MAC1), {"network": "net1"}, JSON, **bearer(operator)
    )
    assert response.status_code == 422
    assert response.json()["errors"]["network"] == ["The NIC is on net1 already."]


def test_a_move_of_a_nic_the_guest_has_not_is_not_found(world, operator, client):
    response = client.post(
        url("guest-nic-move", "vm1", MAC2), {"network": "net2"}, JSON, **bearer(operator)
    )
    assert response.status_code == 404
    assert response.json()["detail"] == f"vm1 has no NIC {MAC2}; nothing was queued."


def test_a_viewer_may_not_move(world, viewer, client):
    response = client.post(
        url("guest-nic-move", "vm1", MAC1), {"network": "net2"}, JSON, **bearer(viewer)
    )
    assert response.status_code == 403


# --- detach -------------------------------------------------------------------------------------


def test_an_operator_detaches_a_nic(world, operator, client):
    response = client.delete(url("guest-nic", "vm1", MAC1), **bearer(operator))
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network, job.params) == ("nic_detach", world["net1"], {"mac": MAC1})


def test_a_detach_with_wait_sends_the_script_to_the_job(world, operator, client):
    response = client.delete(url("guest-nic", "vm1", MAC1) + "?wait=5", **bearer(operator))
    assert response.status_code == 303
    assert response["Location"] == reverse("api-v1:job", args=[Job.objects.get().pk]) + "?wait=5"


def test_a_running_guest_without_acpi_cannot_drop_a_nic(world, operator, client):
    world["vm1"].hotplug = False
    world["vm1"].save()
    response = client.delete(url("guest-nic", "vm1", MAC1), **bearer(operator))
    assert response.status_code == 409
    assert "cannot drop a NIC while running (no ACPI)" in response.json()["detail"]
    assert not Job.objects.exists()


def test_a_detach_on_an_old_version_is_refused(world, operator, client):
    response = client.delete(url("guest-nic", "vm1", MAC1) + "?version=0-stale", **bearer(operator))
    assert response.status_code == 409
    assert not Job.objects.exists()


def test_a_viewer_may_not_detach(world, viewer, client):
    assert client.delete(url("guest-nic", "vm1", MAC1), **bearer(viewer)).status_code == 403
    assert not Job.objects.exists()


def test_a_read_only_token_may_not_detach(world, operator, client):
    _, key = tokens.issue(operator, "ro", read_only=True)
    response = client.delete(url("guest-nic", "vm1", MAC1), HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403


# --- link ---------------------------------------------------------------------------------------


def test_an_operator_sets_a_link_down(world, operator, client):
    response = client.post(
        url("guest-nic-link", "vm1", MAC1), {"state": "down"}, JSON, **bearer(operator)
    )
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.params) == ("nic_link", {"mac": MAC1, "up": False})


def test_a_link_state_other_than_up_or_down_is_422_with_the_forms_words(world, operator, client):
    response = client.post(
        url("guest-nic-link", "vm1", MAC1), {"state": "sideways"}, JSON, **bearer(operator)
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.json()["errors"]["state"][0]


def test_a_viewer_may_not_set_a_link(world, viewer, client):
    response = client.post(
        url("guest-nic-link", "vm1", MAC1), {"state": "down"}, JSON, **bearer(viewer)
    )
    assert response.status_code == 403
