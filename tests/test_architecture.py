"""Only networks/gateway/ may talk to libvirt: every other module goes through the gateway."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GATEWAY = REPO / "networks" / "gateway"
# Not the project's code: the virtualenv, git's own files, runtime data and caches.
SKIPPED_DIRS = {
    ".venv",
    ".git",
    "var",
    "__pycache__",
    "node_modules",
    ".ruff_cache",
    ".pytest_cache",
}


def _is_libvirt(module: str | None) -> bool:
    # libvirt-python ships `libvirt`, `libvirtmod`, `libvirt_qemu`, `libvirt_lxc`, `libvirtaio`.
    return bool(module) and module.split(".")[0].startswith("libvirt")


def libvirt_imports(source: str, filename: str = "<source>") -> list[int]:
    """Line numbers of every statement in `source` that imports a libvirt module."""
    lines = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            if any(_is_libvirt(alias.name) for alias in node.names):
                lines.append(node.lineno)
        # `from . import libvirt` (level > 0) is a local module, not libvirt's.
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _is_libvirt(node.module):
            lines.append(node.lineno)
    return lines


def project_files() -> list[Path]:
    files = []
    for path in REPO.rglob("*.py"):
        parts = set(path.relative_to(REPO).parts[:-1])
        if parts & SKIPPED_DIRS:
            continue
        files.append(path)
    return sorted(files)


def test_the_checker_catches_every_way_of_importing_libvirt():
    assert libvirt_imports("import libvirt\n") == [1]
    assert libvirt_imports("import os, libvirt as lv\n") == [1]
    assert libvirt_imports("from libvirt import libvirtError\n") == [1]
    assert libvirt_imports("x = 1\nif x:\n    import libvirt_qemu\n") == [3]
    assert libvirt_imports("def f():\n    from libvirt import open as o\n") == [2]
    assert libvirt_imports("import libvirtaio\n") == [1]


def test_the_checker_ignores_names_that_merely_mention_libvirt():
    source = (
        "from networks import gateway\n"
        "from . import libvirt_helpers\n"
        "import mylibvirt\n"
        "s = 'import libvirt'\n"
    )
    assert libvirt_imports(source) == []


def test_the_walk_covers_the_project_but_not_the_virtualenv():
    files = {path.relative_to(REPO).as_posix() for path in project_files()}
    for expected in (
        "manage.py",
        "networks/worker/tasks.py",
        "networks/views/networks.py",
        "vnetweb/settings.py",
        "tests/conftest.py",
        "networks/gateway/connection.py",
    ):
        assert expected in files
    assert not any(name.startswith(".venv/") for name in files)


def test_the_gateway_really_is_where_libvirt_is_imported():
    # Guards the check itself: if the gateway stopped importing libvirt under these names, the
    # checker would be looking for the wrong thing.
    importing = [
        path
        for path in project_files()
        if path.is_relative_to(GATEWAY) and libvirt_imports(path.read_text(), str(path))
    ]
    assert GATEWAY / "connection.py" in importing


def test_no_module_outside_the_gateway_imports_libvirt():
    offenders = []
    for path in project_files():
        if path.is_relative_to(GATEWAY):
            continue
        for line in libvirt_imports(path.read_text(), str(path)):
            offenders.append(f"{path.relative_to(REPO)}:{line}")
    assert offenders == [], "only networks/gateway/ may import libvirt: " + ", ".join(offenders)


@pytest.mark.parametrize("name", ["connection.py", "networks.py"])
def test_libvirt_is_imported_in_the_gateway_module(name):
    assert libvirt_imports((GATEWAY / name).read_text())


WEB_SIDE = """
import sys
import django

django.setup()
import networks.jobs, networks.operations, networks.urls, networks.views, vnetweb.urls
from celery import current_app

# Queueing a job as a request does (to an in-memory broker) must not pull in the worker's code.
current_app.send_task(networks.jobs.RUN_JOB, args=[1], queue="host.x")
loaded = sorted(m for m in sys.modules if m.split(".")[0].startswith("libvirt"))
loaded += sorted(m for m in sys.modules if m.startswith(("networks.gateway", "networks.worker.")))
print(",".join(loaded))
"""


def test_the_web_side_runs_without_loading_libvirt_or_the_gateway():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "VNETWEB_TEST_REDIS_URL": "memory://",
    }
    result = subprocess.run(
        [sys.executable, "-c", WEB_SIDE], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"the web side loaded {result.stdout.strip()}"


def test_the_check_above_would_see_libvirt_if_the_web_side_loaded_it():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    script = WEB_SIDE.replace(
        "import networks.jobs,", "import networks.worker.tasks, networks.jobs,"
    )
    script = script.replace("current_app.send_task(", "(lambda *a, **k: None)(")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "libvirt" in result.stdout.split(",")
