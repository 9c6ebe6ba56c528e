#!/usr/bin/env bash
# The kernel matrix: runs a command of the checkout on Debian 12's own kernel (6.1, the newest
# linux-image-6.1.0-*-amd64 Debian has) in qemu (TCG: no KVM on these machines), the host's root
# shared read-only over 9p under a tmpfs overlay in the guest, so the guest runs the host's node,
# libbpf, tools and this checkout as built here, and nothing it writes reaches the host except its
# results directory.
#
#   scripts/test-kernel-matrix.sh [COMMAND...]
#
# COMMAND runs in the checkout's root in the guest (bash, after scripts/env.sh); default: the kernel
# matrix's own suite, scripts/kernel-matrix/suite.sh. Its output goes to the console and to
# $KM_OUT/guest.log (default .cache/kernel-matrix/out); the exit code is the command's.
# Needs root, the checkout built (scripts/setup.sh), qemu-system-x86 and busybox-static (installed
# here when missing), and Debian's package archive (the kernel's .deb, fetched once into .cache).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { echo "[kernel-matrix] $*" >&2; }
# shellcheck source=apt-install.sh
. "$ROOT/scripts/apt-install.sh"
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"

CACHE="$ROOT/.cache/kernel-matrix"
OUT="${KM_OUT:-$CACHE/out}"
MEMORY="${KM_MEMORY:-4G}"
TIMEOUT="${KM_TIMEOUT:-1800}"
mkdir -p "$CACHE"
apt_install_missing qemu-system-x86 busybox-static

# --- the kernel: Debian's generic 6.1 flavour (the -cloud- one has no 9p), as linux-image-amd64 names it
kernel_package() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-6\.1\.[0-9.-]*-amd64\)$/\1/p' | head -1; }
package="$(kernel_package)"
if [ -z "$package" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  package="$(kernel_package)"
fi
[ -n "$package" ] || { log "Debian's archive names no linux-image-6.1 package (apt-cache depends linux-image-amd64)"; exit 2; }
release="${package#linux-image-}"
tree="$CACHE/$release"
if [ ! -f "$tree/boot/vmlinuz-$release" ]; then
  log "fetching $package"
  rm -rf "$tree" "$CACHE/deb" && mkdir -p "$CACHE/deb"
  (cd "$CACHE/deb" && apt-get download -q "$package" 2>/dev/null)
  dpkg-deb -x "$CACHE"/deb/"$package"_*.deb "$tree.tmp"
  # modules.dep and modules.alias, so that the guest kernel loads modules on demand (busybox modprobe)
  busybox depmod -b "$tree.tmp" "$release"
  mv "$tree.tmp" "$tree"
  rm -rf "$CACHE/deb"
fi

# --- the initramfs: busybox, /init, and the modules needed to reach the host's root
initramfs="$CACHE/initramfs-$release.cpio.gz"
if [ ! -f "$initramfs" ] || [ "$ROOT/scripts/kernel-matrix/init" -nt "$initramfs" ]; then
  staging="$(mktemp -d)"
  mkdir -p "$staging"/{bin,proc,sys,dev,modules}
  cp /bin/busybox "$staging/bin/busybox"
  cp "$ROOT/scripts/kernel-matrix/init" "$staging/init"
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay; do
    found="$(find "$tree/lib/modules/$release" -name "$m.ko" | head -1)"
    [ -n "$found" ] || { log "module $m.ko not in $package"; exit 2; }
    cp "$found" "$staging/modules/"
  done
  (cd "$staging" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$initramfs.tmp")
  mv "$initramfs.tmp" "$initramfs"
  rm -rf "$staging"
fi

# --- run
rm -rf "$OUT" && mkdir -p "$OUT"
if [ $# -gt 0 ]; then printf '%q ' "$@" > "$OUT/command"; else echo 'bash scripts/kernel-matrix/suite.sh' > "$OUT/command"; fi
log "booting $release (qemu TCG, 2 vCPUs, $MEMORY): $(cat "$OUT/command")"
start=$(date +%s)
set +e
timeout --foreground -k 10 "$TIMEOUT" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m "$MEMORY" -nographic -no-reboot \
  -kernel "$tree/boot/vmlinuz-$release" -initrd "$initramfs" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 km.root=$ROOT km.modules=$tree" \
  -virtfs "local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap" \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=passthrough,multidevs=remap" \
  -nic none < /dev/null
qemu_status=$?
set -e
log "guest done in $(($(date +%s) - start)) s (qemu exit $qemu_status)"
if [ ! -f "$OUT/exit-code" ]; then
  log "the guest wrote no exit code (qemu exit $qemu_status; $TIMEOUT s time-out: 124)"
  exit 3
fi
status="$(cat "$OUT/exit-code")"
# what the suite ran, per suite, and the programs loaded (only the default suite writes them)
if [ $# -eq 0 ]; then node scripts/kernel-matrix/summary.mjs "$OUT" || status=1; fi
exit "$status"
