"""The container deployment (Dockerfile, docker-compose.yml) and Django's production checks.

These tests read the files, with no Docker engine (`make compose-check` builds and runs them,
tests/compose/): they pin what the deployment promises (only workers touch libvirt, every process
finds PostgreSQL and Redis, pins come from requirements.txt) and that `check --deploy` is clean
with production settings.
"""

import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
REQUIREMENTS = REPO / "requirements.txt"
DEPLOYMENT_DOC = REPO / "docs" / "deployment.md"

APP_SERVICES = ["web", "worker", "beat"]

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error} (Compose interpolation).
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's interpolation with every variable unset: defaults apply, required ones get 'x'."""

    def replace(match: re.Match) -> str:
        op = match.group("op") or ""
        return match.group("arg") if op.endswith("-") else "x"

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: interpolate(str(value)) for key, value in env.items()}


def command(service: dict) -> list[str]:
    cmd = service.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else [str(part) for part in cmd]


def mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of every volume, in either the short or the long syntax."""
    result = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            result.append((str(volume.get("source", "")), str(volume["target"])))
        else:
            parts = interpolate(volume).split(":")
            result.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return result


def is_celery(argv: list[str], subcommand: str) -> bool:
    return argv[:1] == ["celery"] and "-A" in argv and subcommand in argv


def test_compose_has_every_service(services):
    assert {"web", "worker", "beat", "redis", "postgres"} <= set(services)


def test_only_the_worker_mounts_libvirt(services):
    with_libvirt = {
        name
        for name, service in services.items()
        if any("libvirt" in source or "libvirt" in target for source, target in mounts(service))
    }
    assert with_libvirt == {"worker"}
    assert ("/run/libvirt", "/run/libvirt") in mounts(services["worker"])


@pytest.mark.parametrize("name", ["web", "beat"])
def test_web_and_beat_have_no_libvirt_at_all(services, name):
    service = services[name]
    assert not any("libvirt" in f"{s}:{t}" for s, t in mounts(service))
    assert "libvirt" not in str(service.get("devices", ""))
    assert service.get("user") in (None, "vnetweb", "10001"), "web and beat run unprivileged"


def test_web_and_beat_run_as_the_unprivileged_user_and_only_the_workers_as_root(services):
    users = [line.split()[1] for line in dockerfile_instructions() if line.startswith("USER ")]
    assert users[-1:] == ["vnetweb"], "the image's default user is the unprivileged one"
    assert services["web"]["user"] == services["beat"]["user"] == "vnetweb"
    as_root = {name for name, service in services.items() if service.get("user") in ("root", "0")}
    # The central worker too: libvirt's client runs ssh as its user, whose key it must own alone.
    assert as_root == {"worker", "central-worker"}


def test_the_images_data_directory_is_the_unprivileged_users_and_closed_to_others():
    runs = " ".join(line for line in dockerfile_instructions() if line.startswith("RUN "))
    assert "install -d -m 0700 -o vnetweb -g vnetweb /data" in runs


def server_command(argv: list[str]) -> list[str]:
    """The long-running program of a command, also when a shell runs set-up before `exec`ing it."""
    if argv[:2] == ["sh", "-c"]:
        script = shlex.split(argv[2])
        return script[script.index("exec") + 1 :] if "exec" in script else script
    return argv


def test_web_runs_gunicorn_on_port_8000(services):
    web = services["web"]
    argv = server_command(command(web))
    assert argv[:1] == ["gunicorn"]
    # ASGI: the pages' live-update streams must not each hold a worker thread.
    assert "vnetweb.asgi:application" in argv
    config = (REPO / "gunicorn.conf.py").read_text()
    assert 'worker_class = "uvicorn_worker.UvicornWorker"' in config
    assert any(arg in ("--bind=0.0.0.0:8000", "0.0.0.0:8000") for arg in argv)
    assert any(str(port).endswith(":8000") for port in web.get("ports", []))


def test_worker_runs_a_celery_worker_on_the_control_queue(services):
    argv = command(services["worker"])
    assert is_celery(argv, "worker")
    assert argv[argv.index("-A") + 1] == "vnetweb"
    # Every worker must consume the control queue; host queues are added at run time.
    assert "vnetweb" in argv[argv.index("-Q") + 1].split(",")
    assert "--pool=threads" in argv


def test_every_celery_worker_consumes_the_control_queue(services):
    workers = {name: command(s) for name, s in services.items() if is_celery(command(s), "worker")}
    assert "worker" in workers
    for name, argv in workers.items():
        assert "vnetweb" in argv[argv.index("-Q") + 1].split(","), name


def test_beat_runs_celery_beat_with_its_schedule_on_a_volume(services):
    beat = services["beat"]
    argv = command(beat)
    assert is_celery(argv, "beat")
    schedule = argv[argv.index("--schedule") + 1]
    assert any(schedule.startswith(target.rstrip("/") + "/") for _, target in mounts(beat))


def published_port(service: dict) -> tuple[str, int, int]:
    """(host address, host port, container port) of a service's one published port."""
    (spec,) = service["ports"]
    address, host_port, container_port = interpolate(str(spec)).split(":")
    return address, int(host_port), int(container_port)


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_use_postgres_and_redis(services, name):
    env = environment(services[name])
    database = urlsplit(env["DATABASE_URL"])
    redis = urlsplit(env["REDIS_URL"])
    assert database.scheme in ("postgres", "postgresql")
    assert database.path == "/vnetweb"
    assert redis.scheme == "redis"
    if services[name].get("network_mode") == "host":
        # Service names do not resolve in the host's network: the ports published on loopback.
        assert (database.hostname, database.port) == published_port(services["postgres"])[:2]
        assert (redis.hostname, redis.port) == published_port(services["redis"])[:2]
    else:
        assert database.hostname == "postgres"
        assert redis.hostname == "redis"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_require_a_secret_key_from_outside(services, name):
    raw = services[name]["environment"]["VNETWEB_SECRET_KEY"]
    assert raw.startswith("${VNETWEB_SECRET_KEY:?"), "no default and no literal key in the file"


