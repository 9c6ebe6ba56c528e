#!/usr/bin/env bash
# Runs every benchmark (bench/*.bench.mjs) after installing what is missing; each prints a table
# with its baseline measured in the same run. Usage: scripts/bench.sh [bench-name-prefix ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"
exec node "$ROOT/bench/run.mjs" "$@"
