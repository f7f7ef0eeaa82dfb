"""A host's test:/// URI may name only the demo hosts shipped in networks/demo/ (libvirt's test
driver reads the file as the worker's user), and libvirt's parse errors reach no page with the
lines of the file they quote."""

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import unquote

import pytest
from django.urls import reverse

from networks import gateway, host_uri
from networks.admin import HostAdmin
from networks.forms.hosts import HostForm
from networks.gateway import connection
from networks.host_uri import DEMO_DIR
from networks.models import Host
from networks.worker import tasks

DEMO = f"test://{DEMO_DIR / 'demo-host.xml'}"
SECRET = "root:x:0:0:the-secret-line"


@pytest.fixture(autouse=True)
def credential_dirs(settings):
    """The folders host URIs may take key files from, as a deployment would configure them."""
    settings.VNETWEB_SSH_DIR = "/etc/vnetweb/ssh"
    settings.VNETWEB_PKI_DIR = "/etc/vnetweb/pki"


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
    path = DEMO_DIR / f"vnwt-{uuid.uuid4().hex}.xml"
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
        "qemu+ssh://root@kvm1:2222/system?keyfile=/etc/vnetweb/ssh/id_ed25519&no_tty=1",
        "qemu+libssh://root@kvm1/system?known_hosts=/etc/vnetweb/ssh/known_hosts&sshauth=privkey",
        "qemu+tls://kvm1/system?pkipath=/etc/vnetweb/pki/kvm1",
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


# --- findings 3-5 of issue 16: a URI is code to libvirt -----------------------------------------

SSH_KEY = "/etc/vnetweb/ssh/id_ed25519"


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        # Finding 3: libvirt also splits on ';' (the ssh command became /bin/sh), and a user
        # part starting with '-' is an option of the transport's command.
        (
            "qemu+ssh://-c@localhost/system?keyfile=id%3E/tmp/y;command=/bin/sh",
            "does not take the URI parameter command",
        ),
        ("qemu+ssh://root@kvm1/system?no_tty=1;netcat=/tmp/nc", "URI parameter netcat"),
        ("qemu+ssh://root@kvm1/system?COMMAND=/bin/sh", "URI parameter command"),
        ("qemu+ssh://root@kvm1/system?%63ommand=/bin/sh", "URI parameter command"),
        ("qemu+ssh://root@kvm1/system?Socket=/tmp/s", "URI parameter socket"),
        ("qemu+ssh://root@kvm1/system?name=qemu:///embed", "URI parameter name"),
        (f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}%3Bcommand=/bin/sh", "%-escapes"),
        (f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}%26command=/bin/sh", "%-escapes"),
        (f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}%253Bx", "%-escapes"),
        (f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY};no_tty=1", "';'"),
        ("qemu+ssh://-oProxyCommand=id@kvm1/system", "not a user name"),
        ("qemu+ssh://-c@localhost/system", "not a user name"),
        ("qemu+ssh://%2Dc@localhost/system", "%-escapes"),
        ("qemu+ssh://root@-oProxyCommand=id/system", "not a host name"),
        ("qemu+ssh://root@kvm1:22x/system", "not a port number"),
        ("qemu:///embed", "/system or /session"),
        ("qemu+ext:///system", "Give a libvirt URI"),
        # Finding 5: files only from the configured folders, no switched-off host checks.
        ("qemu+ssh://root@kvm1/system?keyfile=/etc/shadow", "directly in /etc/vnetweb/ssh"),
        (
            "qemu+ssh://root@kvm1/system?keyfile=/etc/vnetweb/ssh/../../shadow",
            "directly in /etc/vnetweb/ssh",
        ),
        ("qemu+ssh://root@kvm1/system?keyfile=/etc/vnetweb/ssh/.x", "directly in /etc/vnetweb/ssh"),
        ("qemu+libssh://root@kvm1/system?known_hosts=/root/.bashrc", "known_hosts must name"),
        ("qemu+ssh://root@kvm1/system?no_verify=1", "turns off the check of the host's key"),
        ("qemu+libssh://root@kvm1/system?known_hosts_verify=auto", "may be normal"),
        ("qemu+libssh://root@kvm1/system?known_hosts_verify=ignore", "may be normal"),
        ("qemu+tls://kvm1/system?pkipath=/root", "pkipath must be /etc/vnetweb/pki"),
        ("qemu+tls://kvm1/system?pkipath=/etc/vnetweb/pki/a/b", "pkipath must be"),
        (f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}&KeyFile={SSH_KEY}", "more than once"),
        # Finding 4: test:/// only for the exact demo files, checked as libvirt reads the path.
        (f"test://{DEMO_DIR}/%2E%2E/%2E%2E/vnetweb/settings.py", "demo folder"),
        (f"test://{DEMO_DIR}/demo-host%2Exml", "demo folder"),
        ("test:///dev/zero", "demo folder"),
        (f"test://{DEMO_DIR}//demo-host.xml", "demo folder"),
        (f"test://{DEMO_DIR}/./demo-host.xml", "demo folder"),
        (f"test://localhost{DEMO_DIR}/demo-host.xml", "demo folder"),
    ],
)
def test_a_uri_that_would_run_a_program_or_open_a_file_is_refused_in_words(db, uri, words):
    errors = uri_errors(uri)
    assert any(words in error for error in errors), errors
    assert host_uri.refusal(uri) == errors[0]


