"""Hosts: admins add, edit and remove them; everyone with a role sees whether they are reachable.

Views enqueue Celery work with transaction.on_commit; in these `db` tests the transaction never
commits, so nothing reaches Redis or a worker.
"""

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from networks import gateway
from networks.host_uri import DEMO_DIR
from networks.models import Host, Job, Lease, Network
from networks.operations import Op


def host_row(content: str, name: str) -> str:
    match = re.search(rf'<tr data-host="{re.escape(name)}">.*?</tr>', content, re.S)
    assert match, f"no row for host {name}"
    return match.group(0)


@pytest.fixture(autouse=True)
def credential_dirs(settings):
    """The folders host URIs may take key files from, as a deployment would configure them."""
    settings.VNETWEB_SSH_DIR = "/etc/vnetweb/ssh"
    settings.VNETWEB_PKI_DIR = "/etc/vnetweb/pki"


@pytest.fixture
def no_libvirt(monkeypatch):
    """Pages never act on libvirt: make every gateway call fail the test."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a page called libvirt")

    for name in gateway.__all__:
        if name[0].islower():
            monkeypatch.setattr(gateway, name, forbidden)


# --- adding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "qemu:///system",
        "qemu+ssh://root@kvm1/system",
        "qemu+tls://kvm1.example.org/system",
        "qemu+tcp://10.0.0.5:16509/system",
        "test:///default",
        "  qemu+ssh://root@kvm1/system?keyfile=/etc/vnetweb/ssh/id_ed25519  ",
    ],
)
def test_admin_adds_a_host_and_a_probe_job_is_queued_for_it(admin, client_as, no_libvirt, uri):
    response = client_as(admin).post(
        reverse("host-add"), {"name": "kvm1", "uri": uri, "description": "rack 3"}
    )
    host = Host.objects.get(name="kvm1")
    assert response.status_code == 302
    assert response["Location"] == reverse("host-detail", args=["kvm1"])
    assert host.uri == uri.strip()
    assert host.description == "rack 3"
    assert host.reachable is None
    job = Job.objects.get()
    assert job.host == host
    assert job.operation == Op.PROBE
    assert job.state == Job.State.QUEUED
    assert job.username == admin.username
    assert job.network is None


def test_the_new_hosts_page_shows_it_is_being_checked(admin, client_as):
    client = client_as(admin)
    response = client.post(
        reverse("host-add"), {"name": "kvm1", "uri": "qemu:///system"}, follow=True
    )
    content = response.content.decode()
    assert "Host kvm1 added" in content
    assert "Check host: queued" in content
    assert "not checked yet" in content


@pytest.mark.parametrize(
    "uri",
    [
        "http://x",
        "qemu:/system",
        "qemu//system",
        "xen:///system",
        "qemu+http://kvm1/system",
        "qemu:///sys tem",
        "/var/run/libvirt/libvirt-sock",
        "",
    ],
)
def test_a_mistyped_uri_is_a_field_error_and_creates_nothing(admin, client_as, uri):
    response = client_as(admin).post(reverse("host-add"), {"name": "kvm1", "uri": uri})
    assert response.status_code == 200
    assert response.context["form"].errors.get("uri")
    assert "has-error" in response.content.decode()
    assert not Host.objects.exists()
    assert not Job.objects.exists()


@pytest.mark.parametrize("name", ["kvm 1", "kvm/1", "kvm.1", ""])
def test_a_name_that_is_not_a_slug_is_a_field_error(admin, client_as, name):
    response = client_as(admin).post(reverse("host-add"), {"name": name, "uri": "qemu:///system"})
    assert response.status_code == 200
    assert response.context["form"].errors.get("name")
    assert not Host.objects.exists()


def test_a_host_cannot_be_named_like_the_add_page(admin, client_as):
    # /hosts/add/ is the form: a host called "add" could never show its own page.
    response = client_as(admin).post(reverse("host-add"), {"name": "add", "uri": "qemu:///system"})
    assert response.status_code == 200
    assert response.context["form"].errors.get("name")
    assert not Host.objects.exists()


def test_a_duplicate_name_is_a_field_error(test_host, admin, client_as):
    response = client_as(admin).post(
        reverse("host-add"), {"name": "testdrv", "uri": "qemu:///system"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get("name")
    assert list(Host.objects.values_list("name", "uri")) == [("testdrv", "test:///default")]
    assert not Job.objects.exists()


def test_two_hosts_may_share_a_uri(test_host, admin, client_as):
    # Each resolved by its own worker: two machines' local workers both use qemu:///system.
    response = client_as(admin).post(reverse("host-add"), {"name": "other", "uri": test_host.uri})
    assert response.status_code == 302
    assert Host.objects.filter(uri=test_host.uri).count() == 2


# --- editing -----------------------------------------------------------------------------------


def test_editing_changes_uri_and_description_and_probes_again(test_host, admin, client_as):
    response = client_as(admin).post(
        reverse("host-edit", args=["testdrv"]),
        {"uri": "qemu+ssh://root@kvm7/system", "description": "moved"},
    )
    assert response.status_code == 302
    test_host.refresh_from_db()
    assert test_host.uri == "qemu+ssh://root@kvm7/system"
    assert test_host.description == "moved"
    assert Job.objects.get().operation == Op.PROBE


def test_editing_cannot_change_the_name(test_host, admin, client_as):
    client = client_as(admin)
    assert b'name="name"' not in client.get(reverse("host-edit", args=["testdrv"])).content
    response = client.post(
        reverse("host-edit", args=["testdrv"]),
        {"name": "renamed", "uri": "test:///default", "description": "x"},
    )
    assert response.status_code == 302
    assert list(Host.objects.values_list("name", flat=True)) == ["testdrv"]
    assert Host.objects.get(pk=test_host.pk).description == "x"


def test_editing_with_a_mistyped_uri_changes_nothing(test_host, admin, client_as):
    response = client_as(admin).post(
        reverse("host-edit", args=["testdrv"]), {"uri": "http://kvm1", "description": "x"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors.get("uri")
    test_host.refresh_from_db()
    assert (test_host.uri, test_host.description) == ("test:///default", "test driver")
    assert not Job.objects.exists()


# A URI is code to libvirt (issue 16): each way one could run a program or open a file as root.
ROOT_SHELL_URIS = {
    "a command after a ';'": (
        "qemu+ssh://-c@localhost/system?keyfile=id%3E/tmp/y;command=/bin/sh",
        "does not take the URI parameter command",
    ),
    "an upper-case netcat": ("qemu+ssh://root@kvm1/system?NETCAT=/tmp/nc", "parameter netcat"),
    "an escaped separator": (
        "qemu+ssh://root@kvm1/system?keyfile=/etc/vnetweb/ssh/k%26command=/bin/sh",
        "%-escapes",
    ),
    "a user that is an option": ("qemu+ssh://-oProxyCommand=id@kvm1/system", "not a user name"),
    "a test file outside the demo folder": (
        f"test://{DEMO_DIR}/%2E%2E/%2E%2E/%2E%2E/tmp/x.xml",
        "demo folder",
    ),
    "a device": ("test:///dev/zero", "demo folder"),
    "a key file anywhere": ("qemu+ssh://root@kvm1/system?keyfile=/etc/shadow", "keyfile must"),
    "known_hosts anywhere": (
        "qemu+libssh://root@kvm1/system?known_hosts=/root/.ssh/authorized_keys",
        "known_hosts must",
    ),
    "no host key check": ("qemu+ssh://root@kvm1/system?no_verify=1", "host's key"),
    "host keys written on first sight": (
        "qemu+libssh://root@kvm1/system?known_hosts_verify=auto",
        "known_hosts_verify may be normal",
    ),
    "a pki folder anywhere": ("qemu+tls://kvm1/system?pkipath=/root", "pkipath must"),
}


@pytest.mark.parametrize(("uri", "words"), ROOT_SHELL_URIS.values(), ids=ROOT_SHELL_URIS.keys())
def test_adding_a_host_with_a_uri_libvirt_would_run_as_root_is_refused_in_words(
    admin, client_as, no_libvirt, uri, words
):
    response = client_as(admin).post(reverse("host-add"), {"name": "kvm1", "uri": uri})
    assert response.status_code == 200
    assert words in response.context["form"].errors["uri"][0]
    assert "has-error" in response.content.decode()
    assert not Host.objects.exists()
    assert not Job.objects.exists()


@pytest.mark.parametrize(("uri", "words"), ROOT_SHELL_URIS.values(), ids=ROOT_SHELL_URIS.keys())
def test_editing_a_host_to_a_uri_libvirt_would_run_as_root_is_refused_in_words(
    test_host, admin, client_as, no_libvirt, uri, words
):
    response = client_as(admin).post(
        reverse("host-edit", args=["testdrv"]), {"uri": uri, "description": "x"}
    )
    assert response.status_code == 200
    assert words in response.context["form"].errors["uri"][0]
    test_host.refresh_from_db()
    assert (test_host.uri, test_host.description) == ("test:///default", "test driver")
    assert not Job.objects.exists()


def test_editing_an_unknown_host_is_not_found(admin, client_as):
    assert client_as(admin).get(reverse("host-edit", args=["nohost"])).status_code == 404


# --- deleting ----------------------------------------------------------------------------------


def test_deleting_removes_the_host_and_its_rows_only(
    test_host, make_network, admin, client_as, no_libvirt
):
    other = Host.objects.create(name="kvm2", uri="qemu+ssh://root@kvm2/system")
    mine = make_network(test_host, "net1", active=True)
    theirs = make_network(other, "net1", active=True)
    for network in (mine, theirs):
        Lease.objects.create(network=network, mac="52:54:00:00:00:01", ip="10.0.0.2")
        Job.objects.create(username="a", host=network.host, network=network, operation=Op.STOP)

    client = client_as(admin)
    assert client.get(reverse("host-delete", args=["testdrv"])).status_code == 200
    assert Host.objects.filter(name="testdrv").exists(), "a GET must not delete"
    response = client.post(reverse("host-delete", args=["testdrv"]))

    assert response.status_code == 302
    assert response["Location"] == reverse("host-list")
    assert list(Host.objects.values_list("name", flat=True)) == ["kvm2"]
    assert list(Network.objects.values_list("host__name", "name")) == [("kvm2", "net1")]
    assert list(Lease.objects.values_list("network__host__name", flat=True)) == ["kvm2"]
    assert list(Job.objects.values_list("host__name", flat=True)) == ["kvm2"]
    assert Network.objects.get().active is True


def test_deleting_an_unknown_host_is_not_found(admin, client_as):
    assert client_as(admin).post(reverse("host-delete", args=["nohost"])).status_code == 404


# --- the list and a host's page ----------------------------------------------------------------


@pytest.fixture
def three_hosts(db, make_network):
    now = timezone.now()
    up = Host.objects.create(
        name="up",
        uri="qemu+ssh://root@up/system",
        reachable=True,
        libvirt_version="9.0.0",
        hypervisor="QEMU",
        hypervisor_version="7.2.0",
        last_checked=now,
        last_seen=now,
    )
    down = Host.objects.create(
        name="down",
        uri="qemu+ssh://root@down/system",
        reachable=False,
        last_error="unable to connect to server at 'down:22': Connection refused",
        last_checked=now,
    )
    new = Host.objects.create(name="new", uri="qemu+ssh://root@new/system")
    make_network(up, "a", active=True)
    make_network(up, "b", active=True)
    make_network(up, "c", active=False)
    make_network(down, "d", active=False)
    return up, down, new


def test_the_host_list_says_which_hosts_are_reachable(three_hosts, viewer, client_as):
    content = client_as(viewer).get(reverse("host-list")).content.decode()
    up, down, new = (host_row(content, name) for name in ("up", "down", "new"))
    assert '<span class="pill on">reachable</span>' in up
    assert "unreachable" not in up
    assert ">unreachable</span>" in down
    assert "Connection refused" in down
    assert "not checked yet" in new
    assert "reachable<" not in new


def test_the_host_list_counts_active_networks(three_hosts, viewer, client_as):
    content = client_as(viewer).get(reverse("host-list")).content.decode()
    assert "2 active of 3" in host_row(content, "up")
    assert "0 active of 1" in host_row(content, "down")
    assert "0 active of 0" in host_row(content, "new")
    assert "9.0.0" in host_row(content, "up")
    assert "never" in host_row(content, "new")


def test_the_host_page_shows_the_last_error_of_an_unreachable_host(three_hosts, viewer, client_as):
    content = client_as(viewer).get(reverse("host-detail", args=["down"])).content.decode()
    assert "unreachable" in content
    assert "Connection refused" in content
    assert "<code>host.down</code>" in content


def test_the_host_pages_do_not_call_libvirt(three_hosts, admin, client_as, no_libvirt):
    client = client_as(admin)
    for url in (reverse("host-list"), reverse("host-detail", args=["up"])):
        assert client.get(url).status_code == 200
