#!/bin/bash
# `make bench` on an earlier commit and on this checkout, one after the other on this machine, so
# that a refactoring's figures are compared under the same conditions (docs/performance.md).
#   bash bench/before_after.sh REF      (e.g. the commit before the change)
# Writes var/bench-before.log and var/bench-after.log; the earlier commit runs from a temporary
# git worktree that shares this checkout's virtualenv, and is removed afterwards.
set -euo pipefail
ref=${1:?usage: bench/before_after.sh REF}
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d /var/tmp/vnetweb-bench-XXXXXX)
cleanup() { git -C "$here" worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"; }
trap cleanup EXIT
git -C "$here" worktree add --detach "$tree" "$ref" >/dev/null
ln -s "$here/.venv" "$tree/.venv"
mkdir -p "$here/var"
echo "== before: $(git -C "$tree" log -1 --format='%h %s' | cut -c1-80)"
make -C "$tree" bench 2>&1 | tee "$here/var/bench-before.log"
echo "== after: $(git -C "$here" log -1 --format='%h %s' | cut -c1-80) (+ working tree)"
make -C "$here" bench 2>&1 | tee "$here/var/bench-after.log"
