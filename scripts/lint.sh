#!/usr/bin/env bash
# Formatting and static checks (.clang-format, .clang-tidy) over the product code.
# Needs clang-format and clang-tidy (Debian: clang-format clang-tidy) and a build/
# with compile_commands.json (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.h')
clang-format --dry-run -Werror $files
# libgit2's GIT_*_INIT macros leave fields to zero-initialisation, which clang flags.
clang-tidy -p build --quiet --extra-arg=-Wno-missing-field-initializers $(git ls-files 'common/*.cpp' 'config/*.cpp' 'db/*.cpp' 'backup/*.cpp' 'fork/*.cpp' 'launcher/*.cpp' 'supervisor/*.cpp' 'cli/*.cpp' 'healthcheck/*.cpp' 'history/*.cpp')