@pytest.mark.parametrize(
    "uri",
    [
        f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}&no_tty=1",
        "qemu+libssh2://vnet_web.admin@10.0.0.5:2222/system?known_hosts=/etc/vnetweb/ssh/kh&"
        "known_hosts_verify=normal&sshauth=agent,privkey",
        "qemu+tls://[2001:db8::1]/system?pkipath=/etc/vnetweb/pki&mode=direct&proxy=native",
        "qemu+ssh://root@kvm1.example.org/session?No_Tty=1",
    ],
)
def test_plain_uris_within_the_configured_folders_are_accepted(db, uri):
    assert uri_errors(uri) == []


def test_the_folders_come_from_the_settings(db, settings):
    settings.VNETWEB_SSH_DIR = "/srv/keys"
    assert uri_errors("qemu+ssh://root@kvm1/system?keyfile=/srv/keys/k") == []
    assert uri_errors(f"qemu+ssh://root@kvm1/system?keyfile={SSH_KEY}")


@pytest.fixture
def demo_file():
    """Factory: a non-regular file in the demo folder that libvirt would hang on or follow."""
    made: list[Path] = []

    def make(kind: str) -> Path:
        path = DEMO_DIR / f"vnwt-{uuid.uuid4().hex}.xml"
        made.append(path)
        if kind == "fifo":
            os.mkfifo(path)
        else:
            path.symlink_to(kind)
        return path

    yield make
    for path in made:
        path.unlink(missing_ok=True)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/etc/passwd"])
def test_a_fifo_or_a_link_in_the_demo_folder_is_refused_by_form_and_gateway(db, demo_file, kind):
    uri = f"test://{demo_file(kind)}"
    assert any("demo folder" in error for error in uri_errors(uri))
    with pytest.raises(gateway.UriRefused, match="demo folder"):
        gateway.snapshot(uri)  # would hang on the FIFO or /dev/zero if libvirt opened it


# --- the worker checks again, whatever wrote the Host row ---------------------------------------

BAD_URI = "qemu+ssh://-c@localhost/system?keyfile=id%3E/tmp/y;command=/bin/sh"


@pytest.fixture
def libvirt_open_forbidden(monkeypatch):
    def forbidden(uri):
        raise AssertionError(f"libvirt.open({uri!r}) was called")

    monkeypatch.setattr(connection.libvirt, "open", forbidden)


@pytest.mark.parametrize("uri", [BAD_URI, f"test://{DEMO_DIR}/%2E%2E/%2E%2E/tmp/x.xml"])
def test_the_gateway_refuses_a_bad_uri_before_libvirt_sees_it(libvirt_open_forbidden, uri):
    with pytest.raises(gateway.UriRefused) as refused:
        gateway.snapshot(uri)
    assert refused.value.message.startswith("Refused before connecting:")
    assert refused.value.transient is False
    with pytest.raises(gateway.UriRefused):
        connection.open_connection(uri)  # the monitor's event subscription


def test_a_host_row_written_directly_shows_the_refusal_on_its_page(
    db, libvirt_open_forbidden, admin, client_as
):
    host = Host.objects.create(name="sneaky", uri=BAD_URI)
    tasks.refresh(host)
    host.refresh_from_db()
    assert host.reachable is False
    assert "does not take the URI parameter command" in host.last_error
    page = client_as(admin).get(host.get_absolute_url())
    assert "does not take the URI parameter command" in page.content.decode()


# --- the check reads a URI as libvirt does: libvirt's own client is the judge ------------------

# Parameters libvirt 9's remote driver takes for itself; it passes every other one on, in the
# URI it asks the far side's virt-ssh-helper to open.
LIBVIRT_TAKES = {
    "auth", "command", "keyfile", "known_hosts", "known_hosts_verify", "mode", "name", "netcat",
    "no_tty", "no_verify", "pkipath", "proxy", "socket", "sshauth", "tls_priority",
}  # fmt: skip

