"""One test run at a time on a machine.

Every run shares what the machine has only once: the test database's file (var/test.sqlite3 of a
checkout), Redis database 15 and its pub/sub channel, the real libvirtd (which a monitor test
restarts), the 10.213.0.0/16 pool and the ports the tests' workers, sshd and browsers use. Two
runs at once (two checkouts, a helper's run beside CI's) would take each other's jobs and rows,
so a second run waits here for the first, and says so.
"""

import fcntl
import os
import sys
import tempfile
from pathlib import Path

LOCK = Path(
    os.environ.get(
        "VNETWEB_TEST_LOCK",
        "/run/lock/vnetweb-tests.lock"
        if Path("/run/lock").is_dir()
        else Path(tempfile.gettempdir()) / "vnetweb-tests.lock",
    )
)
_held = None


def pytest_configure(config) -> None:
    global _held
    if hasattr(config, "workerinput"):  # an xdist worker: its controller holds the lock
        return
    handle = LOCK.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another run"
        print(
            f"Waiting for {holder} to finish: one vnetweb test run at a time ({LOCK}).",
            file=sys.stderr,
            flush=True,
        )
        fcntl.flock(handle, fcntl.LOCK_EX)
    handle.truncate(0)
    handle.write(f"pid {os.getpid()} in {Path.cwd()}\n")
    handle.flush()
    _held = handle


def pytest_unconfigure(config) -> None:
    global _held
    if _held is not None:
        _held.close()  # closing releases the lock
        _held = None
