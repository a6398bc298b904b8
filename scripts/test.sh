#!/usr/bin/env bash
# Installs the dependencies, builds, checks formatting and static analysis
# (scripts/lint.sh), and runs every test: the unit tests and the integration tests
# against the real binaries, then both again under AddressSanitizer +
# UndefinedBehaviorSanitizer. Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
scripts/lint.sh build
(cd build && ctest --output-on-failure -j2)
scripts/build.sh build-asan -DAGENTRON_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
(cd build-asan && ctest --output-on-failure -j2)
