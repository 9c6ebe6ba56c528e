#!/usr/bin/env bash
# Builds the agent's container image from Debian and npm packages only (no container registry is
# contacted): a minimal Debian 12 root filesystem made by mmdebstrap (cached between runs), Node 24
# from the npm package node-linux-<arch>@24, and every workspace package as `npm pack` makes it,
# installed with its runtime dependencies at the versions of package-lock.json. buildah puts them in
# an image from scratch (two layers: Debian, then Node and bpfsteer) and writes an OCI archive.
# Run as root, after scripts/setup.sh (which builds the packages). Idempotent; no prompt (CI).
#
# Usage: scripts/build-image.sh [--output FILE]
#   --output FILE, or BPFSTEER_IMAGE    the OCI archive (default dist/image/bpfsteer-agent.oci.tar)
#   BPFSTEER_IMAGE_CACHE                the cached Debian rootfs (default .tools/image-cache)
#   BPFSTEER_IMAGE_WORK                 scratch space with buildah's own storage, deleted at exit
#                                       (default .scratch/image-build)
#   BPFSTEER_IMAGE_STORAGE_DRIVER       overlay or vfs (default: overlay where the filesystem allows it)
#   BPFSTEER_IMAGE_REFRESH=1            make the Debian rootfs again even if the cached one fits
#   BPFSTEER_IMAGE_ROOTFS_MAX_DAYS      a cached rootfs older than this is made again, to pick up
#                                       Debian's security updates (default 7)
#   BPFSTEER_IMAGE_EXTRA_PACKAGES       more Debian packages, e.g. "iproute2 procps iputils-ping"
#                                       for `bpfsteer demo` (its lab runs ip, sysctl and ping)
#   BPFSTEER_IMAGE_SOURCE               label org.opencontainers.image.source (default: git's origin)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[build-image] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

OUT="${BPFSTEER_IMAGE:-$ROOT/dist/image/bpfsteer-agent.oci.tar}"
while [ $# -gt 0 ]; do
  case "$1" in
    --output) [ $# -ge 2 ] || die "--output needs a file"; OUT="$2"; shift 2 ;;
    --output=*) OUT="${1#--output=}"; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
