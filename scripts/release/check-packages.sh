#!/usr/bin/env bash
# The packages as a user gets them (scripts/test.sh runs this after the unit tests, once every package
# is built): `npm pack` of every publishable package into a temporary directory outside the
# repository (each pack runs the package's prepack check, scripts/release/check-pack.mjs), and
# `npm publish --dry-run` of every package; then the tarballs alone are installed (with their
# dependencies from the registry) into an empty directory, where the installed `bpfsteer --help`
# runs, `bpfsteer validate` passes every agent config of the READMEs (the installed packages' and
# the repository's), and tsc type-checks every complete TypeScript example of those READMEs (the
# root README's "Compose your own agent" among them) against the installed packages.
# The temporary directories are removed at exit, also on failure and on Ctrl-C.
#
# Usage: scripts/release/check-packages.sh      (no privileges needed; the npm registry reachable)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=../env.sh
. "$ROOT/scripts/env.sh"
log() { printf '[check-packages] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bpfsteer-check-packages.XXXXXX")
case "$WORK/" in "$ROOT"/*) rm -rf "$WORK"; die "TMPDIR is inside the repository: set it elsewhere" ;; esac
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
PACK="$WORK/pack" APP="$WORK/app"
mkdir -p "$PACK" "$APP"
start=$(date +%s)
step=$start
took() { local now; now=$(date +%s); log "$1 ($((now - step)) s)"; step=$now; }
# runs a command quietly; its output is shown only when it fails
quiet() { local out="$WORK/out.log"; "$@" >"$out" 2>&1 || { tail -n 40 "$out" >&2; die "failed: $*"; }; }

# --- 1. pack (prepack checks) and publish --dry-run, from the workspace ------------------------------
quiet npm pack --workspaces --pack-destination "$PACK" --loglevel=error
mapfile -t tarballs < <(find "$PACK" -name '*.tgz' | sort)
expected=$(node -e 'import("./scripts/release/workspace-packages.mjs").then((m) => console.log(m.publishablePackages().length))')
[ "${#tarballs[@]}" = "$expected" ] || die "npm pack made ${#tarballs[@]} tarballs for $expected packages"
for tgz in "${tarballs[@]}"; do
  tar tzf "$tgz" >"$WORK/files.txt"
  grep -qx 'package/LICENSE' "$WORK/files.txt" || die "$(basename "$tgz") holds no LICENSE"
done
took "npm pack: ${#tarballs[@]} packages, each through its prepack check"
quiet npm publish --dry-run --workspaces --loglevel=error
took "npm publish --dry-run: every package"

# --- 2. the tarballs installed into an empty directory -------------------------------------------------
printf '{ "name": "bpfsteer-check-packages", "private": true, "type": "module" }\n' >"$APP/package.json"
(cd "$APP" && quiet npm install --no-audit --no-fund --prefer-offline --loglevel=error "${tarballs[@]}")
took "npm install of the tarballs into $APP"

bpfsteer="$APP/node_modules/.bin/bpfsteer"
"$bpfsteer" --help >"$WORK/help.txt" || die "the installed bpfsteer --help failed"
grep -q '^Usage: bpfsteer' "$WORK/help.txt" || die "the installed bpfsteer --help printed no usage"

# --- 3. the READMEs' examples against the installed packages ---------------------------------------------
cp README.md "$APP/README.md"
mapfile -t readmes < <(cd "$APP" && printf '%s\n' README.md node_modules/@bpfsteer/*/README.md)
node scripts/release/readme-examples.mjs "$APP" --type-roots "$ROOT/node_modules/@types" "${readmes[@]}" >"$WORK/examples.txt"
configs=0
while read -r kind file source; do
  [ "$kind" = config ] || continue
  "$bpfsteer" validate -c "$file" >/dev/null || die "bpfsteer validate refused the config of $source"
  configs=$((configs + 1))
done <"$WORK/examples.txt"
[ "$configs" -gt 0 ] || die "no agent config found in the READMEs"
took "installed bpfsteer: --help, validate of $configs README configs"

programs=$(grep -c '^program ' "$WORK/examples.txt" || true)
# the fence of the first TypeScript block under the root README's "Compose your own agent"
compose=$(awk '/^## / { on = ($0 == "## Compose your own agent") } on && /^```ts/ { print NR; exit }' README.md)
grep -q "^program .* README.md:${compose:-none}\$" "$WORK/examples.txt" ||
  die "the root README's \"Compose your own agent\" has no TypeScript example to check"
(cd "$APP" && node "$ROOT/node_modules/typescript/bin/tsc" -p tsconfig.json) >"$WORK/tsc.txt" 2>&1 || {
  cat "$WORK/tsc.txt" >&2
  grep '^program ' "$WORK/examples.txt" | sed "s#^program $APP/##" >&2
  die "the README examples do not type-check against the installed packages (files above: example -> README line)"
}
took "tsc: $programs README examples type-check against the installed packages"
log "every package packs, installs and runs its README examples, in $(($(date +%s) - start)) s"
