#!/usr/bin/env bash
# Installs everything agentron-supervisor needs to build and test, from Debian 12
# packages — and then, for the MCP tests, the official MCP SDK and conformance suite
# from the npm registry (scripts/mcp-test-deps.sh, into a git-ignored folder). Safe to
# run again: apt-get skips what is already there, and so does the npm step.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries (docs/design.md §2)
  libboost1.81-dev      # Asio (event loop), Beast
  libgit2-dev           # agentron-fork
  libsqlite3-dev        # history, backups, verification counts; the fixture app
  libspdlog-dev libfmt-dev
  libtomlplusplus-dev   # config
  libcli11-dev          # argument parsing
  libssl-dev            # SHA-256 of backed-up files (libcrypto, dlopen()ed on the first hash)
  libcurl4-openssl-dev  # agentron-fork: the GitHub REST call that creates a fork (dlopen()ed)
  nlohmann-json3-dev    # JSON on the control socket and in records
  catch2                # unit tests (v2.13)
  clang-format clang-tidy   # scripts/lint.sh, run by scripts/test.sh
  # integration tests and benches
  python3 python3-pytest sqlite3 curl procps git util-linux
  chromium chromium-driver python3-selenium   # the pages in a real browser (test_web_ui.py)
)
# Node.js and npm, for the MCP tests (scripts/mcp-test-deps.sh): Debian's, unless an npm
# is there already (NodeSource's nodejs package brings its own and conflicts with Debian's npm).
command -v npm >/dev/null || packages+=(nodejs npm)

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
"$(dirname "$0")/mcp-test-deps.sh"
