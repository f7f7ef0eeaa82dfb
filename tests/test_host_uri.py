"""A host's test:/// URI may name only the demo hosts shipped in networks/demo/ (libvirt's test
driver reads the file as the worker's user), and libvirt's parse errors reach no page with the
lines of the file they quote."""

import uuid

import pytest
from django.urls import reverse

from networks import gateway, tasks
from networks.admin import HostAdmin
from networks.forms.hosts import DEMO_DIR, HostForm
from networks.models import Host

DEMO = f"test://{DEMO_DIR / 'demo-host.xml'}"
SECRET = "root:x:0:0:the-secret-line"


def uri_errors(uri: str) -> list[str]:
    form = HostForm(data={"name": "kvm1", "uri": uri})
    form.is_valid()
    return form.errors.get("uri", [])


@pytest.mark.parametrize("uri", ["test:///default", DEMO])
def test_the_built_in_and_the_demo_test_hosts_are_accepted(db, uri):
    assert uri_errors(uri) == []


@pytest.mark.parametrize(
    "uri",
    [
        "test:///etc/passwd",
        "test:///root/.ssh/id_ed25519",
        f"test://{DEMO_DIR}/../../vnetweb/settings.py",
        f"test://{DEMO_DIR}",
        "test:///defaults",
        f"{DEMO}?x=1",
        "test+ssh://root@kvm1/etc/passwd",
        "test:///networks/demo/demo-host.xml",
    ],
)
def test_other_test_uris_are_refused_with_a_clear_field_error(db, uri):
    errors = uri_errors(uri)
    assert errors
    assert any("demo folder" in error for error in errors), errors


def test_the_add_page_shows_the_refusal_next_to_the_field(admin, client_as):
    response = client_as(admin).post(
        reverse("host-add"), {"name": "kvm1", "uri": "test:///etc/passwd"}
    )
    assert response.status_code == 200
    assert "demo folder" in response.context["form"].errors["uri"][0]
    assert not Host.objects.exists()


def test_the_django_admin_checks_the_uri_the_same_way():
    assert issubclass(HostAdmin.form, HostForm)


@pytest.fixture
def not_xml():
    """A file in the demo folder that is not XML, with a line libvirt's parser would quote."""
    path = DEMO_DIR / f"vnwt-{uuid.uuid4().hex}.txt"
    path.write_text(f"{SECRET}\nmore\n")
    yield path
    path.unlink()


def test_a_parse_error_names_the_fault_but_quotes_no_line_of_the_file(not_xml):
    with pytest.raises(gateway.GatewayError) as raised:
        gateway.snapshot(f"test://{not_xml}")
    message = raised.value.message
    assert str(not_xml) in message  # where and what went wrong is still said
    assert "\n" not in message
    assert "secret" not in message


def test_the_hosts_page_shows_libvirts_error_without_the_files_contents(admin, client_as, not_xml):
    host = Host.objects.create(name="notxml", uri=f"test://{not_xml}")
    tasks.refresh(host)
    host.refresh_from_db()
    assert host.reachable is False
    assert host.last_error
    assert "secret" not in host.last_error
    page = client_as(admin).get(host.get_absolute_url())
    assert "secret" not in page.text


@pytest.mark.parametrize(
    "uri",
    [
        "qemu:///system",
        "qemu+ssh://root@kvm1/system",
        "qemu+ssh://root@kvm1:2222/system?keyfile=/etc/vnetweb/id_ed25519&no_tty=1",
        "qemu+libssh://root@kvm1/system?known_hosts=/etc/vnetweb/known_hosts&sshauth=privkey",
        "qemu+tls://kvm1/system?pkipath=/etc/pki/vnetweb",
    ],
)
def test_remote_uris_with_authentication_parameters_are_accepted(db, uri):
    assert uri_errors(uri) == []


@pytest.mark.parametrize(
    ("uri", "unsafe"),
    [
        ("qemu+ssh://root@kvm1/system?command=/tmp/evil", "command"),
        ("qemu+ssh://root@kvm1/system?no_tty=1&netcat=/tmp/nc", "netcat"),
        ("qemu+unix:///system?socket=/tmp/other.sock", "socket"),
    ],
)
def test_uri_parameters_that_would_run_a_program_or_reach_elsewhere_are_refused(db, uri, unsafe):
    errors = uri_errors(uri)
    assert any(f"does not take the URI parameter {unsafe}" in error for error in errors), errors
