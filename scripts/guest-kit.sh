#!/usr/bin/env bash
# Builds the test guest kit: Debian's cloud kernel and a busybox initramfs whose /init keeps one
# DHCP client running per NIC, hot-plugged NICs included (tests/real.py's qemu_guest boots it).
#   scripts/guest-kit.sh           build when missing or out of date; a no-op otherwise
#   scripts/guest-kit.sh --force   rebuild
# Only Debian packages go in: the kernel package (fetched with apt-get download) and busybox-static.
set -euo pipefail
cd "$(dirname "$0")/.."

# Where QEMU (user libvirt-qemu) reads the kernel from; tests/real.py reads the same variable.
kit=${VNWT_GUEST_KIT_DIR:-/var/lib/libvirt/images/vnwt-guest-kit}
cache=/var/cache/vnwt-guest-kit
meta=linux-image-cloud-amd64
wanted=(virtio_pci virtio_net) # loaded with what they need, in modules.dep's order

force=false
[ "${1:-}" = "--force" ] && force=true

script_hash=$(sha256sum "$0" | cut -c1-16)
# Current: built by this very script, and apt has learned of no package since (asking apt costs
# ~1.6 s here, where its package cache is switched off).
if ! $force && [ -s "$kit/vmlinuz" ] && [ -s "$kit/initrd.img" ] && [ -e "$kit/stamp" ] &&
  [ "$(cut -d' ' -f2 "$kit/stamp")" = "$script_hash" ] &&
  [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$kit/stamp")" ]; then
  exit 0
fi

kernel_package() {
  apt-cache depends "$meta" 2>/dev/null |
    awk '/Depends: linux-image-/ && !found { print $2; found = 1 }'
}
package=$(kernel_package)
if [ -z "$package" ]; then
  apt-get update -q >/dev/null
  package=$(kernel_package)
fi
[ -n "$package" ] || { echo "guest-kit: apt knows no $meta" >&2; exit 1; }
stamp="$package $script_hash"
if ! $force && [ -s "$kit/vmlinuz" ] && [ -s "$kit/initrd.img" ] &&
  [ "$(cat "$kit/stamp" 2>/dev/null)" = "$stamp" ]; then
  touch "$kit/stamp"
  exit 0
fi
echo "==> Building the test guest kit in $kit ($package)"
if [ ! -x /bin/busybox ]; then
  echo "guest-kit: busybox-static is missing (scripts/setup.sh --test installs it)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
deb=$(find "$cache" -name "${package}_*.deb" | head -1)
if [ -z "$deb" ]; then
  # The sandbox user _apt may not write here; root downloading one signed package is fine.
  (cd "$work" && apt-get download -q -o APT::Sandbox::User=root "$package" >/dev/null)
  rm -f "$cache"/linux-image-*.deb # an older kernel's package is of no more use
  mv "$work"/"${package}"_*.deb "$cache"/
  deb=$(find "$cache" -name "${package}_*.deb" | head -1)
fi
dpkg -x "$deb" "$work/pkg"
release=${package#linux-image-}
moddir=$work/pkg/lib/modules/$release
busybox depmod -b "$work/pkg" "$release"

# modules.dep lists a module's dependencies so that loading them right to left works.
root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,run,modules}
order=()
for module in "${wanted[@]}"; do
  line=$(grep -E "(^|/)$module\.ko:" "$moddir/modules.dep" || true)
  if [ -z "$line" ]; then
    grep -qE "/$module\.ko$" "$moddir/modules.builtin" && continue
    echo "guest-kit: $release has no module $module" >&2
    exit 1
  fi
  read -r -a deps <<<"${line#*:}"
  paths=()
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do paths+=("${deps[i]}"); done
  for path in "${paths[@]}" "${line%%:*}"; do
    name=$(basename "$path" .ko)
    [[ " ${order[*]} " == *" $name "* ]] && continue
    order+=("$name")
    cp "$moddir/$path" "$root/modules/"
  done
done
echo "${order[*]}" >"$root/modules/order"

cp /bin/busybox "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
mknod -m 600 "$root/dev/console" c 5 1

