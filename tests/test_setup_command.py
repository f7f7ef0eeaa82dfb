"""`manage.py vnetweb_setup`: the first admin, the local and demo hosts, safe to run again."""

import io
import os
import runpy
import stat
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command

from networks.models import Host, Network
from networks.roles import GRANTED
from networks.worker import tasks

REPO = Path(__file__).resolve().parent.parent
DEMO_XML = REPO / "networks" / "demo" / "demo-host.xml"
ENV = [
    "VNETWEB_ADMIN_USER",
    "VNETWEB_ADMIN_PASSWORD",
    "VNETWEB_LOCAL_URI",
    "VNETWEB_DEMO_HOST",
]


def reread(settings) -> None:
    """The command's settings as vnetweb/settings.py makes them of the environment now."""
    fresh = runpy.run_path(str(REPO / "vnetweb" / "settings.py"))
    for name in ENV:
        setattr(settings, name, fresh[name])


@pytest.fixture(autouse=True)
def setup_env(db, settings, tmp_path, monkeypatch):
    """A data directory of the test's own, none of the command's variables set, and the roles."""
    settings.DATA_DIR = tmp_path / "data"
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    reread(settings)
    # Transactional tests elsewhere in the suite may flush the groups the roles migration made.
    for role in GRANTED:
        Group.objects.get_or_create(name=role.group)
    return settings.DATA_DIR


def run() -> str:
    out = io.StringIO()
    call_command("vnetweb_setup", stdout=out)
    return out.getvalue()


def password_file(settings) -> Path:
    return settings.DATA_DIR / "initial-admin-password"


def test_the_password_file_and_its_directory_are_private_even_under_umask_0(settings):
    before = os.umask(0)
    try:
        run()
    finally:
        os.umask(before)
    assert stat.S_IMODE(settings.DATA_DIR.stat().st_mode) == 0o700
    assert stat.S_IMODE(password_file(settings).stat().st_mode) == 0o600


