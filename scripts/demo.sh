#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the supervisor in the foreground on
# its embedded demo config: the bundled test app on ./agentron-demo-data, port 3000.
# Ctrl-C stops the app gracefully and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
exec build/bin/agentron-supervisor run