cat >"$root/init" <<'EOF'
#!/bin/sh
# PID 1 of vnetweb's test guest: one udhcpc per NIC, restarted when its link comes back up.
export PATH=/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1

say() { echo "vnwt-guest: [$(cut -d" " -f1 /proc/uptime)] $*"; }
name=vnwt-vm
for arg in $(cat /proc/cmdline); do
  case $arg in vnwt.hostname=*) name=${arg#vnwt.hostname=} ;; esac
done
hostname "$name"
say "$name up, kernel $(uname -r)"
for module in $(cat /modules/order); do
  insmod "/modules/$module.ko" || say "insmod $module failed"
done
ip link set lo up
mkdir -p /run/nic

running() { # a live udhcpc for NIC $1 (a zombie does not count)
  pid=$(cat "/run/nic/$1.pid" 2>/dev/null) || return 1
  [ -e "/proc/$pid/status" ] && ! grep -q '^State:.Z' "/proc/$pid/status"
}
stop_dhcp() {
  running "$1" && kill "$(cat "/run/nic/$1.pid")"
  rm -f "/run/nic/$1.pid"
}
start_dhcp() {
  udhcpc -f -R -i "$1" -s /udhcpc-script -x "hostname:$name" -t 3 -T 1 -A 1 &
  echo $! >"/run/nic/$1.pid"
}

while :; do
  for dir in /sys/class/net/eth*; do
    [ -d "$dir" ] || continue
    nic=${dir##*/}
    # A new NIC, or a new link-up on it (carrier_up_count catches a down/up between two looks).
    seen="$(cat "$dir/ifindex"):$(cat "$dir/carrier_up_count")"
    if [ "$(cat "/run/nic/$nic.seen" 2>/dev/null)" != "$seen" ]; then
      [ -e "/run/nic/$nic.seen" ] || say "$nic appeared, mac $(cat "$dir/address")"
      echo "$seen" >"/run/nic/$nic.seen"
      ip link set "$nic" up
      if [ "$(cat "$dir/carrier" 2>/dev/null)" = 1 ]; then
        say "$nic link up: asking for a lease"
        stop_dhcp "$nic"
        start_dhcp "$nic"
      fi
    elif [ "$(cat "$dir/carrier" 2>/dev/null)" = 1 ] && ! running "$nic"; then
      start_dhcp "$nic"
    fi
  done
  for seen in /run/nic/*.seen; do
    [ -e "$seen" ] || continue
    nic=${seen##*/}
    nic=${nic%.seen}
    [ -d "/sys/class/net/$nic" ] && continue
    say "$nic gone"
    stop_dhcp "$nic"
    rm -f "/run/nic/$nic".*
  done
  jobs >/dev/null # lets the shell reap the clients that ended
  sleep 0.3
done
EOF

cat >"$root/udhcpc-script" <<'EOF'
#!/bin/sh
# udhcpc's event script: configures the NIC inside the guest only.
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound | renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    echo "vnwt-guest: [$(cut -d" " -f1 /proc/uptime)] $interface $1 $ip/${mask:-24}"
    ;;
esac
exit 0
EOF
chmod 755 "$root/init" "$root/udhcpc-script"

# QEMU runs as libvirt-qemu: everything on the way must be readable to it (checked below).
[ -d "$(dirname "$kit")" ] || mkdir -p -m 711 "$(dirname "$kit")" # as Debian's libvirt makes it
mkdir -p -m 755 "$kit"
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null) | gzip -6 >"$kit/initrd.img.new"
cp "$work/pkg/boot/vmlinuz-$release" "$kit/vmlinuz.new"
chmod 644 "$kit/initrd.img.new" "$kit/vmlinuz.new"
mv "$kit/initrd.img.new" "$kit/initrd.img"
mv "$kit/vmlinuz.new" "$kit/vmlinuz"
for file in vmlinuz initrd.img; do
  setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --clear-groups test -r "$kit/$file" || {
    echo "guest-kit: libvirt-qemu cannot read $kit/$file" >&2
    exit 1
  }
done
echo "$stamp" >"$kit/stamp"
echo "==> Guest kit ready: modules ${order[*]}"
