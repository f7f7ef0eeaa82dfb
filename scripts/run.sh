#!/usr/bin/env bash
# Runs web, workers and beat in the foreground under supervisord (scripts/supervisord.conf):
# a program that dies is restarted within seconds while the others keep serving; Ctrl-C (or
# SIGTERM) stops them all. Logs go to var/log/ (VNETWEB_LOG_DIR).
#   scripts/run.sh            start (what `make run` does after its set-up)
#   scripts/run.sh status     ask the running supervisord how its programs are (`make status`)
set -euo pipefail
cd "$(dirname "$0")/.."
export VNETWEB_HOME=$PWD
export VNETWEB_VENV=${VNETWEB_VENV:-$PWD/.venv}
export PATH="$VNETWEB_VENV/bin:$PATH"
export VNETWEB_BIND=${VNETWEB_BIND:-127.0.0.1:8000}
# Where supervisord keeps its socket, pid file and beat's schedule, and where programs log.
export VNETWEB_RUN_DIR=${VNETWEB_RUN_DIR:-$PWD/var/run}
export VNETWEB_LOG_DIR=${VNETWEB_LOG_DIR:-$PWD/var/log}
# Workers refresh every host every few seconds: INFO would log each refresh. Jobs and errors show.
export VNETWEB_WORKER_LOG_LEVEL=${VNETWEB_WORKER_LOG_LEVEL:-WARNING}
export VNETWEB_DEMO_HOST=${VNETWEB_DEMO_HOST:-true}
conf=scripts/supervisord.conf

if [ "${1:-}" != "" ]; then
  exec supervisorctl -c "$conf" "$@"
fi

mkdir -p "$VNETWEB_RUN_DIR" "$VNETWEB_LOG_DIR"
if supervisorctl -c "$conf" pid >/dev/null 2>&1; then
  echo "vnetweb is already running here (supervisord pid $(cat "$VNETWEB_RUN_DIR/supervisord.pid"))." >&2
  echo "Stop it with Ctrl-C in its terminal, or: kill \$(cat $VNETWEB_RUN_DIR/supervisord.pid)" >&2
  exit 1
fi

echo
echo "vnetweb is starting at http://$VNETWEB_BIND/"
python manage.py vnetweb_setup | grep '^Login\|^Admin\|^Created' || true
echo "Logs: $VNETWEB_LOG_DIR/{web,worker-hosts,worker-demo,beat,access}.log"
echo "Status: make status.  A program that dies is restarted; Ctrl-C stops everything."
echo
# exec: supervisord itself receives Ctrl-C and the SIGTERM that make passes on.
exec supervisord -n -c "$conf"
