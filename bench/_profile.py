"""Where a busy site's time goes: the web processes sampled with py-spy, and PostgreSQL's
statements timed by the server itself, over the same window (bench/fleet.py --profile DIR).

    with Profile(out_dir, web_pids, database_url, seconds=25):
        ... the load ...
    print(summary(out_dir))

- web: `py-spy record --format raw` of each web process (100 samples a second, without pausing
  them), summed into the share of samples each function of the request path is on the stack of;
- PostgreSQL: `log_min_duration_statement = 0` for the window (ALTER SYSTEM, reloaded; the bench's
  own cluster only), then the statements of its log grouped by shape (literals and numbers blanked)
  with their total and mean milliseconds.

py-spy comes with requirements-dev.txt (`setup.sh --test`); it needs ptrace, which root has.
"""

import collections
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# The frames that tell the request path apart: the project's and the libraries it leans on.
PATH_FRAMES = re.compile(
    r"networks/|vnetweb/|jinja2/environment|django/(template|db/models/query\.py|contrib/sessions|"
    r"contrib/auth/middleware|middleware/csrf)|psycopg/cursor|a2wsgi"
)
SHOWN = 30


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(found, os.X_OK):
        raise RuntimeError("no py-spy: scripts/setup.sh --test installs it (requirements-dev.txt)")
    return found


class Profile:
    def __init__(self, out: Path, web_pids: list[int], database_url: str, seconds: float) -> None:
        self.out, self.pids, self.url, self.seconds = out, web_pids, database_url, seconds
        self.spies: list[subprocess.Popen] = []
        self.log_path: Path | None = None
        self.log_start = 0

    def __enter__(self) -> "Profile":
        self.out.mkdir(parents=True, exist_ok=True)
        self.log_path = Path(self._sql("SELECT current_setting('data_directory')")).parent
        self.log_path /= "server.log"  # bench/_services.py: the cluster's log beside its data
        self.log_start = self.log_path.stat().st_size
        self._set_statement_log(True)
        self.spies = [
            subprocess.Popen(
                [
                    *(py_spy(), "record", "--pid", str(pid), "--duration", str(int(self.seconds))),
                    *("--rate", "100", "--format", "raw", "--nonblocking"),
                    *("--output", str(self.out / f"web-{pid}.txt")),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid in self.pids
        ]
        return self

    def __exit__(self, *exc) -> None:
        for spy in self.spies:
            try:
                spy.wait(timeout=self.seconds + 30)
            except subprocess.TimeoutExpired:
                spy.kill()
        self._set_statement_log(False)
        assert self.log_path is not None
        with open(self.log_path, "rb") as log:
            log.seek(self.log_start)
            (self.out / "postgresql.log").write_bytes(log.read())

    def _sql(self, statement: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
        return str(row[0]) if row else ""

    def _set_statement_log(self, on: bool) -> None:
        self._sql(f"ALTER SYSTEM SET log_min_duration_statement = {0 if on else -1}")
        self._sql("SELECT pg_reload_conf()")


def web_shares(paths: list[Path]) -> tuple[int, list[tuple[float, str]]]:
    """Samples in all, and per function of the request path the share of samples (%) with it on
    the stack (once per sample however deep)."""
    on_stack: collections.Counter[str] = collections.Counter()
    total = 0
    for path in paths:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            total += int(count)
            for frame in {re.sub(r":\d+\)", ")", f) for f in stack.split(";")}:
                if PATH_FRAMES.search(frame):
                    on_stack[frame] += int(count)
    top = [(100 * n / max(1, total), frame) for frame, n in on_stack.most_common(SHOWN)]
    return total, top


def statement_totals(log: Path) -> tuple[float, int, list[tuple[float, int, str]]]:
    """Milliseconds and statements in all, and per statement shape (total ms, count, shape)."""
    ms: collections.Counter[str] = collections.Counter()
    count: collections.Counter[str] = collections.Counter()
    for line in log.read_text(errors="replace").splitlines():
        found = re.search(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)", line)
        if not found:
            continue
        shape = re.sub(r"'[^']*'", "?", found.group(2))
        shape = re.sub(r"\b\d+\b", "N", shape)
        shape = re.sub(r"(N, )+N", "N…", shape)
        shape = re.sub(r"SELECT .*? FROM", "SELECT … FROM", shape, count=1)[:200]
        ms[shape] += float(found.group(1))
        count[shape] += 1
    rows = [(total, count[shape], shape) for shape, total in ms.most_common(12)]
    return sum(ms.values()), sum(count.values()), rows


def summary(out: Path) -> str:
    total, top = web_shares(sorted(out.glob("web-*.txt")))
    lines = [f"web processes: {total} samples; share of samples with the function on the stack:"]
    lines += [f"  {share:5.1f} %  {frame}" for share, frame in top]
    log = out / "postgresql.log"
    if log.exists():
        ms, n, rows = statement_totals(log)
        lines.append(f"PostgreSQL: {n} statements, {ms:.0f} ms in all; the costliest shapes:")
        lines += [
            f"  {100 * t / max(ms, 1):5.1f} %  {t:7.0f} ms  {c:5d}x  {t / c:6.2f} ms  {shape}"
            for t, c, shape in rows
        ]
    text = "\n".join(lines)
    (out / "summary.txt").write_text(text + "\n")
    return text
