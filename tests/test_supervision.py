"""`make run`'s supervised stack (scripts/run.sh → supervisord): killing one process leaves the
site up, the killed one comes back, and Ctrl-C ends everything.

The stack runs on a free port, on the test database and the tests' Redis database, with its
supervisord files and logs in a temporary directory (so a developer's `make run` is not touched).
Web and beat run as the unprivileged `vnetweb` (scripts/setup.sh makes it), the workers as root.
"""

import http.cookiejar
import os
import pwd
import re
import signal
import stat
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from networks.jobs import create_job
from networks.models import Host, Job, Network
from networks.operations import Op
from networks.worker.tasks import refresh
from networks.workers import broadcast_sync
from tests.real import REPO, database_env, descendants, free_port, wait_for
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker]

WEB_USER = "vnetweb"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Stack:
    process: subprocess.Popen
    base_url: str
    env: dict[str, str]
    cookies: str = ""
    log: Path = field(default_factory=Path)

    def status(self) -> dict[str, tuple[str, int | None]]:
        """supervisorctl status: program → (state, pid)."""
        out = subprocess.run(
            [str(REPO / "scripts" / "run.sh"), "status"],
            env=self.env,
            capture_output=True,
            text=True,
        ).stdout
        programs = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2:
                pid = int(parts[3].rstrip(",")) if parts[2:3] == ["pid"] else None
                programs[parts[0]] = (parts[1], pid)
        return programs

    def running_pid(self, program: str) -> int | None:
        state, pid = self.status().get(program, ("", None))
        return pid if state == "RUNNING" else None

    def get(self, path: str) -> int:
        request = urllib.request.Request(self.base_url + path, headers={"Cookie": self.cookies})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return 0


def _give_the_web_user_the_test_database() -> None:
    """The web (as vnetweb) writes the SQLite test database and the journal files beside it, as an
    operator gives it a database kept outside the data directory."""
    if connection.vendor != "sqlite":
        return
    account = pwd.getpwnam(WEB_USER)
    folder = Path(connection.settings_dict["NAME"]).parent
    os.chown(folder, account.pw_uid, account.pw_gid)
    folder.chmod(0o700)


