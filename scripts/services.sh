#!/usr/bin/env bash
# Starts libvirtd, virtlogd and Redis when they are not already running (there is no systemd here).
set -euo pipefail
cd "$(dirname "$0")/.."
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}

if ! pgrep -x virtlogd >/dev/null; then
  echo "==> Starting virtlogd"
  virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null; then
  echo "==> Starting libvirtd"
  libvirtd -d
fi
for _ in $(seq 50); do
  virsh -c qemu:///system uri >/dev/null 2>&1 && break
  sleep 0.2
done
virsh -c qemu:///system uri >/dev/null 2>&1 ||
  { echo "libvirtd does not answer on qemu:///system; see /var/log/libvirt/libvirtd.log" >&2; exit 1; }

if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  case "$redis_url" in
    redis://127.0.0.1:*|redis://localhost:*)
      port=$(echo "$redis_url" | sed -E 's#redis://[^:]+:([0-9]+).*#\1#')
      echo "==> Starting redis-server on 127.0.0.1:$port"
      mkdir -p var/redis
      redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$PWD/var/redis" \
        --save '' --appendonly no --logfile "$PWD/var/redis/redis.log"
      for _ in $(seq 50); do redis-cli -u "$redis_url" ping >/dev/null 2>&1 && break; sleep 0.1; done
      ;;
    *) echo "No Redis answers at $redis_url, and it is not local: start it there." >&2; exit 1 ;;
  esac
fi
redis-cli -u "$redis_url" ping >/dev/null
