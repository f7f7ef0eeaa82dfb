#!/usr/bin/env bash
# Installs what vnetweb needs on Debian 12, as root, and skips whatever is already there.
#   scripts/setup.sh          packages for running the site, and the virtualenv
#   scripts/setup.sh --test   also what the tests need: Chromium, udhcpc, dev packages, the
#                             test guest kit (scripts/guest-kit.sh) and axe-core (package.json)
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=false
[ "${1:-}" = "--test" ] && with_test=true

packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-config-network libvirt-clients
  libvirt-dev pkg-config gcc python3-dev dnsmasq-base iptables nftables iproute2 qemu-system-x86
  libxml2-utils redis-server python3-venv)
if $with_test; then
  # postgresql: tests/test_fleet_links_real.py runs a throw-away cluster of its own (bench/_services.py).
  # curl, jq: tests/test_api_docs_real.py runs docs/api.md's examples as written.
  packages+=(chromium udhcpc busybox-static openssh-server postgresql curl jq)
  # npm for axe-core; NodeSource's nodejs carries its own npm, Debian's comes apart.
  command -v npm >/dev/null || packages+=(npm)
fi

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> Installing Debian packages: ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "Run as root (apt-get needs it)." >&2; exit 1; }
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# libvirt's QEMU driver will not start without its user and group (Debian's defaults).
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
  useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
mkdir -p /var/log/libvirt /var/lib/libvirt /run/libvirt

# Under `make run` the web server and beat run as this unprivileged system user (no login shell,
# no home); only the Celery workers keep root, which libvirt, netlink and nft need.
getent passwd vnetweb >/dev/null ||
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin vnetweb
# What Debian's udev rule does on a host with systemd: QEMU (as libvirt-qemu, group kvm) may open
# /dev/kvm. Without it libvirt's capability probe (as root) sees KVM and its later check (as
# libvirt-qemu) does not, so it throws the probe away and probes QEMU again, ~30 s, on every
# domain define and start.
if [ -c /dev/kvm ] && [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
  chgrp kvm /dev/kvm && chmod 660 /dev/kvm
fi

# The virtualenv, reinstalled only when the pinned requirements change. The test set includes the
# run set, so a venv made by `make test` also serves `make run`.
python=${PYTHON:-python3}
# The web's user must be able to run the virtualenv's Python: one under /root (pyenv) it cannot.
if [ -z "${PYTHON:-}" ] && [ ! -x .venv/bin/python ] && [ -x /usr/bin/python3 ] &&
  ! runuser -u vnetweb -- "$(command -v "$python")" -c '' 2>/dev/null; then
  python=/usr/bin/python3
fi
run_stamp=.venv/.installed-run-$(sha256sum requirements.txt | cut -c1-16)
test_stamp=.venv/.installed-test-$(cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv"
  "$python" -m venv .venv
fi
if $with_test; then
  reqs=requirements-dev.txt wanted=$test_stamp satisfied_by=("$test_stamp")
else
  reqs=requirements.txt wanted=$run_stamp satisfied_by=("$run_stamp" "$test_stamp")
fi
installed=false
for stamp in "${satisfied_by[@]}"; do [ -e "$stamp" ] && installed=true; done
if ! $installed; then
  echo "==> Installing Python packages from $reqs"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$reqs"
  rm -f .venv/.installed-*
  touch "$wanted"
fi

# The kernel and initramfs the tests' QEMU guests boot (a no-op once built), and axe-core for the
# accessibility checks (tests/a11y.py), installed again only when package-lock.json changes.
if $with_test; then
  scripts/guest-kit.sh
  npm_stamp=node_modules/.installed-$(sha256sum package-lock.json | cut -c1-16)
  if [ ! -e "$npm_stamp" ]; then
    echo "==> Installing axe-core from package-lock.json"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$npm_stamp"
  fi
fi
