"""Roles and operation keys are named by their one declaration (networks.roles.Role,
networks.operations.Op), never by a bare string that would silently miss a rename.

Walks networks/ and vnetweb/ for string literals equal to a role's group name or an operation's
key. Migrations are left out: they are frozen copies of the models at the time (their choices
included), written by makemigrations. "start", "stop" and "restart" are also XML attributes and
form buttons' names, so only the other keys, which mean nothing else, are looked for.
"""

import ast

from networks.operations import Op
from networks.roles import GRANTED
from tests.sources import python_files, relative

DECLARED_IN = {"networks/roles.py", "networks/operations.py"}
SHARED_WORDS = {Op.START, Op.STOP, Op.RESTART}
# (file, word): why it may stand there.
EXCEPTIONS = {
    ("vnetweb/settings.py", "admin"): "the first admin's default user name, not the role",
}


def words() -> set[str]:
    return {role.group for role in GRANTED} | {str(op) for op in Op if op not in SHARED_WORDS}


def literals(source: str, wanted: set[str]) -> list[tuple[int, str]]:
    """(line, text) of each string literal in `source` that is one of `wanted`."""
    return sorted(
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in wanted
    )


def test_roles_and_operations_are_named_by_their_declaration():
    found, used = [], set()
    for path in python_files():
        name = relative(path)
        if name in DECLARED_IN:
            continue
        for line, text in literals(path.read_text(), words()):
            if (name, text) in EXCEPTIONS:
                used.add((name, text))
            else:
                found.append(f"{name}:{line} {text!r}")
    assert not found, "use Role.X.group or Op.X:\n" + "\n".join(found)
    assert used == set(EXCEPTIONS), f"exceptions no longer needed: {set(EXCEPTIONS) - used}"


def test_the_walk_finds_a_bare_role_and_operation_but_not_their_members():
    source = 'a = "operator"\nb = Role.OPERATOR.group\nc = ("nic_move", Op.NIC_MOVE)\nd = "nic"\n'
    assert literals(source, words()) == [(1, "operator"), (3, "nic_move")]
