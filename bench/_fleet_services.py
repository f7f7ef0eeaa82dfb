"""The fleet bench's own services and processes: a throw-away PostgreSQL 15 cluster, a Redis of its
own, and the site's programs (gunicorn, beat, Celery workers), all stopped on the way out.

    with ExitStack() as stack:
        database_url = stack.enter_context(postgres(tmp))
        redis_url = stack.enter_context(redis(tmp))
        procs = stack.enter_context(Programs(tmp, env))
        procs.start("web", [...])

Every program runs in a process group of its own; `Programs` stops each group (SIGTERM, then
SIGKILL after 20 s) also on failure. CPU and memory are read from /proc for a program and all its
descendants (`tree_cpu`, `tree_rss`), so that a figure covers a whole program.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_INSTALL = "apt-get install -y --no-install-recommends postgresql-15"
DB_NAME = DB_USER = "vnetweb"
DB_PASSWORD = "fleet-bench-password"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen | None, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited ({proc.returncode})")
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _as_postgres(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], check=True, **kwargs)


@contextmanager
def postgres(tmp: Path) -> Iterator[str]:
    """A PostgreSQL 15 cluster of its own in tmp/pg on a free loopback port, with a database and
    user for the site; yields its DATABASE_URL. Stopped (fast shutdown) on the way out."""
    if not (PG_BIN / "initdb").exists():
        raise SystemExit(f"PostgreSQL 15 is not installed here ({PG_BIN}): {PG_INSTALL}")
    data = tmp / "pg"
    data.mkdir()
    # The postgres user must reach its data directory under the bench's (root's) temporary one.
    tmp.chmod(0o755)
    shutil.chown(data, "postgres", "postgres")
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL}
    _as_postgres(str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", **quiet)
    options = (
        f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=400 "
        "-c shared_buffers=128MB"
    )
    log = data / "server.log"
    try:
        _as_postgres(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "start",
            **quiet,
        )
        psql = [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q"]
        for sql in (
            f"CREATE USER {DB_USER} PASSWORD '{DB_PASSWORD}'",
            f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}",
        ):
            _as_postgres(*psql, "-c", sql, **quiet)
        yield f"postgresql://{DB_USER}:{DB_PASSWORD}@127.0.0.1:{port}/{DB_NAME}"
    finally:
        with suppress(subprocess.CalledProcessError):
            _as_postgres(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(data),
                "-m",
                "fast",
                "-w",
                "stop",
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        pid = postmaster_pid(data)
        if pid:  # pg_ctl could not stop it: the postmaster and its backends go with SIGKILL
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def postmaster_pid(data: Path) -> int | None:
    """The cluster's postmaster, while it runs (first line of postmaster.pid)."""
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


@contextmanager
def redis(tmp: Path) -> Iterator[tuple[str, int]]:
    """A redis-server of the bench's own on a free loopback port, without persistence, so that
    its CPU and client list are the fleet's alone; yields (REDIS_URL, pid)."""
    port = free_port()
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp),
        "--maxclients",
        "4000",
    ]
    with open(tmp / "redis.log", "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        _stop_group(proc, 10)


def _stop_group(proc: subprocess.Popen, grace: float) -> None:
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Programs:
    """The site's programs, each in a process group of its own, logging to tmp/NAME.log."""

    def __init__(self, tmp: Path, env: dict[str, str], cwd: Path) -> None:
        self.tmp, self.env, self.cwd = tmp, env, cwd
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> "Programs":
        return self

    def __exit__(self, *_exc) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> int:
        with open(self.tmp / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env={**self.env, **(extra_env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc.pid

    def check(self) -> None:
        """Fail when a program has died (its log says why)."""
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = (self.tmp / f"{name}.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited ({proc.returncode}):\n{tail}")

    def pids(self, prefix: str = "") -> list[int]:
        return [p.pid for n, p in self.procs.items() if n.startswith(prefix)]

    def stop_all(self) -> None:
        for proc in self.procs.values():
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            _stop_group(proc, 20)
        self.procs.clear()


# --- /proc: CPU and memory of a program and its descendants --------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from 3 (state) on


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))):
            kids.setdefault(int(fields[1]), []).append(int(entry.name))
    return kids


def parent(pid: int) -> int | None:
    fields = _stat(pid)
    return int(fields[1]) if fields else None


def tree(roots: list[int]) -> list[int]:
    """The roots and all their descendants that are alive."""
    kids, out, todo = _children(), [], list(roots)
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            out.append(pid)
            todo.extend(kids.get(pid, []))
    return out


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system) of the roots and their descendants, with the children they
    have reaped (cutime + cstime)."""
    total = 0
    for pid in tree(roots):
        if fields := _stat(pid):
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / CLK_TCK


def tree_rss(roots: list[int]) -> int:
    """Resident bytes of the roots and their descendants."""
    total = 0
    for pid in tree(roots):
        with suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    return total
