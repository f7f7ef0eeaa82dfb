#!/usr/bin/env bash
# Runs web, workers and beat in the foreground; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
bind=${VNETWEB_BIND:-127.0.0.1:8000}
# Workers refresh every host every few seconds: INFO would log each refresh. Jobs and errors show.
level=${VNETWEB_WORKER_LOG_LEVEL:-WARNING}
mkdir -p var

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "==> Stopping web, workers and beat"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

gunicorn vnetweb.wsgi --bind "$bind" --workers 2 --threads 4 --access-logfile var/access.log &
pids+=($!)
# Real hosts (and any host added later), served by one worker with a thread per job.
VNETWEB_WORKER_EXCLUDE=demo celery -A vnetweb worker -Q vnetweb -n hosts@%h \
  --pool=threads --concurrency=4 --loglevel="$level" &
pids+=($!)
if [ "${VNETWEB_DEMO_HOST:-true}" = true ]; then
  # The test driver keeps its state in one process: the demo host gets its own single worker.
  VNETWEB_WORKER_HOSTS=demo celery -A vnetweb worker -Q vnetweb -n demo@%h \
    --pool=solo --loglevel="$level" &
  pids+=($!)
fi
celery -A vnetweb beat --schedule var/celerybeat-schedule --loglevel="$level" &
pids+=($!)

sleep 2
echo
echo "vnetweb is running at http://$bind/"
python manage.py vnetweb_setup | grep '^Login\|^Admin\|^Created' || true
echo "Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
