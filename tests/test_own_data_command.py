"""`manage.py vnetweb_own_data`: what `make run` gives the unprivileged user the web and beat
run as, and the links it refuses to follow. Run as root, as `make run` and these tests are."""

import os
import pwd
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from networks.management.commands import vnetweb_own_data

USER = "nobody"  # any unprivileged account: the tests need not depend on setup.sh's user


@pytest.fixture
def data_dir(settings, tmp_path, monkeypatch) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    settings.STATIC_ROOT = tmp_path / "data" / "static"
    monkeypatch.setattr(vnetweb_own_data, "_sqlite_file", lambda: tmp_path / "data" / "db.sqlite3")
    return tmp_path / "data"


def owner_and_mode(path: Path) -> tuple[str, int]:
    info = path.lstat()
    return pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode)


def test_it_makes_the_data_directory_the_users_and_closes_it_to_others(data_dir):
    data_dir.mkdir(mode=0o755)
    call_command("vnetweb_own_data", USER)
    assert owner_and_mode(data_dir) == (USER, 0o700)


def test_it_gives_the_user_the_secret_key_the_database_and_its_journals_as_0600(data_dir):
    data_dir.mkdir()
    for name in ("secret_key", "db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
        (data_dir / name).write_text("x")
        (data_dir / name).chmod(0o644)
    call_command("vnetweb_own_data", USER)
    for name in ("secret_key", "db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"):
        assert owner_and_mode(data_dir / name) == (USER, 0o600), name


def test_it_leaves_roots_own_files_such_as_the_first_admin_password_alone(data_dir):
    data_dir.mkdir()
    (data_dir / "initial-admin-password").write_text("x")
    (data_dir / "initial-admin-password").chmod(0o600)
    call_command("vnetweb_own_data", USER)
    assert owner_and_mode(data_dir / "initial-admin-password") == ("root", 0o600)


def test_it_refuses_to_hand_over_a_secret_key_that_is_a_link(data_dir, tmp_path):
    data_dir.mkdir()
    target = tmp_path / "roots-file"
    target.write_text("root's")
    (data_dir / "secret_key").symlink_to(target)
    with pytest.raises(CommandError, match="not a plain file"):
        call_command("vnetweb_own_data", USER)
    assert owner_and_mode(target)[0] == "root"


def test_it_refuses_a_log_directory_the_user_could_have_pointed_elsewhere(data_dir, tmp_path):
    data_dir.mkdir()
    (data_dir / "log").symlink_to(tmp_path)
    with pytest.raises(CommandError, match="directory of root's own"):
        call_command("vnetweb_own_data", USER, "--root-dir", str(data_dir / "log"))


def test_it_refuses_a_static_directory_owned_by_the_user(data_dir):
    (data_dir / "static").mkdir(parents=True)
    os.chown(data_dir / "static", pwd.getpwnam(USER).pw_uid, -1)
    with pytest.raises(CommandError, match="directory of root's own"):
        call_command("vnetweb_own_data", USER)


def test_a_database_outside_the_data_directory_needs_a_directory_the_user_can_write(
    data_dir, tmp_path, monkeypatch
):
    elsewhere = tmp_path / "db"
    elsewhere.mkdir(mode=0o755)
    monkeypatch.setattr(vnetweb_own_data, "_sqlite_file", lambda: elsewhere / "db.sqlite3")
    with pytest.raises(CommandError, match=f"chown {USER}: {elsewhere}"):
        call_command("vnetweb_own_data", USER)
    os.chown(elsewhere, pwd.getpwnam(USER).pw_uid, -1)
    call_command("vnetweb_own_data", USER)


def test_an_unknown_user_is_named_in_words(data_dir):
    with pytest.raises(CommandError, match="There is no user 'vnwt-nobody-here'"):
        call_command("vnetweb_own_data", "vnwt-nobody-here")
    assert not data_dir.exists()
