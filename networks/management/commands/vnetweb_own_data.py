"""Hands the files the web and beat use to the unprivileged user they run as under `make run`.

Run as root (`make prepare`, scripts/run.sh) after the database and the secret key exist:
- the data directory becomes the user's, mode 0700, so no other local user reads the database or
  the sessions in it, and SQLite (which creates its -wal and -shm files next to the database) and
  beat (its schedule) can write there. Root's workers still reach it; SQLite running as root gives
  a journal file it creates the database file's owner and mode, so the web can keep writing it.
- the SQLite database and its journal files, the secret key and beat's schedule become the
  user's, mode 0600.
- the directories root itself writes into (logs, supervisord's socket, static files) must be
  root's own real directories: a link the user had put there would send root's writes elsewhere.
"""

import os
import pwd
import stat
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


class Command(BaseCommand):
    help = "Give the data directory, database and secret key to the web's user (run as root)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user", help="the user the web and beat run as, e.g. vnetweb")
        parser.add_argument(
            "--root-dir",
            action="append",
            default=[],
            type=Path,
            help="a directory root writes into (repeatable): refused unless root's own",
        )

    def handle(self, *args, user: str, root_dir: list[Path], **options) -> None:
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            raise CommandError(f"There is no user {user!r}: scripts/setup.sh creates it.") from None
        uid, gid = account.pw_uid, account.pw_gid
        data_dir = Path(settings.DATA_DIR)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(data_dir, uid, gid)
        data_dir.chmod(0o700)

        for directory in [*root_dir, Path(settings.STATIC_ROOT)]:
            _require_roots_own(directory)
        for path in [data_dir / "secret_key", *data_dir.glob("celerybeat-schedule*")]:
            _hand_over(path, uid, gid)
        database = _sqlite_file()
        if database is not None:
            if database.parent.resolve() != data_dir.resolve():
                _require_writable_by(database.parent, user, uid, gid)
            for suffix in SQLITE_SUFFIXES:
                _hand_over(Path(f"{database}{suffix}"), uid, gid)


def _sqlite_file() -> Path | None:
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3") or str(db["NAME"]).startswith(("file:", ":memory:")):
        return None
    return Path(db["NAME"])


def _hand_over(path: Path, uid: int, gid: int) -> None:
    """The user's own file, 0600; never through a link (that would hand over what it points at)."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise CommandError(f"{path} is not a plain file (a link?): move it away and start again.")
    os.chown(path, uid, gid, follow_symlinks=False)
    path.chmod(0o600)


def _require_roots_own(directory: Path) -> None:
    try:
        info = directory.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0:
        raise CommandError(
            f"{directory} must be a directory of root's own (root writes there), not a link or "
            "another user's: move it away and start again."
        )


def _require_writable_by(directory: Path, user: str, uid: int, gid: int) -> None:
    info = directory.stat()
    writable = (
        (info.st_uid == uid and info.st_mode & stat.S_IWUSR)
        or (info.st_gid == gid and info.st_mode & stat.S_IWGRP)
        or info.st_mode & stat.S_IWOTH
    )
    if not writable:
        raise CommandError(
            f"The SQLite database is in {directory}, where {user} (the web's user) cannot create "
            f"its journal files: give it that directory (chown {user}: {directory}; chmod 700 "
            f"{directory}) or keep the database in {settings.DATA_DIR}."
        )
