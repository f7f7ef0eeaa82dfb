"""A switch form's edits carried over onto a definition someone changed meanwhile.

The form was bound with the values of the definition it was opened on (its `initial`), so
`changed_data` names what the person changed. Those fields keep the person's values, every other
field takes the current definition's, and a list of records (static hosts, DNS records, …) is
merged line by line: the person's added lines are added and their removed lines removed from the
current list. The raw XML editor's text is merged by lines too (`merge_text`): libvirt writes
one element per line, so edits of different records rarely touch the same lines. The result is
only ever shown to be reviewed again, never sent as it is.
"""

import difflib

from django import forms

from networks.forms.switch import LIST_FIELDS


def merge_lines(base: str, theirs: str, yours: str) -> str:
    """`theirs` with the lines `yours` added to `base` and without those it removed."""

    def kept(text: str) -> list[str]:
        return [line.strip() for line in (text or "").splitlines() if line.strip()]

    base_lines, their_lines, your_lines = kept(base), kept(theirs), kept(yours)
    removed = set(base_lines) - set(your_lines)
    merged = [line for line in their_lines if line not in removed]
    merged += [line for line in your_lines if line not in base_lines and line not in merged]
    return "\n".join(merged)


def rebase(form: forms.Form, current: dict) -> tuple[dict, list[str]]:
    """The values to offer again: the person's changes to `form.initial` re-applied onto
    `current` (the current definition's initial values), and the labels of the fields both
    changed, to other values (the person's value is kept: they see the other in the review)."""
    values, both = dict(current), []
    for name in form.changed_data:
        field, base = form.fields[name], form.initial.get(name)
        theirs, yours = current.get(name), form[name].data
        if name in LIST_FIELDS:
            values[name] = merge_lines(str(base or ""), str(theirs or ""), str(yours or ""))
            continue
        if field.has_changed(base, theirs) and field.has_changed(theirs, yours):
            both.append(str(field.label or name))
        values[name] = yours
    return values, both


Hunk = tuple[int, int, tuple[str, ...]]  # base lines [start, end) become these lines


def _hunks(base: list[str], other: list[str]) -> list[Hunk]:
    matcher = difflib.SequenceMatcher(None, base, other, autojunk=False)
    return [
        (i1, i2, tuple(other[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _overlap(a: Hunk, b: Hunk) -> bool:
    """Whether two hunks change the same base lines (insertions at one point do not)."""
    (a1, a2, _), (b1, b2, _) = a, b
    if a1 == a2 or b1 == b2:  # an insertion conflicts only inside the other's range
        point, (start, end) = (a1, (b1, b2)) if a1 == a2 else (b1, (a1, a2))
        return start < point < end
    return a1 < b2 and b1 < a2


def merge_text(base: str, theirs: str, yours: str) -> str | None:
    """A three-way merge by lines: the changes `base` → `theirs` and `base` → `yours` both
    applied, or None when they change the same lines. At one insertion point theirs go first."""
    base_lines = base.splitlines()
    their_hunks = _hunks(base_lines, theirs.splitlines())
    your_hunks = [h for h in _hunks(base_lines, yours.splitlines()) if h not in their_hunks]
    if any(_overlap(t, y) for t in their_hunks for y in your_hunks):
        return None
    ordered = sorted(
        [(h, 0) for h in their_hunks] + [(h, 1) for h in your_hunks],
        key=lambda item: (item[0][0], item[0][1] > item[0][0], item[1]),
    )
    merged, position = [], 0
    for (start, end, lines), _side in ordered:
        merged += base_lines[position:start]
        merged += lines
        position = max(position, end)
    merged += base_lines[position:]
    return "\n".join(merged) + ("\n" if yours.endswith("\n") else "")
