"""The compose stack under test: `make compose-check` (scripts/compose-check.sh) brings it up and
names it in the environment; without it these tests are not collected (`make test` has no stack)."""

import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.sources import REPO

PROJECT = os.environ.get("VNETWEB_COMPOSE_PROJECT", "")
if not PROJECT:
    collect_ignore_glob = ["test_*.py"]


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs if not key.startswith("#")}


@dataclass
class Stack:
    """The composed site: docker-compose with its project and .env, and what they set."""

    project: str
    env_file: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['VNETWEB_PORT']}"

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["docker-compose", "--project-name", self.project, "--env-file"]
        done = subprocess.run(
            [*command, str(self.env_file), *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and done.returncode:
            raise AssertionError(f"docker-compose {' '.join(args)}: {done.stdout}{done.stderr}")
        return done

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def inspect(self, service: str, template: str) -> str:
        done = subprocess.run(
            ["/usr/bin/docker", "inspect", "-f", template, self.container(service)],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def wait_healthy(self, *services: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for service in services:
            while self.inspect(service, "{{.State.Health.Status}}") != "healthy":
                if time.monotonic() > deadline:
                    logs = self.compose("logs", "--tail=30", "--no-color", service).stdout
                    raise AssertionError(f"{service} is not healthy after {timeout} s:\n{logs}")
                time.sleep(1)

    def admin_password(self) -> str:
        """What `docker compose logs web` says, as the README tells a new user to read it."""
        logs = self.compose("logs", "--no-color", "web").stdout
        found = re.findall(r"Login: admin / (\S+)", logs)
        assert found, f"no login line in the web's log:\n{logs[-2000:]}"
        return found[-1]

    def sql(self, query: str, *params) -> list[tuple]:
        """A query on the stack's PostgreSQL, through its loopback port: a witness of the volume."""
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=int(self.env["VNETWEB_POSTGRES_PORT"]),
            user="vnetweb",
            dbname="vnetweb",
            password=self.env["POSTGRES_PASSWORD"],
            connect_timeout=5,
        ) as connection:
            return connection.execute(query, params).fetchall()


@pytest.fixture(scope="session")
def stack() -> Stack:
    env_file = Path(os.environ["VNETWEB_COMPOSE_DIR"]) / ".env"
    stack = Stack(PROJECT, env_file, _read_env(env_file))
    stack.wait_healthy("postgres", "redis", "web", "worker", "beat")
    return stack