OPEN_EACH = """
import json, os, sys
import libvirt
libvirt.registerErrorHandler(lambda *_: None, None)
record, seen = sys.argv[1], []
for uri in sys.argv[2:]:
    if os.path.exists(record):
        os.unlink(record)
    try:
        libvirt.open(uri).close()
    except libvirt.libvirtError:
        pass
    with open(record, "rb") as file:
        seen.append([arg.decode() for arg in file.read().split(b"\\0")[:-1]])
print(json.dumps(seen))
"""


def ssh_arguments(tmp_path: Path, uris: list[str]) -> list[list[str]]:
    """The arguments libvirt's client gives `ssh` for each URI. `ssh` is a script of ours that
    records them and exits, so nothing connects and nothing from the URI runs."""
    record = tmp_path / "argv"
    ssh = tmp_path / "bin" / "ssh"
    ssh.parent.mkdir()
    ssh.write_text(f"#!/bin/sh\nprintf '%s\\0' \"$@\" > {record}\nexit 1\n")
    ssh.chmod(0o755)
    env = {**os.environ, "PATH": f"{ssh.parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-c", OPEN_EACH, str(record), *uris],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def after(argv: list[str], option: str) -> str | None:
    return argv[argv.index(option) + 1] if option in argv else None


def as_libvirt_ran_it(argv: list[str]) -> dict:
    """What libvirt made of the URI, read back from the ssh command it ran."""
    script = argv[-1]
    netcat = re.search(r"'([^']*)' \$ARG -U", script).group(1)
    passed_on = re.search(r"qemu:///system\?([^'\\]*)", script)
    return {
        "user": after(argv, "-l"),
        "port": after(argv, "-p"),
        "host": after(argv, "--"),
        "keyfile": after(argv, "-i"),
        "no_tty": "BatchMode=yes" in argv,
        "no_verify": "StrictHostKeyChecking=no" in argv,
        "netcat": None if netcat == "nc" else netcat,
        "passed_on": [
            tuple(unquote(part) for part in pair.split("=", 1))
            for pair in (passed_on.group(1).split("&") if passed_on else [])
        ],
    }


def as_the_check_reads_it(uri: str) -> dict:
    parts = host_uri.parse(uri)
    taken = {
        name.lower(): value for name, value in parts.parameters if name.lower() in LIBVIRT_TAKES
    }
    return {
        "user": parts.user,
        "port": parts.port,
        "host": parts.host,
        "keyfile": taken.get("keyfile"),
        "no_tty": taken.get("no_tty", "0") != "0",
        "no_verify": taken.get("no_verify", "0") != "0",
        "netcat": taken.get("netcat"),
        "passed_on": [pair for pair in parts.parameters if pair[0].lower() not in LIBVIRT_TAKES],
    }


NOWHERE = "qemu+ssh://vnwt@127.0.0.1:1/system"  # nothing listens on port 1; ssh is our script
CORPUS = [
    f"{NOWHERE}?keyfile=/k/a;foo=bar",  # no '&': split at ';'
    f"{NOWHERE}?keyfile=/k/a;foo=bar&no_tty=1",  # a '&' first: the ';' stays in the value
    f"{NOWHERE}?no_tty=1;netcat=/vnwt/nc",  # the program run on the far side, after a ';'
    f"{NOWHERE}?keyfile=/k/a%3Bno_tty=1",  # an escaped ';' is part of the value
    f"{NOWHERE}?keyfile=/k/a%26no_tty=1",  # so is an escaped '&'
    f"{NOWHERE}?keyfile=/k/a%253Bb&x=%253B",  # unescaped once only
    f"{NOWHERE}?KEYFILE=/k/a&No_Tty=1&NO_VERIFY=1",  # names without regard to case
    f"{NOWHERE}?%6Beyfile=/k/a&%6Eo_tty=1",  # escaped names
    f"{NOWHERE}?=hidden&&keyfile=/k/a&&",  # empty parts and '=value' are skipped
    f"{NOWHERE}?Foo=Bar&tls=1",  # passed on to the far side, names as written
    "qemu+ssh://-c@127.0.0.1:1/system",  # a user part that is an option
    "qemu+ssh://%2Dc@127.0.0.1:1/system",  # the same, escaped
    f"{NOWHERE}?keyfile=/etc/vnetweb/ssh/id_ed25519&no_tty=1",  # one the check accepts
]


