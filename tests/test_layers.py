"""The shape of the code: no import cycles, and no import from a lower layer to a higher one.

Layers, lowest first (docs/architecture.md draws them):
- base: the project's settings and pure code (the typed spec, definition versions, URIs, roles);
- gateway: the one door to libvirt (networks/gateway/);
- shared: what the web and the worker both use (models, permissions, the operation registry, jobs,
  audit, the live channel, what the web knows of workers);
- worker (networks/worker/) and web (views, pages, forms, templates' tags, admin, URLs) on top,
  side by side: neither imports the other, and the web never imports the gateway.

Every import counts, also one inside a function: a cycle patched with a late import is still one.
"""

import ast
from pathlib import Path

import pytest

from tests.sources import REPO, python_files

BASE = (
    "vnetweb",
    "vnetweb.celery",
    "vnetweb.env",
    "vnetweb.settings",
    "vnetweb.private_files",
    "networks.spec",
    "networks.versions",
    "networks.host_uri",
    "networks.subnets",
    "networks.roles",
)
GATEWAY = ("networks.gateway",)
WORKER = ("networks.worker",)
SHARED = (
    "networks",
    "networks.models",
    "networks.permissions",
    "networks.operations",
    "networks.jobs",
    "networks.audit",
    "networks.live",
    "networks.workers",
    "networks.redis_client",
    "networks.spec_compare",
    "networks.stale",
    "networks.port_forwards",
    "networks.forwards_jobs",
)
# Which layers each layer may import (its own included).
MAY_IMPORT = {
    "base": {"base"},
    "gateway": {"base", "gateway"},
    "shared": {"base", "shared"},
    "worker": {"base", "gateway", "shared", "worker"},
    "web": {"base", "shared", "web"},
}


def layer(module: str) -> str:
    def under(prefixes: tuple[str, ...], exact: bool = False) -> bool:
        return any(module == p or (not exact and module.startswith(p + ".")) for p in prefixes)

    if under(GATEWAY):
        return "gateway"
    if under(WORKER):
        return "worker"
    if under(("networks.spec", "networks.stale")):
        return "base" if module.startswith("networks.spec") else "shared"
    if under(BASE, exact=True):
        return "base"
    if under(SHARED, exact=True):
        return "shared"
    return "web"


def modules() -> dict[str, Path]:
    found = {}
    for path in python_files():
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project's modules that `name` imports, anywhere in it (`from pkg import sub` counts as
    importing the submodule `sub`; `from pkg import something` as importing `pkg`)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            subs = {f"{base}.{alias.name}" for alias in node.names}
            found |= {sub for sub in subs if sub in known} or {base}
            if any(f"{base}.{alias.name}" not in known for alias in node.names):
                found.add(base)
    found.discard(name)
    return {module for module in found if module in known}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_checker_finds_a_cycle_and_a_late_import_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    source = "def f():\n    from networks import models\n"
    path = REPO / "networks" / "_probe_for_the_test.py"
    known = {"networks.models": Path(), "networks._probe_for_the_test": path}
    path.write_text(source)
    try:
        assert imports_of("networks._probe_for_the_test", path, known) == {"networks.models"}
    finally:
        path.unlink()


def test_the_checker_places_modules_in_their_layers():
    assert layer("networks.gateway.changes") == "gateway"
    assert layer("networks.worker.tasks") == "worker"
    assert layer("networks.spec.xml") == "base"
    assert layer("networks.stale.nics") == "shared"
    assert layer("networks.models") == "shared"
    assert layer("networks.views.networks") == "web"
    assert layer("networks.pages.topology") == "web"
    assert layer("vnetweb.asgi") == "web"
    assert layer("vnetweb.settings") == "base"


def test_there_is_no_import_cycle():
    assert cycles(graph()) == []


@pytest.mark.parametrize("kind", sorted(MAY_IMPORT))
def test_no_layer_imports_one_it_may_not(kind):
    offenders = [
        f"{name} ({kind}) imports {dep} ({layer(dep)})"
        for name, deps in sorted(graph().items())
        if layer(name) == kind
        for dep in sorted(deps)
        if layer(dep) not in MAY_IMPORT[kind]
    ]
    assert offenders == []


def test_the_worker_and_the_web_each_have_their_own_room():
    names = set(modules())
    assert {"networks.worker.tasks", "networks.worker.hooks", "networks.worker.monitor"} <= names
    loose = {n for n in names if n.count(".") == 1 and n.startswith("networks.")}
    assert not loose & {"networks.tasks", "networks.monitor", "networks.sync", "networks.topology"}
