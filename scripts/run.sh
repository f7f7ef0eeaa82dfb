#!/usr/bin/env bash
# Runs web, workers and beat in the foreground under supervisord (scripts/supervisord.conf):
# a program that dies is restarted within seconds while the others keep serving; Ctrl-C (or
# SIGTERM) stops them all. Logs go to var/log/ (VNETWEB_LOG_DIR).
# Run as root: the workers keep root (libvirt's qemu:///system, netlink, nft); web and beat run as
# the unprivileged user `vnetweb` (made by scripts/setup.sh), which owns the data directory.
#   scripts/run.sh            start (what `make run` does after its set-up)
#   scripts/run.sh status     ask the running supervisord how its programs are (`make status`)
set -euo pipefail
cd "$(dirname "$0")/.."
export VNETWEB_HOME=$PWD
export VNETWEB_VENV=${VNETWEB_VENV:-$PWD/.venv}
export PATH="$VNETWEB_VENV/bin:$PATH"
# The settings' default, spelled out for supervisord.conf (beat keeps its schedule there).
export VNETWEB_DATA_DIR=${VNETWEB_DATA_DIR:-$PWD/var}
export VNETWEB_BIND=${VNETWEB_BIND:-127.0.0.1:8000}
# Where supervisord keeps its socket and pid file, and where programs log.
export VNETWEB_RUN_DIR=${VNETWEB_RUN_DIR:-$PWD/var/run}
export VNETWEB_LOG_DIR=${VNETWEB_LOG_DIR:-$PWD/var/log}
# Workers refresh every host every few seconds: INFO would log each refresh. Jobs and errors show.
export VNETWEB_WORKER_LOG_LEVEL=${VNETWEB_WORKER_LOG_LEVEL:-WARNING}
export VNETWEB_DEMO_HOST=${VNETWEB_DEMO_HOST:-true}
conf=scripts/supervisord.conf

if [ "${1:-}" != "" ]; then
  exec supervisorctl -c "$conf" "$@"
fi

run_user=vnetweb
[ "$(id -u)" = 0 ] || { echo "Run as root: the workers need root for libvirt." >&2; exit 1; }
getent passwd "$run_user" >/dev/null ||
  { echo "There is no user $run_user for the web and beat: run scripts/setup.sh first." >&2; exit 1; }
# supervisord starts web and beat by these absolute paths, as that user: it must reach them all.
if ! runuser -u "$run_user" -- "$VNETWEB_VENV/bin/python" -c \
  "import os, sys; os.chdir(sys.argv[1]); import django, vnetweb" "$PWD" >/dev/null 2>&1; then
  echo "The web and beat run as $run_user, which cannot run $VNETWEB_VENV/bin/python on $PWD:" >&2
  echo "every directory above the checkout and the virtualenv's Python must be open to it" >&2
  echo "(a checkout or a pyenv Python under /root is not). Clone to /opt or /srv, or make the" >&2
  echo "virtualenv from Debian's Python (rm -rf .venv; PYTHON=/usr/bin/python3 make run)." >&2
  exit 1
fi

# Logs and supervisord's socket: root's alone (supervisord writes them as root).
mkdir -p "$VNETWEB_RUN_DIR" "$VNETWEB_LOG_DIR"
chmod 700 "$VNETWEB_RUN_DIR" "$VNETWEB_LOG_DIR"
if supervisorctl -c "$conf" pid >/dev/null 2>&1; then
  echo "vnetweb is already running here (supervisord pid $(cat "$VNETWEB_RUN_DIR/supervisord.pid"))." >&2
  echo "Stop it with Ctrl-C in its terminal, or: kill \$(cat $VNETWEB_RUN_DIR/supervisord.pid)" >&2
  exit 1
fi

echo
echo "vnetweb is starting at http://$VNETWEB_BIND/"
python manage.py vnetweb_setup | grep '^Login\|^Admin\|^Created' || true
# The data directory (0700), database and secret key (0600) become the web's user's.
python manage.py vnetweb_own_data "$run_user" \
  --root-dir "$VNETWEB_RUN_DIR" --root-dir "$VNETWEB_LOG_DIR" --root-dir "$PWD/var/redis"
echo "Logs: $VNETWEB_LOG_DIR/{web,worker-hosts,worker-demo,beat,access}.log"
echo "Status: make status.  A program that dies is restarted; Ctrl-C stops everything."
echo
# exec: supervisord itself receives Ctrl-C and the SIGTERM that make passes on.
exec supervisord -n -c "$conf"
