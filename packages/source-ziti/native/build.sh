#!/bin/sh
# Builds the native bpfsteer-diverter client (bpfsteer-diverter.c) for linux x64 and arm64 into
# dist/native/linux-<arch>/bpfsteer-diverter: static (no libraries needed on the router), stripped.
# The host's architecture is required; the other is built when its cross compiler is installed
# (scripts/setup.sh installs gcc-aarch64-linux-gnu / gcc-x86-64-linux-gnu), else skipped with a note.
set -eu
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
flags="-std=c11 -O2 -Wall -Wextra -Werror -static -s -DBPFSTEER_VERSION=\"$version\""
host=$(uname -m)
build() { # arch compiler
  out="dist/native/linux-$1"
  mkdir -p "$out"
  # shellcheck disable=SC2086
  "$2" $flags -o "$out/bpfsteer-diverter.tmp" native/bpfsteer-diverter.c
  mv "$out/bpfsteer-diverter.tmp" "$out/bpfsteer-diverter"
}
for arch in x64 arm64; do
  case "$arch" in x64) triple=x86_64 ;; arm64) triple=aarch64 ;; esac
  if [ "$host" = "$triple" ]; then
    build "$arch" "${CC:-cc}"
  elif command -v "$triple-linux-gnu-gcc" >/dev/null 2>&1; then
    build "$arch" "$triple-linux-gnu-gcc"
  else
    echo "native/build.sh: no $triple-linux-gnu-gcc: the linux-$arch client is not built" >&2
  fi
done
