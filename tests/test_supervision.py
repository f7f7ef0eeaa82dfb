"""`make run`'s supervised stack (scripts/run.sh → supervisord): killing one process leaves the
site up, the killed one comes back, and Ctrl-C ends everything.

The stack runs on a free port, on the test database and the tests' Redis database, with its
supervisord files and logs in a temporary directory (so a developer's `make run` is not touched).
"""

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from networks.jobs import create_job
from networks.models import Host, Job, Network
from networks.tasks import refresh
from tests.real import REPO, _test_database_url, descendants, free_port, wait_for
from tests.test_gateway_real import virsh_state

pytestmark = [pytest.mark.libvirt, pytest.mark.worker]


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


@pytest.fixture
def stack(transactional_db, settings, tmp_path) -> Iterator[Stack]:
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _test_database_url(),
        "VNETWEB_TEST_REDIS_URL": settings.CELERY_BROKER_URL,
        "VNETWEB_BIND": f"127.0.0.1:{port}",
        "VNETWEB_DATA_DIR": str(tmp_path / "data"),
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
    try:
        wait_for(
            lambda: stack.get("/healthz/") == 200
            and all(stack.running_pid(name) for name in ("web", "worker-hosts", "beat")),
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


def _log_in(stack: Stack, user: User) -> None:
    # The stack shares the test database, so a session made here is valid there.
    client = Client()
    client.force_login(user)
    stack.cookies = f"sessionid={client.cookies['sessionid'].value}"
    assert stack.get("/networks/") == 200


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
    start = create_job(operator, real_host, Job.Operation.START, network=network)

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