@pytest.mark.parametrize("name", ["web", "worker"])
def test_app_services_wait_for_healthy_postgres_and_redis(services, name):
    # Through `migrate`, which starts only once both are healthy and must succeed first.
    assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    depends = services["migrate"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_postgres_and_redis_have_healthchecks(services, name):
    assert services[name]["healthcheck"]["test"]


def test_postgres_and_redis_images(services):
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["redis"]["image"].startswith("redis:7")
    assert any(target == "/var/lib/postgresql/data" for _, target in mounts(services["postgres"]))


def test_migrations_run_once_before_the_app_starts(services):
    argv = command(services["migrate"])
    if argv[:2] == ["sh", "-c"]:
        argv = shlex.split(argv[2])
    assert argv[:3] == ["python", "manage.py", "migrate"]
    for name in APP_SERVICES:
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def dockerfile_instructions() -> list[str]:
    """Instructions of the Dockerfile, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in joined.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_dockerfile_installs_from_requirements_txt():
    runs = [line for line in dockerfile_instructions() if line.startswith("RUN ")]
    installs = [line for line in runs if re.search(r"pip install .*-r \S*requirements\.txt", line)]
    assert installs, "the image must install the pinned requirements.txt"
    assert any(line.startswith("COPY requirements.txt") for line in dockerfile_instructions())


def test_dockerfile_base_image_and_default_command():
    lines = dockerfile_instructions()
    froms = [line for line in lines if line.startswith("FROM ")]
    # Debian 12 with its own Python 3.11, as under `make run`.
    assert froms and all("debian:bookworm-slim" in line for line in froms)
    cmd = [line for line in lines if line.startswith("CMD ")][-1]
    assert "gunicorn" in cmd and "0.0.0.0:8000" in cmd


def test_dockerfile_secret_key_is_for_the_build_step_only():
    lines = dockerfile_instructions()
    assert not any(
        line.startswith(("ENV ", "ARG ")) and "VNETWEB_SECRET_KEY" in line for line in lines
    )
    collect = [line for line in lines if "collectstatic" in line]
    assert collect and "VNETWEB_SECRET_KEY=build-only" in collect[0]
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assert "VNETWEB_DATA_DIR=/data" in env
    assert "VNETWEB_STATIC_ROOT=/app/" in env


def test_dockerignore_keeps_the_virtualenv_and_data_out():
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git"} <= set(ignored)


def test_every_requirement_is_pinned_exactly():
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    requirements = [Requirement(line) for line in lines if line]
    assert requirements
    for req in requirements:
        specs = list(req.specifier)
        assert len(specs) == 1 and specs[0].operator == "==", f"{req} must be pinned with =="


# --- Django's deployment checks, in a fresh process with production settings ------------------


def manage(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VNETWEB_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))
    }
    clean.update(DJANGO_SETTINGS_MODULE="vnetweb.settings", VNETWEB_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        "VNETWEB_SECRET_KEY": secrets.token_urlsafe(60),
        "VNETWEB_HTTPS": "true",
        "VNETWEB_DEBUG": "false",
        "VNETWEB_ALLOWED_HOSTS": "vnetweb.example.org",
    }
    env.update(overrides)
    return env


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", tmp_path=tmp_path, **production_env()
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    # The key came from the environment: nothing was written into the data directory.
    assert not (tmp_path / "secret_key").exists()


def test_check_deploy_fails_on_plain_http(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        **production_env(VNETWEB_HTTPS="false"),
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W012" in output  # SESSION_COOKIE_SECURE
    assert "security.W016" in output  # CSRF_COOKIE_SECURE


def test_a_bad_boolean_stops_manage_py_naming_the_variable(tmp_path):
    result = manage("check", tmp_path=tmp_path, **production_env(VNETWEB_DEBUG="yes"))
    assert result.returncode != 0
    assert "VNETWEB_DEBUG must be 'true' or 'false'" in result.stderr


# --- docs/deployment.md lists every variable the code reads -------------------------------------

_PY_READ = re.compile(
    r"""(?:env_(?:str|bool|int|list)\(|os\.environ(?:\.get)?[\[(]|os\.getenv\()\s*f?["'](\w+)["']"""
)
_SH_READ = re.compile(r"\$\{(\w+)(?::?[-=?+][^}]*)?\}")
_SHELL_OWN = {"PATH", "PWD", "HOME"}


def variables_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for folder in ("vnetweb", "networks", "scripts"):
        for path in (REPO / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                names |= set(_PY_READ.findall(path.read_text()))
    for path in (REPO / "scripts").glob("*.sh"):
        names |= set(_SH_READ.findall(path.read_text()))
    return {name for name in names if name.isupper()} - _SHELL_OWN - {"DJANGO_SETTINGS_MODULE"}


def test_deployment_doc_lists_every_environment_variable():
    names = variables_read_by_the_code()
    assert {"VNETWEB_SECRET_KEY", "DATABASE_URL", "VNETWEB_WORKER_HOSTS", "VNETWEB_BIND"} <= names
    doc = DEPLOYMENT_DOC.read_text()
    missing = sorted(name for name in names if f"`{name}`" not in doc)
    assert not missing, f"docs/deployment.md does not describe {missing}"


@pytest.mark.parametrize(
    ("name", "check"),
    [("web", ["web"]), ("worker", ["worker", "worker"]), ("demo-worker", ["worker", "demo"])],
)
def test_app_services_restart_after_a_crash_and_check_their_own_health(services, name, check):
    service = services[name]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "vnetweb.container_check",
        *check,
    ]
    if name != "web":
        # The node name the check pings must be the one the worker is started with.
        assert f"-n {check[1]}@%h" in " ".join(command(service))


def test_beat_restarts_and_its_health_check_reads_the_schedule_it_writes(services):
    beat = services["beat"]
    assert beat["restart"] == "unless-stopped"
    schedule = command(beat)[command(beat).index("--schedule") + 1]
    assert beat["healthcheck"]["test"][-2:] == ["beat", schedule]


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_postgres_and_redis_restart_after_a_crash(services, name):
    assert services[name]["restart"] == "unless-stopped"