def test_a_password_file_left_as_a_link_is_replaced_not_written_through(settings, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("untouched")
    settings.DATA_DIR.mkdir()
    password_file(settings).symlink_to(elsewhere)
    run()
    assert elsewhere.read_text() == "untouched"
    assert not password_file(settings).is_symlink()
    assert User.objects.get().check_password(password_file(settings).read_text().strip())


def test_the_first_run_creates_one_superuser_in_the_admin_group(settings):
    output = run()
    admin = User.objects.get()
    assert admin.username == "admin"
    assert admin.is_superuser
    assert admin.is_staff
    assert list(admin.groups.values_list("name", flat=True)) == ["admin"]
    file = password_file(settings)
    password = file.read_text().strip()
    assert len(password) >= 12
    assert admin.check_password(password)
    assert password in output
    assert stat.S_IMODE(file.stat().st_mode) == 0o600


def test_generated_passwords_differ_between_installations(settings, tmp_path):
    run()
    first = password_file(settings).read_text()
    User.objects.all().delete()
    settings.DATA_DIR = tmp_path / "other"
    run()
    assert password_file(settings).read_text() != first


def test_a_given_admin_password_and_user_name_are_used(settings, monkeypatch):
    monkeypatch.setenv("VNETWEB_ADMIN_USER", "root-admin")
    monkeypatch.setenv("VNETWEB_ADMIN_PASSWORD", "correct horse battery staple")
    reread(settings)
    output = run()
    admin = User.objects.get()
    assert admin.username == "root-admin"
    assert admin.check_password("correct horse battery staple")
    assert not password_file(settings).exists()
    assert "correct horse battery staple" not in output


def test_the_admin_password_can_come_from_a_file(settings, monkeypatch, tmp_path):
    secret = tmp_path / "admin-password"
    secret.write_text("from-a-secret-file\n")
    monkeypatch.setenv("VNETWEB_ADMIN_PASSWORD_FILE", str(secret))
    reread(settings)
    run()
    assert User.objects.get().check_password("from-a-secret-file")


def test_running_twice_creates_nothing_new(settings):
    run()
    password = password_file(settings).read_text()
    users = list(User.objects.values_list("pk", "username", "password"))
    hosts = list(Host.objects.values_list("pk", "name", "uri"))
    output = run()
    assert list(User.objects.values_list("pk", "username", "password")) == users
    assert list(Host.objects.values_list("pk", "name", "uri")) == hosts
    assert password_file(settings).read_text() == password
    assert "(added)" not in output


def test_no_admin_is_made_when_a_superuser_already_exists(settings):
    User.objects.create_superuser("someone", "", "pw")
    run()
    assert list(User.objects.values_list("username", flat=True)) == ["someone"]
    assert not password_file(settings).exists()


def test_the_local_and_demo_hosts_are_registered():
    output = run()
    hosts = dict(Host.objects.values_list("name", "uri"))
    assert set(hosts) == {"local", "demo"}
    assert hosts["local"] == "qemu:///system"
    assert hosts["demo"].startswith("test://")
    demo_file = Path(hosts["demo"].removeprefix("test://"))
    assert demo_file.is_absolute()
    assert demo_file == DEMO_XML
    assert demo_file.exists()
    assert output.count("(added)") == 2


def test_the_local_uri_comes_from_the_environment(monkeypatch, settings):
    monkeypatch.setenv("VNETWEB_LOCAL_URI", "qemu+ssh://root@kvm1/system")
    reread(settings)
    run()
    assert Host.objects.get(name="local").uri == "qemu+ssh://root@kvm1/system"


def test_the_demo_host_can_be_left_out(monkeypatch, settings):
    monkeypatch.setenv("VNETWEB_DEMO_HOST", "false")
    reread(settings)
    run()
    assert list(Host.objects.values_list("name", flat=True)) == ["local"]


def test_a_moved_checkout_updates_the_demo_uri():
    Host.objects.create(name="demo", uri="test:///old/checkout/networks/demo/demo-host.xml")
    run()
    assert Host.objects.get(name="demo").uri == f"test://{DEMO_XML}"
    assert Host.objects.filter(name="demo").count() == 1


def test_an_edited_local_uri_is_left_alone():
    Host.objects.create(name="local", uri="qemu+ssh://root@elsewhere/system")
    run()
    assert Host.objects.get(name="local").uri == "qemu+ssh://root@elsewhere/system"


def test_refreshing_the_demo_host_records_its_six_networks():
    run()
    demo = Host.objects.get(name="demo")
    assert tasks.refresh(demo) is None
    modes = dict(Network.objects.filter(host=demo).values_list("name", "mode"))
    assert modes == {
        "default": "nat",
        "lab-routed": "route",
        "storage-isolated": "isolated",
        "dmz-open": "open",
        "lan-bridge": "bridge",
        "uplink-macvtap": "macvtap",
    }
    routed = Network.objects.get(host=demo, name="lab-routed")
    assert (routed.forward_dev, routed.ipv4, routed.ipv6) == (
        "eth0",
        "10.20.0.1/24",
        "fd00:20::1/64",
    )
    assert routed.addresses[0]["dhcp_hosts"] == 1
    macvtap = Network.objects.get(host=demo, name="uplink-macvtap")
    assert (macvtap.forward_dev, macvtap.bridge) == ("eth1", "")
    assert Network.objects.get(host=demo, name="lan-bridge").bridge == "br0"
    demo.refresh_from_db()
    assert demo.reachable is True
    assert demo.cpus == 8


def test_a_later_run_repeats_the_generated_login_while_it_still_works(settings):
    run()
    password = password_file(settings).read_text().strip()
    assert f"Login: admin / {password}" in run()


def test_a_later_run_forgets_the_generated_password_once_it_was_changed(settings):
    run()
    admin = User.objects.get()
    old = password_file(settings).read_text().strip()
    admin.set_password("a-new-and-long-password")
    admin.save()
    output = run()
    assert old not in output
    assert "the password you set" in output
    assert not password_file(settings).exists()


def test_a_local_uri_the_host_form_would_refuse_stops_the_set_up_and_registers_nothing(
    monkeypatch, settings
):
    monkeypatch.setenv("VNETWEB_LOCAL_URI", "qemu+ssh://root@kvm1/system?command=/bin/sh")
    reread(settings)
    with pytest.raises(CommandError, match="does not take the URI parameter command"):
        run()
    assert not Host.objects.exists()
