#!/usr/bin/env bash
# The tests that depend on the database engine (pytest marker `postgres`), on a PostgreSQL server.
#   scripts/postgres-tests.sh postgresql://USER:PASSWORD@HOST:PORT/NAME [pytest arguments]
# USER must be allowed to create databases: Django makes its own test_NAME there and drops it
# afterwards; NAME itself is not touched. Needs what `make test` set up (the virtualenv, libvirtd
# and Redis: the lease tests take real leases, and some tests start Celery workers on that test
# database). Prints how long the run took; exits with pytest's status (5, nothing selected, too).
set -euo pipefail
cd "$(dirname "$0")/.."

url=${1:-}
case "$url" in
  postgres://*|postgresql://*) shift ;;
  *) echo "usage: $0 postgresql://USER:PASSWORD@HOST:PORT/NAME [pytest arguments]" >&2; exit 2 ;;
esac
[ -x .venv/bin/python ] || { echo "No .venv: run 'make setup-test' first." >&2; exit 2; }
shown=$(printf '%s' "$url" | sed -E 's#(://[^:/@]*:)[^@]*@#\1***@#')

# The server may still be starting (a container just up): wait for it, up to 60 s.
for _ in $(seq 60); do
  .venv/bin/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=2).close()' \
    "$url" 2>/dev/null && break
  sleep 1
done
.venv/bin/python -c 'import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=2).close()' \
  "$url" || { echo "PostgreSQL does not answer at $shown" >&2; exit 1; }

scripts/services.sh >/dev/null
echo "==> The engine's tests (-m postgres) on $shown"
start=$(date +%s)
status=0
VNETWEB_TEST_DATABASE_URL=$url .venv/bin/python -m pytest -q -p no:cacheprovider -m postgres "$@" ||
  status=$?
echo "==> PostgreSQL tests: exit $status after $(($(date +%s) - start)) s"
exit "$status"