case "$OUT" in /*) ;; *) OUT="$PWD/$OUT" ;; esac
CACHE="${BPFSTEER_IMAGE_CACHE:-$ROOT/.tools/image-cache}"
WORK="${BPFSTEER_IMAGE_WORK:-$ROOT/.scratch/image-build}"
STORE="$WORK/storage"
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap --mode=root and buildah's own storage need it)"

# the tools (uidmap: buildah needs it)
APT_PKGS=(mmdebstrap buildah crun uidmap)
# shellcheck source=apt-install.sh
. "$ROOT/scripts/apt-install.sh"
apt_install_missing "${APT_PKGS[@]}"

# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"
command -v npm >/dev/null || die "no npm on PATH: run scripts/setup.sh first"
[ -f apps/agent/dist/bin.js ] || die "apps/agent is not built: run scripts/setup.sh first"

mkdir -p "$CACHE" "$(dirname "$OUT")"
# one build at a time per cache (the work dir and the cached rootfs are shared by every run)
exec 9>"$CACHE/.lock"
flock -n 9 || die "another build-image.sh holds $CACHE/.lock"

# Any earlier image goes first: a failed build must not leave an old archive for the tests to pass on.
rm -f "$OUT" "$OUT.partial"

# Whatever happens, the containers and images made here go with the work dir, and nothing stays
# mounted (buildah rm unmounts; the umount loop is for a buildah killed in the middle).
bh() { buildah --root "$STORE/root" --runroot "$STORE/run" --storage-driver "$DRIVER" "$@"; }
# buildah 1.28 (containers/image) keeps a blob-info cache in /var/lib/containers/cache whatever
# --root says, and has no flag to move it: when this run made that directory, it goes too.
varlib_was_there=false
[ ! -e /var/lib/containers ] || varlib_was_there=true
cleanup() {
  if [ -d "$STORE/root" ] && [ -n "${DRIVER:-}" ]; then bh rm --all >/dev/null 2>&1 || true; fi
  if [ -d "$WORK" ]; then
    awk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m" || true; done
    rm -rf "$WORK"
  fi
  if [ "$varlib_was_there" = false ] && [ -d /var/lib/containers ] &&
    [ -z "$(find /var/lib/containers -mindepth 1 ! -path /var/lib/containers/cache ! -path /var/lib/containers/cache/blob-info-cache-v1.boltdb)" ]; then
    rm -rf /var/lib/containers
  fi
}
trap cleanup EXIT
cleanup
mkdir -p "$WORK/tmp"
export TMPDIR="$WORK/tmp" # buildah's temporary blobs stay in the work dir, not /var/tmp

start=$(date +%s)
arch_deb=$(dpkg --print-architecture)
arch_node=$(node -p process.arch)

# --- 1. Debian rootfs (cached) ----------------------------------------------------------------------
# What the agent needs at run time: libbpf.so.1 (core-bpf loads it with koffi; it brings libelf and
# zlib), libc.so.6, libstdc++ (the node binary links it), ca-certificates. Nothing else: `run`,
# `validate`, `status`, `health` and `manifests` start no program; only `demo` does (its netlab runs
# ip, sysctl, ping: see BPFSTEER_IMAGE_EXTRA_PACKAGES). Variant apt (essential packages and apt,
# without the "required" ones minbase adds); merged /usr set up by mmdebstrap's hook, so that the
# usrmerge package and the perl it needs stay out; no docs, man pages, locales or info.
SUITE=bookworm
read -r -a extra <<<"${BPFSTEER_IMAGE_EXTRA_PACKAGES:-}"
INCLUDE=(libbpf1 libstdc++6 ca-certificates "${extra[@]}")
# shellcheck disable=SC2016 # the customize hook's $1 is expanded by mmdebstrap's shell
MMDEBSTRAP_ARGS=(
  --mode=root --variant=apt --format=tar
  "--include=$(IFS=,; echo "${INCLUDE[*]}")"
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
  --dpkgopt='path-exclude=/usr/share/man/*'
  --dpkgopt='path-exclude=/usr/share/info/*'
  --dpkgopt='path-exclude=/usr/share/doc/*'
  --dpkgopt='path-include=/usr/share/doc/*/copyright'
  --dpkgopt='path-exclude=/usr/share/locale/*'
  --dpkgopt='path-include=/usr/share/locale/locale.alias'
  # the host's resolv.conf and hostname (mmdebstrap copies them) and the build's logs stay out;
  # the runtime provides the first two ($1: the new root, expanded by mmdebstrap's shell)
  --customize-hook='rm -f "$1/etc/resolv.conf" "$1/etc/hostname" "$1/var/log/dpkg.log" "$1/var/log/alternatives.log" "$1"/var/log/apt/*.log "$1/var/cache/ldconfig/aux-cache"'
)
key=$(printf '%s\n' "$SUITE" "$arch_deb" "${MMDEBSTRAP_ARGS[@]}" | sha256sum | cut -c1-16)
rootfs="$CACHE/debian-$SUITE-$arch_deb-$key.tar"
max_days="${BPFSTEER_IMAGE_ROOTFS_MAX_DAYS:-7}"
if [ -s "$rootfs" ] && [ "${BPFSTEER_IMAGE_REFRESH:-}" != 1 ] && [ -z "$(find "$rootfs" -mtime +"$max_days")" ]; then
  log "Debian $SUITE rootfs: cached ($(basename "$rootfs"))"
else
  log "Debian $SUITE rootfs: mmdebstrap (${INCLUDE[*]})"
  t=$(date +%s)
  # /dev entries out: the runtime makes /dev; device nodes in a layer are of no use
  # (its hooks talk even with --quiet: the log is shown only when it fails)
  if ! mmdebstrap --quiet "${MMDEBSTRAP_ARGS[@]}" "$SUITE" - 2>"$WORK/mmdebstrap.log" |
    mmtarfilter --path-exclude='/dev/*' >"$rootfs.partial"; then
    tail -n 40 "$WORK/mmdebstrap.log" >&2
    rm -f "$rootfs.partial"
    die "mmdebstrap failed"
  fi
  mv -f "$rootfs.partial" "$rootfs"
  find "$CACHE" -maxdepth 1 -name 'debian-*.tar' ! -path "$rootfs" -delete # rootfs of other inputs
  log "Debian $SUITE rootfs: $(($(stat -c %s "$rootfs") / 1048576)) MiB in $(($(date +%s) - t)) s"
