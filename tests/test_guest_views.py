"""A host's guests and a guest's page, and the NIC forms: each a job, or a clear refusal that
queues nothing. The worker's side (libvirt) is in tests/test_nics_real.py."""

import pytest
from django.urls import reverse

from networks.models import Job, Lease

MAC1, MAC2, MAC3 = "52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"


@pytest.fixture
def world(test_host, make_network, make_guest):
    net1 = make_network(test_host, "net1", active=True)
    net2 = make_network(test_host, "net2", active=True, ipv4="10.0.1.1/24")
    stopped = make_network(test_host, "cold", active=False, ipv4="10.0.2.1/24")
    vm1 = make_guest(test_host, "vm1", nics=[("net1", MAC1)])
    vm2 = make_guest(test_host, "vm2", nics=[("net2", MAC2)])
    Lease.objects.create(network=net1, mac=MAC1, ip="10.0.0.50")
    return {"net1": net1, "net2": net2, "cold": stopped, "vm1": vm1, "vm2": vm2}


def _post(client, name, *args, data=None, htmx=True):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse(name, args=["testdrv", *args]), data or {}, **extra)


def test_the_guest_page_shows_its_nics_with_switch_and_lease_address(world, viewer, client_as):
    response = client_as(viewer).get(reverse("guest-detail", args=["testdrv", "vm1"]))
    content = response.content.decode()
    assert response.status_code == 200
    assert f'data-mac="{MAC1}"' in content
    assert reverse("network-detail", args=["testdrv", "net1"]) in content
    assert "<code>10.0.0.50</code>" in content
    # A viewer sees no way to change it.
    assert reverse("guest-nic-attach", args=["testdrv", "vm1"]) not in content
    assert "hx-post" not in content


def test_an_operator_sees_the_nic_forms(world, operator, client_as):
    content = client_as(operator).get(reverse("guest-detail", args=["testdrv", "vm1"])).content
    content = content.decode()
    for name, args in [
        ("guest-nic-attach", []),
        ("guest-nic-move", [MAC1]),
        ("guest-nic-detach", [MAC1]),
        ("guest-nic-link", [MAC1]),
    ]:
        assert reverse(name, args=["testdrv", "vm1", *args]) in content, name


def test_the_network_page_links_to_its_guests(world, viewer, client_as, make_network):
    world["net1"].guests = [{"domain": "vm1", "mac": MAC1, "running": True, "state": "running"}]
    world["net1"].save()
    content = client_as(viewer).get(world["net1"].get_absolute_url()).content.decode()
    assert reverse("guest-detail", args=["testdrv", "vm1"]) in content


def test_attach_queues_a_job_for_the_guest_on_the_chosen_switch(world, operator, client_as):
    response = _post(client_as(operator), "guest-nic-attach", "vm1", data={"network": "net2"})
    assert response.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.target, job.guest, job.network) == (
        "nic_attach",
        "vm1",
        world["vm1"],
        world["net2"],
    )
    assert job.params == {"network": "net2", "model": "virtio", "mac": ""}
    assert 'id="job-followed"' in response.content.decode()


def test_attach_without_htmx_leads_back_to_the_guest(world, operator, client_as):
    response = _post(
        client_as(operator), "guest-nic-attach", "vm1", data={"network": "net2"}, htmx=False
    )
    assert response.status_code == 302
    assert response["Location"] == world["vm1"].get_absolute_url()


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"network": "nope"}, "Select a valid choice"),
        ({"network": ""}, "This field is required"),
        ({"network": "net2", "mac": "52:54:00:zz:00:01"}, "six pairs"),
        ({"network": "net2", "mac": "01:00:5e:00:00:01"}, "multicast"),
        ({"network": "net2", "mac": MAC2}, f"{MAC2} is already on net2, on guest vm2"),
        ({"network": "net1", "mac": MAC1}, "vm1 already has a NIC with this MAC"),
        ({"network": "cold"}, "cold is not running, and vm1 is: start cold first"),
        ({"network": "net2", "model": "ne2k_isa"}, "Select a valid choice"),
    ],
)
def test_attach_refuses_in_words_and_queues_nothing(world, operator, client_as, data, words):
    response = _post(client_as(operator), "guest-nic-attach", "vm1", data=data)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Job.objects.exists()


