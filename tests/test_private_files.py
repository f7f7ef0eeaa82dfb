"""The generated secret key and first admin password are private from their first byte on, in a
data directory made 0700: watched from inside a process that creates them under umask 0, where a
file written first and made 0600 after would be seen world-readable."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from vnetweb.private_files import write_private

REPO = Path(__file__).resolve().parent.parent

# Runs in a fresh interpreter: an audit hook looks at every file in the data directory before
# each file operation the process makes, so a moment where one is open to others is caught.
WATCHER = """
import json, os, stat, sys
data = os.environ["VNETWEB_DATA_DIR"]
modes, busy = {}, [False]

def look(event, args):
    if busy[0] or not event.startswith(("open", "os.")):
        return
    busy[0] = True
    try:
        for root, dirs, files in os.walk(data):
            for name in [*dirs, *files]:
                path = os.path.join(root, name)
                mode = stat.S_IMODE(os.lstat(path).st_mode)
                modes[path] = modes.get(path, 0) | mode
        if os.path.isdir(data):
            modes[data] = modes.get(data, 0) | stat.S_IMODE(os.stat(data).st_mode)
    finally:
        busy[0] = False

sys.addaudithook(look)
os.umask(0)
sys.path.insert(0, sys.argv[1])
from vnetweb import settings
look("os.final", ())
print(json.dumps({"key": settings.SECRET_KEY, "modes": modes}))
"""


def load_settings(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VNETWEB_SECRET_KEY")}
    env["VNETWEB_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", WATCHER, str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_settings_create_the_secret_key_0600_in_a_data_directory_made_0700(tmp_path):
    data = tmp_path / "var"
    seen = load_settings(data)
    key_file = data / "secret_key"
    assert key_file.read_text() == seen["key"]
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # At no moment was anything in it open to the group or others, umask 0 notwithstanding.
    assert seen["modes"], "the watcher saw the files"
    wider = {path: oct(mode) for path, mode in seen["modes"].items() if mode & 0o077}
    assert wider == {}
    assert sorted(p.name for p in data.iterdir()) == ["secret_key"], "no draft left behind"


def test_a_second_start_reads_the_same_key(tmp_path):
    first = load_settings(tmp_path / "var")["key"]
    assert load_settings(tmp_path / "var")["key"] == first


def test_a_data_directory_that_exists_is_left_as_it_is(tmp_path):
    data = tmp_path / "var"
    data.mkdir(mode=0o750)
    data.chmod(0o750)
    load_settings(data)
    assert stat.S_IMODE(data.stat().st_mode) == 0o750
    assert stat.S_IMODE((data / "secret_key").stat().st_mode) == 0o600


def test_a_file_that_exists_is_kept_unless_it_is_to_be_replaced(tmp_path):
    path = tmp_path / "secret"
    assert write_private(path, "first") is True
    assert write_private(path, "second") is False
    assert path.read_text() == "first"
    assert write_private(path, "third", replace=True) is True
    assert path.read_text() == "third"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("replace", [False, True])
def test_a_link_put_where_the_file_goes_is_never_written_through(tmp_path, replace):
    target = tmp_path / "elsewhere"
    target.write_text("untouched")
    path = tmp_path / "data" / "initial-admin-password"
    path.parent.mkdir()
    path.symlink_to(target)
    write_private(path, "secret", replace=replace)
    assert target.read_text() == "untouched"
    if replace:
        assert not path.is_symlink()
        assert path.read_text() == "secret"
