"""Benchmark: what port forwards cost the host's firewall and the worker's survey, on this
machine's real iptables (nf_tables backend), as the number of forwards grows.

    .venv/bin/python bench/forwards.py [--sizes 1,10,100,500] [--rounds 20]

For each size N, in chains of the bench's own (VNWTB_*; never a site's VNETWEB_* chains, which
are checked to be untouched), with forwards to a bridge name that need not exist:
- write: N forwards written from none (one iptables-restore, then the read back that checks it);
- check: what every survey of a host with forwards does when nothing changed (iptables-save of
  the nat and filter tables, compared line by line with what is wanted), median and p95;
- add one: N + 1 written over N (a forward job's firewall part);
- mend: the check and the write again after the chains were flushed by hand.
The end-to-end time from Add to a working forward (job, worker, real traffic) is measured by
tests/test_forwards_real.py and tests/test_forwards_journey_real_browser.py (run with -s).
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[1:1] = [str(REPO)]
from networks.gateway import forward_rules as fr  # noqa: E402
from networks.gateway import forwards as fw  # noqa: E402

PREFIX = "VNWTB"


def forwards(n: int) -> list[fr.Forward]:
    """N forwards, 1000 + i on the host to 10.213.250.10:80 + i on bridge vnwtbench0."""
    return [
        fr.Forward(i + 1, "tcp", None, (1000 + i, 1000 + i), "10.213.250.10", (80 + i, 80 + i),
                   "vnwtbench0", "10.213.250.0/24")
        for i in range(n)
    ]  # fmt: skip


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def check(wanted: list[fr.Forward]) -> None:
    assert fr.in_place(wanted, fw.read(PREFIX), PREFIX)


def site_rules() -> list[str]:
    saved = subprocess.run(["iptables-save"], check=True, capture_output=True, text=True).stdout
    return [line for line in saved.splitlines() if "VNETWEB" in line]


def size(n: int, rounds: int) -> dict[str, str]:
    wanted = forwards(n)
    fw.apply([], PREFIX)
    write = timed(lambda: fw.apply(wanted, PREFIX))
    checks = sorted(timed(lambda: check(wanted)) for _ in range(rounds))
    more = forwards(n + 1)
    add = timed(lambda: fw.apply(more, PREFIX))
    subprocess.run(["iptables", "-t", "nat", "-F", f"{PREFIX}_PRE"], check=True)
    mend = timed(lambda: fw.apply(more, PREFIX))
    return {
        "forwards": str(n),
        "rules": str(4 * n),
        "write from none": ms(write),
        "check, median": ms(statistics.median(checks)),
        "check, p95": ms(checks[int(0.95 * (len(checks) - 1))]),
        "add one": ms(add),
        "mend a flush": ms(mend),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    before = site_rules()
    rows = []
    try:
        for n in (int(part) for part in args.sizes.split(",")):
            rows.append(size(n, args.rounds))
    finally:
        fw.apply([], PREFIX)
    assert site_rules() == before, "a site's VNETWEB_* rules changed"
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        print("| " + " | ".join(row.values()) + " |")


if __name__ == "__main__":
    main()
