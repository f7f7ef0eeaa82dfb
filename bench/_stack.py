"""The production web server and one Celery worker for the real host, for the benchmarks that
drive a browser against libvirt (bench/click_to_row.py, bench/freshness.py).

    with web_and_worker(tmp, env, "click") as base:
        ...  # base is http://127.0.0.1:<port>

Both run in process groups of their own, with `env`, logging to tmp/web.log and tmp/worker.log,
and are stopped (SIGTERM, then SIGKILL after 15 s) on the way out, also on failure.
"""

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _procs import stop_all
from _services import free_port

REPO = Path(__file__).resolve().parent.parent


@contextmanager
def web_and_worker(tmp: Path, env: dict[str, str], name: str) -> Iterator[str]:
    venv = Path(sys.executable).parent
    port = free_port()
    commands = {
        # The rest of the web server's settings come from gunicorn.conf.py, as for `make run`.
        "web": [str(venv / "gunicorn"), "vnetweb.asgi:application", "--bind", f"127.0.0.1:{port}"],
        "worker": [
            *(str(venv / "celery"), "-A", "vnetweb", "worker", "-Q", "vnetweb"),
            *("-n", f"{name}@%h", "--pool=threads", "--concurrency=4"),
            *("--without-mingle", "--without-gossip", "--loglevel=WARNING"),
        ],
    }
    procs: list[subprocess.Popen] = []
    try:
        for log, argv in commands.items():
            with open(tmp / f"{log}.log", "wb") as out:
                procs.append(
                    subprocess.Popen(
                        argv,
                        cwd=REPO,
                        env=env,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_all(procs, 15)
