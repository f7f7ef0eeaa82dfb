"""Files that hold secrets (the generated secret key, the first admin's password) and the data
directory they live in: private from their first byte on, whatever the umask.

Written first and made 0600 after, such a file is readable by every local user for a moment,
long enough for one who waits for it. Here the text goes into a new file created 0600 (O_EXCL:
never one that someone put there first, O_NOFOLLOW: never through a link), which is then given
its name. Only the standard library: the settings use this before Django is set up.
"""

import os
import secrets
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> None:
    """Create the directory 0700 if it is missing; one that exists is left as its owner made it
    (`manage.py vnetweb_own_data` gives the data directory to the web's user under `make run`)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)


def write_private(path: Path, text: str, *, replace: bool = False) -> bool:
    """Write `text` as the file `path`, mode 0600 from the start. With `replace`, a file (or link)
    of that name is replaced, never written through; without, one that exists is kept and False
    returned. The name appears only once the whole text is in the file (a hard link, which fails
    if the name exists): a process starting at the same time reads the whole text, or writes its
    own and keeps the first."""
    private_dir(path.parent)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        if replace:
            os.replace(draft, path)
            return True
        try:
            os.link(draft, path, follow_symlinks=False)
        except FileExistsError:
            return False
        return True
    finally:
        draft.unlink(missing_ok=True)
