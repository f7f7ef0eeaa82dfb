"""Every fragment comes from a template: no module under networks/ or vnetweb/ builds HTML in a
Python string (a constant or an f-string holding a tag such as <td, <a , <button, <span, <div).

HTML written in Python escapes by hand, cannot be read beside the page's other markup, and grows
a second way to draw what a template already draws (the network buttons were drawn three ways).
Docstrings may name tags. ALLOWED would list (path, line) pairs that cannot be helped, each with
its reason; there are none.
"""

import ast
import re
from pathlib import Path

import pytest

from tests.sources import REPO, python_files, relative

TAG = re.compile(
    r"<(?:a|b|br|button|code|dd|div|dl|dt|em|form|h[1-6]|i|img|input|label|li|ol|option|p|pre"
    r"|section|select|small|span|strong|svg|table|tbody|td|textarea|th|thead|time|tr|ul)(?=[\s/>])",
    re.IGNORECASE,
)
ALLOWED: dict[tuple[str, int], str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _text(node: ast.AST) -> str | None:
    """A string constant's text, or an f-string's with each replacement field as {}."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def html_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string in `source` that holds an HTML tag, docstrings aside."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstring = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_fstring:
            continue
        text = _text(node)
        if text is not None and TAG.search(text):
            found.append((node.lineno, text))
    return found


def _modules() -> list[Path]:
    return python_files(migrations=True)


def test_no_module_builds_html_in_a_python_string():
    offenders = []
    for path in _modules():
        where = relative(path)
        for line, text in html_strings(path.read_text()):
            if (where, line) not in ALLOWED:
                offenders.append(f"{where}:{line}: {text[:80]!r}")
    assert not offenders, "HTML in Python (write a template):\n" + "\n".join(offenders)


def test_every_allowed_string_is_still_there_and_says_why():
    for (where, line), reason in ALLOWED.items():
        assert reason.strip(), f"{where}:{line} needs its reason"
        assert line in [found for found, _ in html_strings((REPO / where).read_text())]


@pytest.mark.parametrize(
    "source",
    [
        "x = '<td>' + name + '</td>'",
        "x = f'<button class=\"btn {css}\">{label}</button>'",
        "x = f\"<a href='{url}'>{name}</a>\"",
        "format_html_join('', \"<p class='error'>{}</p>\", rows)",
        "def f():\n    return '<div class=\"buttons\">' + buttons",
        "x = '<span>'",
    ],
)
def test_the_check_finds_html(source):
    assert html_strings(source), source


@pytest.mark.parametrize(
    "source",
    [
        '"""Renders the <td> of each row."""',
        "def f():\n    '''A <button> for each operation.'''",
        "x = f\"<{el.tag} netmask='{netmask}'>: not a netmask\"",
        "x = f\"<lease unit='{unit}'>: use seconds, minutes or hours\"",
        "x = f'<{kind}>'",
        "x = 'a < b and c > d'",
        "x = '<!--left:5-->'",
    ],
)
def test_the_check_leaves_xml_and_prose_alone(source):
    assert not html_strings(source), source