def test_the_check_and_libvirt_read_the_same_user_host_and_parameters(db, tmp_path):
    seen = ssh_arguments(tmp_path, CORPUS)
    for uri, argv in zip(CORPUS, seen, strict=True):
        assert as_the_check_reads_it(uri) == as_libvirt_ran_it(argv), (uri, argv)
    refused = [uri for uri in CORPUS if host_uri.refusal(uri)]
    assert refused == CORPUS[:-1]


def test_the_check_names_the_parameter_libvirt_would_have_run(db, tmp_path):
    # The URI without its payload: libvirt reads a netcat= after the ';' and the form
    # names exactly that parameter.
    uri = f"{NOWHERE}?no_tty=1;netcat=/vnwt/nc"
    [argv] = ssh_arguments(tmp_path, [uri])
    assert as_libvirt_ran_it(argv)["netcat"] == "/vnwt/nc"
    assert "does not take the URI parameter netcat" in uri_errors(uri)[0]


# --- VNETWEB_TEST_HOSTS_DIR: the fleet's simulated hosts ---------------------------------------


@pytest.fixture
def hosts_dir(db, settings, tmp_path) -> Path:
    """A folder of test-driver host files, named in VNETWEB_TEST_HOSTS_DIR, holding h.xml."""
    folder = tmp_path / "hosts"
    folder.mkdir()
    (folder / "h.xml").write_text((DEMO_DIR / "demo-host.xml").read_text())
    settings.VNETWEB_TEST_HOSTS_DIR = str(folder)
    return folder


def test_a_plain_file_in_the_test_hosts_folder_is_accepted_and_opened(hosts_dir):
    uri = f"test://{hosts_dir / 'h.xml'}"
    assert host_uri.refusal(uri) is None
    assert uri_errors(uri) == []
    assert gateway.snapshot(uri).networks  # libvirt's test driver reads it


def test_a_trailing_slash_in_the_setting_names_the_same_folder(hosts_dir, settings):
    settings.VNETWEB_TEST_HOSTS_DIR = f"{hosts_dir}/"
    assert host_uri.refusal(f"test://{hosts_dir / 'h.xml'}") is None


@pytest.mark.parametrize(
    "shape",
    [
        "{dir}/link.xml",  # a symlink to the good file
        "{dir}/sub/h.xml",  # a file in a folder of its own
        "{dir}/sub/../h.xml",
        "{dir}/./h.xml",
        "{dir}//h.xml",
        "{dir}/h%2Exml",
        "{dir}/%68.xml",
        "{dir}/h.xml?x=1",
        "{dir}/h.xml;x=1",
        "{dir}/h.xml#x",
        "{dir}/fifo.xml",
        "{dir}/missing.xml",
        "{dir}/.hidden.xml",
        "{dir}/notes.txt",
        "{other}/h.xml",  # a file of the same name in another folder
        "localhost{dir}/h.xml",
    ],
)
def test_anything_else_near_the_test_hosts_folder_is_refused_naming_it(hosts_dir, tmp_path, shape):
    (hosts_dir / "link.xml").symlink_to(hosts_dir / "h.xml")
    (hosts_dir / "sub").mkdir()
    (hosts_dir / "sub" / "h.xml").write_text((hosts_dir / "h.xml").read_text())
    os.mkfifo(hosts_dir / "fifo.xml")
    (hosts_dir / ".hidden.xml").write_text((hosts_dir / "h.xml").read_text())
    (hosts_dir / "notes.txt").write_text((hosts_dir / "h.xml").read_text())
    other = tmp_path / "other"
    other.mkdir()
    (other / "h.xml").write_text((hosts_dir / "h.xml").read_text())
    uri = "test://" + shape.format(dir=hosts_dir, other=other)
    refused = host_uri.refusal(uri)
    assert refused and f"{hosts_dir} (VNETWEB_TEST_HOSTS_DIR)" in refused, (uri, refused)
    assert uri_errors(uri) == [refused]
    with pytest.raises(gateway.UriRefused):
        gateway.snapshot(uri)  # would hang on the FIFO if libvirt opened it


def test_without_the_setting_no_file_outside_the_demo_folder_is_taken(hosts_dir, settings):
    settings.VNETWEB_TEST_HOSTS_DIR = ""
    refused = host_uri.refusal(f"test://{hosts_dir / 'h.xml'}")
    assert refused and "demo folder" in refused
    assert "VNETWEB_TEST_HOSTS_DIR" not in refused
    assert host_uri.refusal("test:///h.xml")  # an empty folder is no folder, not "/"
