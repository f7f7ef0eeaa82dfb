"""The project's own Python sources, for the tests that read the code rather than run it (the
layers, the job lifecycle's one owner, settings, declarations, no HTML in Python)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("networks", "vnetweb")


def python_files(roots: tuple[str, ...] = ROOTS, *, migrations: bool = False) -> list[Path]:
    """Every .py file under `roots`, sorted; migrations (makemigrations writes them) if asked."""
    return sorted(
        path
        for root in roots
        for path in (REPO / root).rglob("*.py")
        if migrations or "migrations" not in path.parts
    )


def relative(path: Path) -> str:
    """`path` as the repository names it: networks/jobs.py."""
    return path.relative_to(REPO).as_posix()
