#!/usr/bin/env bash
# Runs every test: unit suites, then kernel suites (real programs, netns, veth, cgroups, traffic) on
# this machine's kernel and, in qemu, on Debian 12's 6.1 (scripts/test-kernel-matrix.sh), after
# installing whatever is missing. A skipped or pending kernel test fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"

if [ "$(id -u)" != 0 ]; then echo "test.sh: kernel tests need root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 2; fi

find packages apps scripts -path '*/node_modules' -prune -o -name 'test-results' -type d -print | xargs rm -rf
status=0
node scripts/check-import-cycles.mjs || status=$?
npx nx run-many -t test --outputStyle=static --skipNxCache || status=$?
# every package packed (its prepack check), published with --dry-run, installed from the tarballs
# into an empty directory, and the READMEs' configs and TypeScript examples checked there
bash scripts/release/check-packages.sh || status=$?
# the agent's image, which apps/agent/test/image.kernel.test.ts runs (in CI that test fails without it)
bash scripts/build-image.sh || status=$?
npx nx run-many -t test:kernel --parallel=1 --outputStyle=static || status=$?
# the same programs and the plugins' and agent's kernel suites on Debian 12's own kernel (6.1), in qemu
bash scripts/test-kernel-matrix.sh || status=$?
node scripts/test-summary.mjs || status=$?
exit $status
