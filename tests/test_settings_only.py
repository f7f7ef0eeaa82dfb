"""The environment is read in one place: vnetweb/settings.py (with its typed readers in
vnetweb/env.py). Everything else asks django.conf.settings, so a variable has one name, one
default and one parser, and docs/deployment.md's table has one column to be right about.

Walks the code that runs in the site's processes (networks/, vnetweb/, the entry points at the
top of the checkout) and fails on `os.environ`, `os.getenv` and `env_*(` anywhere else, except
entry points pointing Django at its settings module and the exceptions below, each with its
reason. scripts/, bench/ and tests/ are tools around the site, not part of it.
"""

import ast
from pathlib import Path

from tests.sources import REPO, python_files, relative

TOP_LEVEL = ("manage.py", "gunicorn.conf.py")
READERS = {"vnetweb/settings.py", "vnetweb/env.py"}
# (file, variable): why it is read there.
EXCEPTIONS = {
    ("gunicorn.conf.py", "VNETWEB_WEB_WORKERS"): (
        "gunicorn's own configuration, read by its master before any Django code is loaded"
    ),
}


def _name_read(call: ast.Call | None) -> str:
    """The variable a read names, when its first argument is a plain string ("" otherwise)."""
    if call and call.args and isinstance(call.args[0], ast.Constant):
        return str(call.args[0].value)
    return ""


def _is_os_attr(node: ast.AST, attr: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == attr
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def _is_settings_module_default(call: ast.Call) -> bool:
    """os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...): an entry point choosing settings."""
    func = call.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "setdefault"
        and _is_os_attr(func.value, "environ")
        and _name_read(call) == "DJANGO_SETTINGS_MODULE"
    )


def reads(source: str) -> list[tuple[int, str]]:
    """(line, variable) of every read of the environment in `source` ("?" when not a literal)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, "?") for a in node.names if a.name in ("environ", "getenv")]
        elif _is_os_attr(node, "environ") or _is_os_attr(node, "getenv"):
            call = _enclosing_call(node, parents)
            if call is None or not _is_settings_module_default(call):
                found.append((node.lineno, _name_read(call) or _subscript(node, parents) or "?"))
        elif isinstance(node, ast.Call) and _called_name(node).startswith("env_"):
            found.append((node.lineno, _name_read(node) or "?"))
    return sorted(found)


def _enclosing_call(node: ast.AST, parents: dict) -> ast.Call | None:
    """The call `os.environ.get(...)`/`os.getenv(...)` this attribute is the start of."""
    parent = parents.get(node)
    if isinstance(parent, ast.Attribute):
        parent = parents.get(parent)
    return parent if isinstance(parent, ast.Call) else None


def _subscript(node: ast.AST, parents: dict) -> str:
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and isinstance(parent.slice, ast.Constant):
        return str(parent.slice.value)
    return ""


def _called_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def files() -> list[Path]:
    found = [REPO / name for name in TOP_LEVEL]
    return found + python_files(migrations=True)


def test_only_the_settings_read_the_environment():
    outside, used = [], set()
    for path in files():
        where = relative(path)
        if where in READERS:
            continue
        for line, name in reads(path.read_text()):
            if (where, name) in EXCEPTIONS:
                used.add((where, name))
            else:
                outside.append(f"{where}:{line} reads {name}")
    assert not outside, "read it in vnetweb/settings.py instead:\n" + "\n".join(outside)
    assert used == set(EXCEPTIONS), f"exceptions no longer needed: {set(EXCEPTIONS) - used}"


def test_the_walk_finds_every_kind_of_read_and_lets_entry_points_choose_their_settings():
    source = """
import os
from os import getenv
from vnetweb.env import env_bool
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vnetweb.settings")
a = os.environ.get("A")
b = os.environ["B"]
c = os.getenv("C")
d = env_bool("D", False)
e = os.environ.setdefault("E", "x")
f = "F" in os.environ
"""
    assert reads(source) == [
        (3, "?"),
        (6, "A"),
        (7, "B"),
        (8, "C"),
        (9, "D"),
        (10, "E"),
        (11, "?"),
    ]
