#!/usr/bin/env bash
# Installs what the MCP endpoint is tested with — the official TypeScript SDK (1.26.0,
# the version Agentron pins, and the newest 1.x), its v2 client (the stateless
# 2026-07-28 revision), the conformance suite, and the Node 22 it needs — from the npm
# registry into tests/mcp/node_modules (git-ignored), exactly as tests/mcp/package-lock.json
# pins them. Once installed, a stamp of the lock file makes a second run instant and
# needs no network; npm's cache (.cache/npm, git-ignored) keeps the tarballs for a
# reinstall. Needs npm (scripts/install-deps.sh installs Node.js and npm).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/mcp
stamp=$dir/node_modules/.installed-from
want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/node_modules/.bin/node" ]; then
  echo "mcp-test-deps: tests/mcp/node_modules is up to date"
  exit 0
fi
command -v npm >/dev/null || { echo "mcp-test-deps: npm is missing; run scripts/install-deps.sh" >&2; exit 1; }
echo "mcp-test-deps: installing tests/mcp/package-lock.json into tests/mcp/node_modules"
npm ci --prefix "$dir" --no-audit --no-fund --prefer-offline --cache "$PWD/.cache/npm" --loglevel=error
"$dir/node_modules/.bin/node" --version >/dev/null
echo "$want" >"$stamp"
