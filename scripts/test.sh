#!/usr/bin/env bash
# Runs every test: unit suites, then kernel suites (real programs, netns, veth, cgroups, traffic),
# after installing whatever is missing. A skipped or pending kernel test fails the run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"

if [ "$(id -u)" != 0 ]; then echo "test.sh: kernel tests need root (CAP_BPF, CAP_NET_ADMIN)" >&2; exit 2; fi

find packages apps -path '*/node_modules' -prune -o -name 'test-results' -type d -print | xargs rm -rf
status=0
node scripts/check-import-cycles.mjs || status=$?
npx nx run-many -t test --outputStyle=static --skipNxCache || status=$?
# the agent's image, which apps/agent/test/image.kernel.test.ts runs (in CI that test fails without it)
bash scripts/build-image.sh || status=$?
npx nx run-many -t test:kernel --parallel=1 --outputStyle=static || status=$?
node scripts/test-summary.mjs || status=$?
exit $status