@pytest.fixture
def stack(transactional_db, settings, tmp_path) -> Iterator[Stack]:
    _give_the_web_user_the_test_database()
    # Not under tmp_path: pytest's folders above it are root's alone, and the web's user must
    # reach the data directory (run.sh makes it that user's, 0700).
    data_dir = tempfile.TemporaryDirectory(prefix="vnwt-data-")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        **database_env(),
        "VNETWEB_TEST_REDIS_URL": settings.CELERY_BROKER_URL,
        "VNETWEB_BIND": f"127.0.0.1:{port}",
        "VNETWEB_DATA_DIR": data_dir.name,
        "VNETWEB_RUN_DIR": str(tmp_path / "run"),
        "VNETWEB_LOG_DIR": str(tmp_path / "log"),
        "VNETWEB_ADMIN_PASSWORD": "vnwt-not-used",
        "VNETWEB_DEMO_HOST": "false",
    }
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        # Its own session, as a terminal would give `make run`: Ctrl-C goes to the whole group.
        process = subprocess.Popen(
            [str(REPO / "scripts" / "run.sh")],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = Stack(process, f"http://127.0.0.1:{port}", env, log=log)

    def up() -> bool:
        if process.poll() is not None:  # run.sh refused to start: say why at once
            pytest.fail(f"scripts/run.sh exited {process.returncode}:\n{log.read_text()}")
        return stack.get("/healthz/") == 200 and all(
            stack.running_pid(name) for name in ("web", "worker-hosts", "beat")
        )

    try:
        wait_for(
            up,
            timeout=40,
            message=f"the supervised stack did not come up; see {log} and {tmp_path}/log/",
        )
        yield stack
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        data_dir.cleanup()


def _log_in(stack: Stack, user: User) -> None:
    # The stack shares the test database, so a session made here is valid there.
    client = Client()
    client.force_login(user)
    stack.cookies = f"sessionid={client.cookies['sessionid'].value}"
    assert stack.get("/networks/") == 200


class Browser:
    """Logged in through the site's own login form, as a browser is: the web writes the session."""

    def __init__(self, stack: Stack, user: User, password: str):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        login = stack.base_url + "/accounts/login/"
        page = self.opener.open(login, timeout=10).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = {"csrfmiddlewaretoken": token, "username": user.username, "password": password}
        landed = self.opener.open(login, urllib.parse.urlencode(form).encode(), timeout=10)
        assert landed.url.endswith("/networks/"), f"the login did not go through: {landed.url}"

    def get(self, url: str) -> int:
        return self.opener.open(url, timeout=10).status

    def post(self, url: str) -> int:
        """A button's POST, with the CSRF token that htmx sends from the page."""
        token = next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")
        request = urllib.request.Request(url, data=b"", headers={"X-CSRFToken": token})
        return self.opener.open(request, timeout=10).status


def _uids(pid: int) -> set[int]:
    """Real, effective, saved and file-system user ids of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return {int(uid) for uid in line.split()[1:]}
    raise AssertionError(f"no Uid line for {pid}")


def _owner_and_mode(path: Path) -> tuple[str, int]:
    info = path.lstat()
    return pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode)


class Poller(threading.Thread):
    """Asks for a page every 100 ms and keeps every status code it got."""

    def __init__(self, stack: Stack, path: str):
        super().__init__(daemon=True)
        self.stack, self.path = stack, path
        self.codes: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.codes.append(self.stack.get(self.path))
            time.sleep(0.1)

    def stop(self) -> list[int]:
        self.done.set()
        self.join(10)
        return self.codes


def test_a_killed_worker_comes_back_while_pages_keep_answering_and_a_start_still_happens(
    stack, real_host, libvirt_network, operator
):
    net = libvirt_network()
    refresh(real_host)
    network = Network.objects.get(host=real_host, name=net.name)
    _log_in(stack, operator)
    # Beat's refresh reaching the host proves the worker serves its queue before the kill.
    wait_for(
        lambda: Host.objects.get(pk=real_host.pk).last_seen is not None,
        timeout=30,
        message="the stack's worker did not refresh the real host before the kill",
    )

    poller = Poller(stack, network.get_absolute_url())
    poller.start()
    old = stack.running_pid("worker-hosts")
    os.kill(old, signal.SIGKILL)
    killed = time.monotonic()
    start = create_job(operator, real_host, Op.START, network=network)

    back = wait_for(
        lambda: (pid := stack.running_pid("worker-hosts")) not in (None, old) and pid,
        timeout=10,
        message="supervisord did not bring the worker back within 10 s",
    )
    assert back != old
    back_after = time.monotonic() - killed
    wait_for(
        lambda: Job.objects.get(pk=start.pk).is_finished,
        timeout=30,
        message="the Start asked for during the restart was never carried out",
    )
    codes = poller.stop()
    start.refresh_from_db()
    assert start.state == Job.State.SUCCEEDED, start.message
    assert virsh_state(net.name)[0] == "active"
    assert len(codes) > 10
    assert set(codes) == {200}, f"pages answered {sorted(set(codes))} while the worker was down"
    assert back_after < 10


def test_a_killed_gunicorn_master_is_restarted_and_the_site_is_back(stack, operator):
    _log_in(stack, operator)
    old = stack.running_pid("web")
    old_workers = set(descendants(old))
    os.kill(old, signal.SIGKILL)
    wait_for(
        lambda: stack.running_pid("web") not in (None, old),
        timeout=10,
        message="supervisord did not restart gunicorn",
    )
    wait_for(lambda: stack.get("/networks/") == 200, timeout=10, message="the site did not return")
    # The old master's workers notice their parent is gone and leave.
    wait_for(
        lambda: not any(_alive(pid) for pid in old_workers),
        timeout=10,
        message=f"gunicorn workers of the killed master stayed: {old_workers}",
    )


def test_ctrl_c_stops_every_process_and_leaves_none_behind(stack):
    pids = set(descendants(stack.process.pid)) | {stack.process.pid}
    assert len(pids) >= 5, "expected supervisord, gunicorn and its workers, a worker and beat"
    os.killpg(stack.process.pid, signal.SIGINT)  # what the terminal sends on Ctrl-C
    assert stack.process.wait(30) == 0
    wait_for(
        lambda: not any(_alive(pid) for pid in pids),
        timeout=10,
        message=f"processes left after Ctrl-C: {[p for p in pids if _alive(p)]}",
    )
    assert stack.get("/healthz/") == 0, "something still answers on the stack's port"


def test_web_and_beat_run_as_the_unprivileged_user_and_only_the_workers_as_root(stack):
    web_user = pwd.getpwnam(WEB_USER).pw_uid
    web = stack.running_pid("web")
    gunicorn_workers = descendants(web)
    assert gunicorn_workers, "gunicorn's worker processes"
    for pid in [web, *gunicorn_workers]:
        assert _uids(pid) == {web_user}, f"web process {pid}"
    assert _uids(stack.running_pid("beat")) == {web_user}
    assert _uids(stack.running_pid("worker-hosts")) == {0}
    assert _uids(stack.process.pid) == {0}, "supervisord"


def test_the_data_directory_is_0700_and_the_secret_key_and_database_are_0600_the_web_users(stack):
    data_dir = Path(stack.env["VNETWEB_DATA_DIR"])
    assert _owner_and_mode(data_dir) == (WEB_USER, 0o700)
    assert _owner_and_mode(data_dir / "secret_key") == (WEB_USER, 0o600)
    if connection.vendor == "sqlite":
        assert _owner_and_mode(Path(connection.settings_dict["NAME"])) == (WEB_USER, 0o600)
    # Beat writes its schedule there as the web's user.
    schedule = wait_for(
        lambda: next(iter(data_dir.glob("celerybeat-schedule*")), None),
        timeout=20,
        message="beat wrote no schedule into the data directory",
    )
    assert _owner_and_mode(schedule)[0] == WEB_USER
    for root_only in ("VNETWEB_LOG_DIR", "VNETWEB_RUN_DIR"):
        assert _owner_and_mode(Path(stack.env[root_only])) == ("root", 0o700)


def test_a_start_asked_for_through_the_unprivileged_web_is_carried_out_by_the_root_worker(
    stack, real_host, libvirt_network, operator
):
    net = libvirt_network()
    refresh(real_host)
    # The host was made here, after the stack's worker subscribed to its hosts' queues: tell the
    # workers, as the site does when a host is added (else beat's look, every 30 s, would).
    broadcast_sync()
    network = Network.objects.get(host=real_host, name=net.name)
    browser = Browser(stack, operator, "pw-" + operator.username)
    page = stack.base_url + network.get_absolute_url()

    assert browser.post(f"{page}start/") == 200
    job = wait_for(
        lambda: Job.objects.filter(network=network, operation=Op.START).first(),
        timeout=10,
        message="the web did not record the Start",
    )
    wait_for(
        lambda: Job.objects.get(pk=job.pk).is_finished,
        timeout=30,
        message="the root worker never carried out the Start the web recorded",
    )
    job.refresh_from_db()
    assert job.state == Job.State.SUCCEEDED, job.message
    assert virsh_state(net.name)[0] == "active"
    # Root's writes (the worker's) left the database writable by the web: it still answers.
    assert browser.get(page) == 200
