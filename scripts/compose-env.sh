#!/usr/bin/env bash
# Writes what docker-compose.yml reads, leaving alone whatever already exists, in the folder given
# (default: this checkout, next to docker-compose.yml):
#   .env                 .env.example with the three secrets filled with fresh random values
#   ssh/id_ed25519(.pub) the key of `central-worker` (--profile central) for qemu+ssh:// hosts: add
#                        the .pub to root's authorized_keys on each remote KVM host
#   ssh/known_hosts      empty: add each remote host's key (ssh-keyscan HOST >>ssh/known_hosts)
set -euo pipefail
cd "$(dirname "$0")/.."
example=$PWD/.env.example
cd "${1:-.}"
umask 077
mkdir -p ssh
[ -e ssh/known_hosts ] || : >ssh/known_hosts
if [ ! -e ssh/id_ed25519 ]; then
  ssh-keygen -q -t ed25519 -N '' -C vnetweb-central-worker -f ssh/id_ed25519
  echo "Wrote ssh/id_ed25519 (for --profile central; its public half: ssh/id_ed25519.pub)."
fi
if [ -e .env ]; then
  echo ".env exists: keeping it (delete it first to start over with new secrets)."
  exit 0
fi
secret() { python3 -c 'import secrets; print(secrets.token_hex(int(__import__("sys").argv[1])))' "$1"; }
sed -e "s/^VNETWEB_SECRET_KEY=\$/VNETWEB_SECRET_KEY=$(secret 40)/" \
  -e "s/^POSTGRES_PASSWORD=\$/POSTGRES_PASSWORD=$(secret 24)/" \
  -e "s/^REDIS_PASSWORD=\$/REDIS_PASSWORD=$(secret 24)/" "$example" >.env
echo "Wrote .env (mode 0600) with fresh secrets; the other settings are explained in it."
