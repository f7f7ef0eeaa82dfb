"""A Redis and a PostgreSQL of the bench's own, on free ports, bound to loopback and to whatever
other local addresses are given (a hub bridge's, for workers in namespaces: bench/_netns.py).
The one place the benches and tests/test_fleet_links_real.py start them from.

    with redis_server(tmp, ["127.0.0.1", hub.address]) as redis, \\
         postgres_cluster(tmp, ["127.0.0.1", hub.address], "10.213.253.0/24") as pg:
        redis.url(hub.address)  # redis://10.213.253.1:PORT/0
        pg.url(hub.address)     # postgresql://vnwt:…@10.213.253.1:PORT/vnwt
        redis.pid, pg.pid       # the server processes, for CPU accounting (bench/_procs.py)

Neither touches the machine's own services (Redis on 6379, Debian's PostgreSQL cluster) or any
file outside `tmp`; both stop on the way out, also on failure. PostgreSQL refuses to run as
root: the cluster runs as the `postgres` user Debian's package makes (setpriv, no login).
"""

import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from _procs import stop

# Debian's newest PostgreSQL (package postgresql: 15 on Debian 12).
PG_BIN = max(
    (path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()),
    key=lambda path: int(path.parent.name),
    default=Path("/usr/lib/postgresql/15/bin"),
)
PG_USER = "postgres"  # the system user the server runs as
ROLE = DATABASE = "vnwt"


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    """Until something accepts connections on 127.0.0.1:PORT; fails with the end of `log` when
    `proc` exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"{proc.args[0]} did not listen on {port}: {tail}")
        time.sleep(0.1)


@dataclass
class Redis:
    port: int
    pid: int

    def url(self, address: str = "127.0.0.1") -> str:
        return f"redis://{address}:{self.port}/0"


@contextmanager
def redis_server(tmp: Path, binds: list[str]) -> Iterator[Redis]:
    """redis-server on a free port, no persistence (its CPU and client list are the bench's
    alone); room for the fleet's clients (200 streams, 50 browsers, workers)."""
    port = free_port()
    log = tmp / "redis.log"
    argv = [
        *("redis-server", "--port", str(port), "--bind", " ".join(binds)),
        *("--save", "", "--appendonly", "no", "--dir", str(tmp), "--logfile", str(log)),
        *("--protected-mode", "no", "--daemonize", "no", "--maxclients", "4000"),
    ]
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        log.touch()
        wait_port(port, proc, log)
        yield Redis(port, proc.pid)
    finally:
        stop(proc)


@dataclass
class Postgres:
    port: int
    password: str
    pid: int  # the postmaster: its backends are its children

    def url(self, address: str = "127.0.0.1") -> str:
        return f"postgresql://{ROLE}:{self.password}@{address}:{self.port}/{DATABASE}"


def _as_postgres(argv: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups", *argv]


@contextmanager
def postgres_cluster(
    tmp: Path, binds: list[str], allow: str = "", durable: bool = False
) -> Iterator[Postgres]:
    """A fresh cluster (initdb, ~2 s) in a folder of its own under /tmp (`tmp` may be closed to
    the postgres user), removed afterwards; its database and role `vnwt` with a generated
    password; connections over TCP from loopback and from the network `allow` (CIDR) need it.
    Commits are not flushed to disk unless `durable` (bench/fleet.py: write latency as in
    production)."""
    if not (PG_BIN / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL in {PG_BIN}: scripts/setup.sh --test installs it")
    data = Path(tempfile.mkdtemp(prefix="vnwt-pg-"))
    try:
        shutil.chown(data, PG_USER, PG_USER)
        with _cluster(data, binds, allow, durable) as pg:
            yield pg
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def _cluster(data: Path, binds: list[str], allow: str, durable: bool) -> Iterator[Postgres]:
    password = secrets.token_urlsafe(16)
    pwfile = data / "pw"
    pwfile.write_text(password + "\n")
    shutil.chown(pwfile, PG_USER, PG_USER)
    done = subprocess.run(
        _as_postgres(
            [
                *(str(PG_BIN / "initdb"), "-D", str(data / "db"), "-U", ROLE),
                *("--pwfile", str(pwfile), "--auth-local=peer", "--auth-host=scram-sha-256"),
                "--no-sync",
            ]
        ),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
    pwfile.unlink()
    if allow:
        with open(data / "db" / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {allow} scram-sha-256\n")
    port = free_port()
    log = data / "server.log"
    argv = [
        *(str(PG_BIN / "postgres"), "-D", str(data / "db"), "-p", str(port)),
        *("-c", f"listen_addresses={','.join(binds)}", "-c", f"unix_socket_directories={data}"),
        *("-c", "max_connections=400"),
    ]
    if not durable:
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _as_postgres(argv), start_new_session=True, stdout=out, stderr=subprocess.STDOUT
        )
    shutil.chown(log, PG_USER, PG_USER)
    try:
        wait_port(port, proc, log)
        pg = Postgres(port, password, proc.pid)  # setpriv execs postgres: the same pid
        _create_database(pg)
        yield pg
    finally:
        stop(proc, grace=20)


def _create_database(pg: Postgres) -> None:
    import psycopg

    deadline = time.monotonic() + 20
    while True:
        try:
            conn = psycopg.connect(pg.url().rsplit("/", 1)[0] + "/postgres", autocommit=True)
            break
        except psycopg.OperationalError:  # still starting up
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
