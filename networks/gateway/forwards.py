"""Port forwards in the host's firewall: written, read back and compared, on the machine the
worker runs on.

libvirt 9 writes its NAT and filter rules with iptables on the nf_tables backend (tables
ip nat / ip filter, chains LIBVIRT_*), so vnetweb writes its own there too, with the same tool:
rules written by nft itself into those tables would make iptables (libvirt's own next call)
refuse them as incompatible. Each kind of rule lives in a chain of vnetweb's own, which libvirt
never touches, jumped to first from the built-in chain:

    nat    PREROUTING  -> VNETWEB_PRE   DNAT host port -> guest (from the LAN, and from guests)
    nat    OUTPUT      -> VNETWEB_OUT   the same for connections the host itself opens
    nat    POSTROUTING -> VNETWEB_POST  MASQUERADE a guest reaching another guest of its switch
                                        through the host's port (hairpin: the answer must come
                                        back through the host, not straight from the guest)
    filter FORWARD     -> VNETWEB_FWD   ACCEPT translated traffic to the guest's port, before
                                        libvirt's LIBVIRT_FWI rejects everything to the bridge
                                        that is not an answer

libvirt rebuilds its LIBVIRT_* chains when a network starts or libvirtd restarts, inserting its
rules at their top; vnetweb's chains and jumps stay where they are (measured: a network restart
and a libvirtd restart leave them first). Every rule carries the comment "vnetweb forward N"
(N: the forward's id), and the chain names are vnetweb's: vnetweb finds, checks and removes only
its own. The whole set is written at once with `iptables-restore --noflush` (one transaction
per table, declaring a chain empties it); when iptables refuses a table after committing an
earlier one, that one is put back: the firewall never holds half a change.

The check reads `iptables-save -c` (nft's JSON shows iptables' DNAT targets and comments only
as "xt" without their values) and compares our chains, line by line, with the lines wanted; the
counters of the nat rules count connections (only a connection's first packet passes a nat
chain).
"""

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import GatewayError
from .forward_rules import (
    TABLES,
    Forward,
    Installed,
    in_place,
    parse,
    put_back_text,
    restore_text,
)

TIMEOUT = 10.0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise GatewayError(
            f"The {name} command is not installed on this host's worker: port forwards cannot "
            "be written (install the iptables package)."
        )
    return path


def _run(args: list[str], stdin: str | None = None) -> str:
    try:
        done = subprocess.run(
            args, input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise GatewayError(f"{args[0]} could not be run: {exc}", transient=True) from exc
    if done.returncode != 0:
        said = _said(done.stderr or done.stdout) or f"exit status {done.returncode}"
        raise GatewayError(f"{Path(args[0]).name} failed: {said}", transient=False)
    return done.stdout


_BANNER = re.compile(r"^\S+ v[\d.]+ \([^)]*\):\s*")


def _said(text: str) -> str:
    """iptables' complaint as one line of words: without its version banner, its blank lines
    and its advice to read --help (the message ends up in a job's outcome, for people)."""
    lines = (_BANNER.sub("", line).strip() for line in text.splitlines())
    return "; ".join(line for line in lines if line and not line.startswith("Try `"))


def read(prefix: str) -> Installed:
    """vnetweb's part of this machine's firewall; GatewayError when it cannot be read."""
    save = _tool("iptables-save")
    installed = Installed()
    for table in TABLES:
        parse(table, _run([save, "-c", "-t", table]), installed, prefix)
    return installed


_holding = threading.local()


@contextlib.contextmanager
def held(prefix: str) -> Iterator[None]:
    """This machine's lock on our chains: one writer at a time, across the worker's threads and
    processes (the survey's re-apply and the jobs). Whoever decides what the chains must hold
    from the database and writes them holds it until that is committed, so no one writes back
    a set read before another's change was committed. Re-entrant within a thread."""
    depth = getattr(_holding, "depth", 0)
    if depth:
        _holding.depth = depth + 1
        try:
            yield
        finally:
            _holding.depth = depth
        return
    path = Path(tempfile.gettempdir()) / f"vnetweb-forwards-{prefix}.lock"
    # Never through a link: root opening a name in /tmp that someone else put there.
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        _holding.depth = 1
        try:
            yield
        finally:
            _holding.depth = 0
    finally:
        os.close(descriptor)  # releases the lock


def _restore(tool: str, text: str, before: Installed, prefix: str) -> None:
    """iptables-restore commits each table at its COMMIT: when it refuses the filter table, the
    nat table is already changed (measured: iptables 1.8.9 on nf_tables). What changed is put
    back as it was, so a refused change leaves the firewall as before."""
    try:
        _run([tool, "--noflush", "--wait"], stdin=text)
    except GatewayError as refused:
        try:
            if back := put_back_text(before, read(prefix), prefix):
                _run([tool, "--noflush", "--wait"], stdin=back)
        except GatewayError as exc:
            raise GatewayError(
                f"{refused}; what it had changed could not be put back either: {exc}"
            ) from refused
        raise


def apply(forwards: list[Forward], prefix: str, installed: Installed | None = None) -> Installed:
    """Make the firewall hold exactly `forwards`; returns what it holds afterwards.
    GatewayError (in words) when iptables refuses or cannot be run."""
    restore = _tool("iptables-restore")
    installed = installed if installed is not None else read(prefix)
    if in_place(forwards, installed, prefix):
        return installed
    text = restore_text(forwards, installed, prefix)
    if text:
        _restore(restore, text, installed, prefix)
    after = read(prefix)
    if not in_place(forwards, after, prefix):
        raise GatewayError(
            "The port forwards were written, but the firewall does not hold them as written "
            "(another program changed it at the same moment?); try again."
        )
    return after