def test_attach_to_a_stopped_network_is_fine_for_a_stopped_guest(world, operator, client_as):
    world["vm1"].state = "shut off"
    world["vm1"].save()
    assert (
        _post(client_as(operator), "guest-nic-attach", "vm1", data={"network": "cold"}).status_code
        == 202
    )


def test_a_running_guest_without_acpi_cannot_take_a_nic(world, operator, client_as):
    world["vm1"].hotplug = False
    world["vm1"].save()
    response = _post(client_as(operator), "guest-nic-attach", "vm1", data={"network": "net2"})
    assert response.status_code == 400
    assert "cannot take a NIC while running (no ACPI)" in response.content.decode()
    response = _post(client_as(operator), "guest-nic-detach", "vm1", MAC1)
    assert response.status_code == 400
    assert not Job.objects.exists()


def test_a_refused_plain_form_comes_back_with_the_error_on_the_page(world, operator, client_as):
    response = _post(
        client_as(operator), "guest-nic-attach", "vm1", data={"network": "cold"}, htmx=False
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "cold is not running" in content and 'id="attach-nic"' in content


def test_move_queues_a_job_and_refuses_the_switch_it_is_on(world, operator, client_as):
    client = client_as(operator)
    same = _post(client, "guest-nic-move", "vm1", MAC1, data={"network": "net1"})
    assert same.status_code == 400
    assert "on net1 already" in same.content.decode()
    assert not Job.objects.exists()
    moved = _post(client, "guest-nic-move", "vm1", MAC1, data={"network": "net2"})
    assert moved.status_code == 202
    job = Job.objects.get()
    assert (job.operation, job.network, job.params) == (
        "nic_move",
        world["net2"],
        {"network": "net2", "mac": MAC1},
    )


def test_detach_and_link_name_the_nic(world, operator, client_as):
    client = client_as(operator)
    assert _post(client, "guest-nic-detach", "vm1", MAC3).status_code == 400
    assert (
        _post(client, "guest-nic-link", "vm1", MAC1, data={"state": "sideways"}).status_code == 400
    )
    assert not Job.objects.exists()
    assert _post(client, "guest-nic-detach", "vm1", MAC1).status_code == 202
    assert _post(client, "guest-nic-link", "vm1", MAC1, data={"state": "down"}).status_code == 202
    detach, link = Job.objects.order_by("pk")
    assert (detach.operation, detach.params, detach.network) == (
        "nic_detach",
        {"mac": MAC1},
        world["net1"],
    )
    assert (link.operation, link.params) == ("nic_link", {"mac": MAC1, "up": False})


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("guest-nic-attach", []),
        ("guest-nic-move", [MAC1]),
        ("guest-nic-detach", [MAC1]),
        ("guest-nic-link", [MAC1]),
    ],
)
def test_a_viewer_cannot_change_nics(world, viewer, client_as, name, args):
    response = _post(client_as(viewer), name, "vm1", *args, data={"network": "net2", "state": "up"})
    assert response.status_code == 403
    assert not Job.objects.exists()


def test_the_guest_list_asks_the_same_number_of_queries_for_more_guests(
    world, viewer, client_as, make_guest, django_assert_num_queries
):
    client = client_as(viewer)
    url = reverse("guest-list", args=["testdrv"])
    client.get(url)  # the session and the role, loaded once
    with django_assert_num_queries(7) as small:
        assert client.get(url).status_code == 200
    for i in range(30):
        make_guest(world["vm1"].host, f"many{i:02}", nics=[("net1", f"52:54:00:10:00:{i:02x}")])
    with django_assert_num_queries(len(small.captured_queries)):
        content = client.get(url).content.decode()
    assert content.count('<tr id="guest-') == 32
