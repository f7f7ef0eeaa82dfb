#!/usr/bin/env bash
# Builds every image docker-compose.yml names, with no image registry (none is reachable here):
#   debian:bookworm-slim  made by debootstrap from the machine's Debian mirror, imported; the
#                         tarball is cached in /var/cache/vnetweb-compose between runs
#   postgres:15, redis:7  stand-ins built on it from Debian's own packages (PostgreSQL 15, Redis 7.0),
#                         taking the same environment and paths as the official images; an image of
#                         that name that is not a stand-in (a real one, pulled) is used as it is
#   vnetweb:latest        the Dockerfile, built with the host's network so apt and pip reach the mirrors
# Each is built only when missing or when its inputs changed (Docker's layer cache).
set -euo pipefail
cd "$(dirname "$0")/.."
docker=/usr/bin/docker
cache=/var/cache/vnetweb-compose
base=debian:bookworm-slim
standin_label=org.vnetweb.stand-in

has_image() { "$docker" image inspect "$1" >/dev/null 2>&1; }

mirror() {
  # The first Debian mirror apt uses here (deb822 sources or the one-line format).
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '$1 == "URIs:" {print $2}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1 == "deb" {print $2}'
    true  # one of the two kinds of file may be missing
  } | awk '!/security/' | head -n 1
}

base_image() {
  has_image "$base" && return
  local tarball=$cache/debian-bookworm-minbase.tar
  if [ ! -s "$tarball" ]; then
    local url root
    url=$(mirror)
    root=$(mktemp -d /var/tmp/vnetweb-rootfs.XXXXXX)
    echo "==> debootstrap bookworm from $url (about 40 s, once: cached in $tarball)"
    debootstrap --variant=minbase bookworm "$root" "$url" >"$cache/debootstrap.log" 2>&1 ||
      { tail -n 20 "$cache/debootstrap.log" >&2; rm -rf "$root"; exit 1; }
    # What the official image has too: the security and updates suites, no daemon started by a
    # package's install script, no apt caches kept.
    cat >"$root/etc/apt/sources.list" <<SOURCES
deb $url bookworm main
deb $url bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod 755 "$root/usr/sbin/policy-rc.d"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" --numeric-owner -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$root"
  fi
  echo "==> Importing $tarball as $base"
  "$docker" import --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null
}

standin() {
  local name=$1 dir=$2
  if has_image "$name" &&
    [ "$("$docker" image inspect -f "{{index .Config.Labels \"$standin_label\"}}" "$name")" != true ]; then
    echo "==> $name: using the image already here"
    return
  fi
  echo "==> Building the stand-in $name"
  DOCKER_BUILDKIT=0 "$docker" build --network host --label "$standin_label=true" -t "$name" "$dir" >/dev/null
}

mkdir -p "$cache"
base_image
standin postgres:15 docker/standins/postgres
standin redis:7 docker/standins/redis
echo "==> Building vnetweb:latest"
# The machine's own certificate authorities (a proxy that re-signs TLS to PyPI, say), for pip.
extra_ca=$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)
DOCKER_BUILDKIT=0 "$docker" build -q --network host --build-arg EXTRA_CA_CERTS="$extra_ca" \
  -t vnetweb:latest . >/dev/null
