#!/usr/bin/env bash
# The main job: the agent on its embedded default config. It builds a throw-away netns lab, shows
# traffic failing, steers it with the agent, and shows it failing again once the agent stops.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh"
# shellcheck source=env.sh
. "$ROOT/scripts/env.sh"
exec node "$ROOT/apps/agent/dist/bin.js" demo "$@"
