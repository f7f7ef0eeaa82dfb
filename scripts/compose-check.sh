#!/usr/bin/env bash
# `make compose-check`: docker-compose.yml built and run for real on this machine, then driven by
# tests/compose/ (through the containers, against this machine's libvirtd) and taken down again.
#   1. a Docker engine: installed and started if none answers (scripts/docker-engine.sh)
#   2. the images, with no registry (scripts/compose-images.sh; cached between runs)
#   3. the stack, as the README's compose section starts it, as project "vnwtcheck" with its own
#      .env (made by scripts/compose-env.sh) and ports that `make run` does not use
#   4. pytest tests/compose/ (the browser, the worker killed, PostgreSQL restarted, down and up,
#      a taken port), then the database-dependent tests on the stack's PostgreSQL
#   5. down -v, the engine stopped if this script started it: nothing is left but the image cache
# The whole run is timed per step in var/compose-check/times.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$PWD/var/compose-check
project=vnwtcheck
export VNETWEB_COMPOSE_DIR=$dir VNETWEB_COMPOSE_PROJECT=$project
compose() { docker-compose --project-name "$project" --env-file "$dir/.env" "$@"; }
step_started=$SECONDS
step() {
  printf '%-28s %4d s\n' "${current:-start}" $((SECONDS - step_started)) >>"$dir/times"
  current=$1 step_started=$SECONDS
  echo "==> $1"
}

cleanup() {
  local status=$?
  set +e
  if [ -f "$dir/.env" ] && /usr/bin/docker info >/dev/null 2>&1; then
    echo "==> Taking the stack down (containers, networks, volumes)"
    compose --profile central down -v --remove-orphans -t 20 >/dev/null 2>&1
  fi
  scripts/docker-engine.sh stop
  rm -rf "$dir/ssh" "$dir/.env"
  step done
  cat "$dir/times"
  exit "$status"
}

mkdir -p "$dir"
: >"$dir/times"
step "packages and services"
scripts/setup.sh --test
scripts/services.sh
trap cleanup EXIT
step "docker engine"
scripts/docker-engine.sh start
step "images"
scripts/compose-images.sh

step "stack up"
# What a run that was killed before its clean-up left: its volumes hold other passwords.
if [ -f "$dir/.env" ]; then
  compose --profile central down -v --remove-orphans -t 20 >/dev/null 2>&1 || true
fi
rm -rf "$dir/ssh" "$dir/.env"
# The README's .env, in the check's own folder, with ports of its own and plain http on loopback.
scripts/compose-env.sh "$dir" >/dev/null
set_env() { sed -i "s|^$1=.*|$1=$2|" "$dir/.env"; grep -q "^$1=$2\$" "$dir/.env"; }
set_env VNETWEB_PORT 18080
set_env VNETWEB_POSTGRES_PORT 15433
set_env VNETWEB_REDIS_PORT 16380
set_env VNETWEB_SSH_KEY_FILE "$dir/ssh/id_ed25519"
set_env VNETWEB_KNOWN_HOSTS_FILE "$dir/ssh/known_hosts"
echo VNETWEB_REFRESH_SECONDS=3 >>"$dir/.env"
compose up -d
step "tests through the stack"
.venv/bin/python -m pytest -p no:cacheprovider tests/compose
step "tests on its PostgreSQL"
postgres_password=$(sed -n 's/^POSTGRES_PASSWORD=//p' "$dir/.env")
scripts/postgres-tests.sh "postgresql://vnetweb:$postgres_password@127.0.0.1:15433/vnetweb"