fi

# --- 2. Node 24 --------------------------------------------------------------------------------------
# The one setup.sh installed (the Node the tests run on) when there is one, else the same npm package
# installed into the cache. Only its bin/node goes into the image.
node_bin="$ROOT/.tools/node24/node_modules/node-linux-$arch_node/bin/node"
if [ ! -x "$node_bin" ]; then
  node_bin="$CACHE/node24/node_modules/node-linux-$arch_node/bin/node"
  if [ ! -x "$node_bin" ]; then
    log "installing node-linux-$arch_node@24 from the npm registry"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$CACHE/node24" "node-linux-$arch_node@24" >/dev/null
  fi
fi
node_version=$("$node_bin" --version)
case "$node_version" in v24.*) ;; *) die "$node_bin is $node_version, not Node 24" ;; esac

# --- 3. The packages: npm pack, checked, installed at the lock's versions -------------------------
log "npm pack of every workspace package"
mkdir -p "$WORK/pack"
npm pack --workspaces --pack-destination "$WORK/pack" --json --loglevel=error >"$WORK/pack.json"
# "<workspace dir> <tarball>" per package, the dir as package-lock.json knows it
# shellcheck disable=SC2016 # JavaScript, not shell
node -e '
  const packed = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const lock = require(process.argv[2]).packages;
  for (const p of packed) {
    const dir = Object.keys(lock).find((k) => k && !k.includes("node_modules/") && lock[k].name === p.name);
    if (!dir) throw new Error(`${p.name} is not a workspace of package-lock.json`);
    console.log(dir, p.filename);
  }' "$WORK/pack.json" "$ROOT/package-lock.json" >"$WORK/pack.list"
[ -s "$WORK/pack.list" ] || die "npm pack made no tarball"

