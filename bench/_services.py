"""A Redis and a PostgreSQL of the bench's own, on free ports, bound to loopback and to whatever
other local addresses are given (a hub bridge's, for workers in namespaces: bench/_netns.py).

    with redis_server(tmp, ["127.0.0.1", hub.address]) as redis_port, \\
         postgres_cluster(tmp, ["127.0.0.1", hub.address], "10.213.253.0/24") as pg:
        pg.url(hub.address)   # postgresql://vnwt:…@10.213.253.1:PORT/vnwt

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

from _netns import stop

# Debian's newest PostgreSQL (package postgresql: 15 on Debian 12).
PG_BIN = max(
    (path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()),
    key=lambda path: int(path.parent.name),
    default=Path("/usr/lib/postgresql/15/bin"),
)
PG_USER = "postgres"  # the system user the server runs as
ROLE = DATABASE = "vnwt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text()[-2000:]
            raise RuntimeError(f"{proc.args[0]} did not listen on {port}: {tail}")
        time.sleep(0.1)


@contextmanager
def redis_server(tmp: Path, binds: list[str]) -> Iterator[int]:
    """redis-server on a free port, no persistence; yields the port."""
    port = free_port()
    log = tmp / "redis.log"
    argv = [
        *("redis-server", "--port", str(port), "--bind", " ".join(binds)),
        *("--save", "", "--appendonly", "no", "--dir", str(tmp), "--logfile", str(log)),
        *("--protected-mode", "no", "--daemonize", "no"),
    ]
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        log.touch()
        _wait_port(port, proc, log)
        yield port
    finally:
        stop(proc)


@dataclass
class Postgres:
    port: int
    password: str

    def url(self, address: str = "127.0.0.1") -> str:
        return f"postgresql://{ROLE}:{self.password}@{address}:{self.port}/{DATABASE}"


def _as_postgres(argv: list[str]) -> list[str]:
    return ["setpriv", f"--reuid={PG_USER}", f"--regid={PG_USER}", "--init-groups", *argv]


@contextmanager
def postgres_cluster(tmp: Path, binds: list[str], allow: str = "") -> Iterator[Postgres]:
    """A fresh cluster (initdb, ~2 s) in a folder of its own under /tmp (`tmp` may be closed to
    the postgres user), removed afterwards; its database and role `vnwt` with a generated
    password; connections over TCP from loopback and from the network `allow` (CIDR) need it."""
    if not (PG_BIN / "postgres").exists():
        raise RuntimeError(f"no PostgreSQL in {PG_BIN}: scripts/setup.sh --test installs it")
    data = Path(tempfile.mkdtemp(prefix="vnwt-pg-"))
    try:
        shutil.chown(data, PG_USER, PG_USER)
        with _cluster(data, binds, allow) as pg:
            yield pg
    finally:
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def _cluster(data: Path, binds: list[str], allow: str) -> Iterator[Postgres]:
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
        *("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"),
        *("-c", "max_connections=300"),
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            _as_postgres(argv), start_new_session=True, stdout=out, stderr=subprocess.STDOUT
        )
    shutil.chown(log, PG_USER, PG_USER)
    try:
        _wait_port(port, proc, log)
        pg = Postgres(port, password)
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
