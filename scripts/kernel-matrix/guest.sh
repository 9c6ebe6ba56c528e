#!/bin/bash
# PID 1 of the kernel matrix's guest, in the host's root (read-only 9p under a tmpfs overlay, so
# whatever the tests write stays in the guest): mounts what a booted Debian has, makes the kernel
# load modules on demand from the guest kernel's own tree (busybox modprobe), runs the command the
# host left in /mnt/out/command from the checkout $1, and writes its exit code to /mnt/out/exit-code.
ROOT="$1"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CI="${CI:-true}"
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mkdir -p /run/netns /run/kernel-matrix
ln -s /bin/busybox /run/kernel-matrix/modprobe
echo /run/kernel-matrix/modprobe > /proc/sys/kernel/modprobe
ip link set lo up
hostname kernel-matrix
out=/mnt/out
{
  echo "kernel $(uname -r)"
  cd "$ROOT" && . scripts/env.sh && bash "$out/command"
  echo $? > "$out/exit-code"
} 2>&1 | tee "$out/guest.log"
sync
/bin/busybox poweroff -f
