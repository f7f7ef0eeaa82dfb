#!/usr/bin/env bash
# A Docker engine for `make compose-check`, on a machine without systemd (Debian 12, as root).
#   scripts/docker-engine.sh start   install docker.io, docker-compose (v1) and debootstrap if
#                                    missing; start dockerd unless one already answers
#   scripts/docker-engine.sh stop    stop the dockerd that `start` started (never another one) and
#                                    remove what it leaves behind: its two mounts
# The engine starts with --iptables=false --ip-masq=false: Docker writes no rule into the host's
# firewall, which libvirt owns and vnetweb reads. --bridge=none: no docker0; the compose file's
# own networks still work and publish ports through docker-proxy.
set -euo pipefail
cd "$(dirname "$0")/.."

state=/run/vnetweb-compose-check
pidfile=$state/dockerd.pid
log=var/compose-check/dockerd.log
docker=/usr/bin/docker   # Debian's client; another one earlier on PATH may lack what we call

answers() { "$docker" info >/dev/null 2>&1; }

install() {
  local missing=()
  for pkg in docker.io docker-compose debootstrap; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return
  echo "==> Installing Debian packages: ${missing[*]}"
  # --no-install-recommends keeps out needrestart, which may restart other services.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q \
    --no-install-recommends "${missing[@]}"
}

start() {
  install
  if answers; then
    echo "==> A Docker engine already answers: using it (it will be left running)"
    return
  fi
  mkdir -p "$state" "$(dirname "$log")"
  echo "==> Starting dockerd (log: $log)"
  # Started as a plain command so that $! is dockerd itself, not a subshell.
  dockerd --storage-driver=overlay2 --iptables=false --ip-masq=false --bridge=none \
    --pidfile=/run/docker.pid >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 100); do
    answers && return
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.2
  done
  echo "dockerd did not start; its log ($log) ends with:" >&2
  tail -n 20 "$log" >&2
  stop
  exit 1
}

stop() {
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "==> Stopping the dockerd this check started (pid $pid)"
    kill "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
  # dockerd leaves its network namespace mount and a self-bind of its data directory behind.
  for mount in /run/docker/netns/default /var/lib/docker; do
    while mountpoint -q "$mount"; do umount "$mount"; done
  done
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
