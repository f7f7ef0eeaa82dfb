"""The benches' programs: each in a process group of its own, stopped as a whole on the way out,
and their CPU and memory read from /proc with all their descendants.

    with Programs(tmp, env, REPO) as programs:     # stops every group, also on failure
        programs.start("web", [...])
        cpu = tree_cpu(programs.pids("worker"))     # seconds, the workers and their children

A figure for a program covers the whole program (gunicorn's workers, Celery's pool, PostgreSQL's
backends), whichever process of it did the work.
"""

import os
import signal
import subprocess
from contextlib import suppress
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM to the process's group, SIGKILL to whatever of the group is left after `grace`
    seconds or after the leader has gone (its children may outlive it)."""
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        proc.wait(grace)
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def stop_all(procs: list[subprocess.Popen], grace: float) -> None:
    """SIGTERM to every group first, so that they stop side by side, then `stop` each in turn."""
    for proc in procs:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        stop(proc, grace)


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
        stop_all(list(self.procs.values()), 20)
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