# The tarballs are all that goes into the image: each must hold its dist/ and its BPF objects.
while read -r dir tgz; do
  tar tzf "$WORK/pack/$tgz" >"$WORK/pack/$tgz.files"
  grep -q '^package/dist/.*\.js$' "$WORK/pack/$tgz.files" || die "$tgz has no dist/*.js (is $dir built?)"
  for obj in "$dir"/bpf/*.bpf.o; do
    [ -e "$obj" ] || continue
    grep -qx "package/bpf/$(basename "$obj")" "$WORK/pack/$tgz.files" || die "$tgz lacks bpf/$(basename "$obj")"
  done
done <"$WORK/pack.list"
agent_dir=$(awk '$1 == "apps/agent" { print $1 }' "$WORK/pack.list")
[ -n "$agent_dir" ] || die "no tarball of apps/agent"
if ! grep -q '\.bpf\.o$' "$WORK/pack"/*.files; then die "no BPF object in any tarball (make -C bpf)"; fi

# The monorepo's layout in /opt/bpfsteer, each workspace filled from its tarball alone, then
# `npm ci --omit=dev`: the third-party packages are the ones package-lock.json names (installing the
# tarballs by themselves resolved 7 of 116 packages to other versions than the tests used).
APP="$WORK/app/opt/bpfsteer"
mkdir -p "$APP"
cp package.json package-lock.json "$APP/"
while read -r dir tgz; do
  mkdir -p "$APP/$dir"
  tar xzf "$WORK/pack/$tgz" -C "$APP/$dir" --strip-components=1 --no-same-owner
done <"$WORK/pack.list"
log "npm ci --omit=dev into /opt/bpfsteer"
npm ci --prefix "$APP" --omit=dev --no-audit --no-fund --loglevel=error >/dev/null
bin_rel=$(node -p 'require("path").posix.normalize(require(process.argv[1]).bin.bpfsteer)' "$APP/apps/agent/package.json")
[ -x "$APP/apps/agent/$bin_rel" ] || die "apps/agent's bin $bin_rel is missing or not executable"
version=$(node -p 'require(process.argv[1]).version' "$APP/apps/agent/package.json")

# --- 4. The image ------------------------------------------------------------------------------------
# buildah's storage is the work dir's own (nothing in /var/lib/containers). overlay needs a backing
# filesystem that is not itself overlayfs (a CI container's root often is): vfs then.
DRIVER="${BPFSTEER_IMAGE_STORAGE_DRIVER:-overlay}"
if ! err=$(bh info 2>&1 >/dev/null); then
  [ -z "${BPFSTEER_IMAGE_STORAGE_DRIVER:-}" ] || die "storage driver $DRIVER: $err"
  log "overlay storage not usable here ($(printf '%s' "$err" | grep -m1 '^Error' || true)); using vfs"
  rm -rf "$STORE"
  DRIVER=vfs
  bh info >/dev/null
fi
log "buildah $(buildah --version | awk '{ print $3 }'), storage driver $DRIVER"
# every file of both layers and the image's creation date get the last commit's time: the same
# inputs give the same layers (the Debian layer is the same as long as the cached rootfs is)
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

ctr=$(bh from --name bpfsteer-image-base scratch)
mnt=$(bh mount "$ctr")
tar -xpf "$rootfs" -C "$mnt" --numeric-owner
bh umount "$ctr" >/dev/null
bh config --created-by "mmdebstrap --variant=apt $SUITE (${INCLUDE[*]})" "$ctr"
base=$(bh commit --rm --quiet --timestamp "$epoch" "$ctr" "localhost/debian-$SUITE-bpfsteer:$key")

ctr=$(bh from --pull=never --name bpfsteer-image "$base")
mnt=$(bh mount "$ctr")
install -m 0755 "$node_bin" "$mnt/usr/local/bin/node"
cp -a "$APP" "$mnt/opt/"
ln -s "/opt/bpfsteer/apps/agent/$bin_rel" "$mnt/usr/local/bin/bpfsteer"
# the image must run what it holds: its own node and loader, the agent's bin (no kernel needed;
# no compile cache written into the layer)
got=$(env -i PATH=/usr/local/bin:/usr/bin HOME=/root NODE_DISABLE_COMPILE_CACHE=1 "$(command -v chroot)" "$mnt" /usr/local/bin/bpfsteer --version) ||
  die "bpfsteer --version fails in the image's root"
[ "$got" = "$version" ] || die "bpfsteer --version in the image says $got, not $version"
size=$(du -sxm "$mnt" | cut -f1)
bh umount "$ctr" >/dev/null

# the source label only when it is a URL (a clone of a local path has none to give)
source_url="${BPFSTEER_IMAGE_SOURCE:-$(git config --get remote.origin.url 2>/dev/null || true)}"
source_label=()
case "$source_url" in
  https://* | http://* | ssh://* | git://* | git@*) source_label=(--label "org.opencontainers.image.source=$source_url") ;;
  *) log "no org.opencontainers.image.source label: origin '$source_url' is no URL (set BPFSTEER_IMAGE_SOURCE)" ;;
esac
bh config \
  --entrypoint '["/usr/local/bin/bpfsteer"]' \
  --cmd '["run", "-c", "/etc/bpfsteer/agent.yaml"]' \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --workingdir / \
  --stop-signal SIGTERM \
  --created-by 'scripts/build-image.sh' \
  --label org.opencontainers.image.title=bpfsteer-agent \
  --label 'org.opencontainers.image.description=bpfsteer agent: steers Linux traffic with eBPF from the intents of control planes' \
  --label "org.opencontainers.image.version=$version" \
  "${source_label[@]}" \
  --label "org.opencontainers.image.revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  "$ctr"
# gzip layers (buildah's default for an archive is uncompressed); the reference names the image
# for whoever loads the archive (skopeo copy oci-archive:FILE docker://..., podman load)
bh commit --rm --quiet --timestamp "$epoch" --disable-compression=false "$ctr" \
  "oci-archive:$OUT.partial:bpfsteer-agent:$version" >/dev/null
mv -f "$OUT.partial" "$OUT"

log "wrote $OUT: bpfsteer-agent $version, Node $node_version, Debian $SUITE; $size MiB unpacked, $(($(stat -c %s "$OUT") / 1048576)) MiB archive, in $(($(date +%s) - start)) s"
