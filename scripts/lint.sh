#!/usr/bin/env bash
# Formatting and static checks (.clang-format, .clang-tidy) over the product code.
# Needs clang-format and clang-tidy (Debian: clang-format clang-tidy) and a build/
# with compile_commands.json (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cpp' '*.h')
clang-format --dry-run -Werror $files
clang-tidy -p build --quiet $(git ls-files 'common/*.cpp' 'config/*.cpp' 'db/*.cpp' 'backup/*.cpp' 'launcher/*.cpp' 'supervisor/*.cpp' 'cli/*.cpp')
