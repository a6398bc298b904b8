#!/usr/bin/env bash
# Formatting and static checks (.clang-format, .clang-tidy) over all the code: every
# library, main and test the build compiles. Fails on any finding.
# Needs clang-format and clang-tidy (scripts/install-deps.sh installs them) and a
# build dir with compile_commands.json (scripts/build.sh; default build/, or $1).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
clang-format --dry-run -Werror $(git ls-files '*.cpp' '*.h')
# Every .cpp in the build's compile_commands.json: a new folder is checked without
# editing this list. libgit2's GIT_*_INIT macros leave fields to zero-initialisation,
# which clang flags.
sources=$(python3 -c 'import json,sys; print("\n".join(sorted({e["file"] for e in json.load(open(sys.argv[1]))})))' \
  "$build/compile_commands.json")
if ! out=$(printf '%s\n' $sources | xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet \
  --extra-arg=-Wno-missing-field-initializers 2>&1); then
  printf '%s\n' "$out" | grep -v 'warnings generated\.$' >&2
  echo "lint: clang-tidy found problems (above)" >&2
  exit 1
fi
echo "lint: clang-format and clang-tidy clean ($(printf '%s\n' $sources | wc -l) files)"
