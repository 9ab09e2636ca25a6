#!/bin/sh
# tidy.sh — clang-tidy (.clang-tidy) over the code nnd ships: lib/, server/, cli/. Exits nonzero
# on any finding. CI runs it (scripts/test.sh); run it before committing.
#   scripts/tidy.sh              every file
#   scripts/tidy.sh lib/cv       files under the given paths
set -eu
cd "$(dirname "$0")/.."
build=build/tidy
cmake -S . -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DNN_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null  # generated sources
# clang parses GCC's compile commands: drop the GCC-only options it does not know
sed -i 's/ -fvect-cost-model=[a-z]*\| -fno-tree-loop-distribute-patterns//g' "$build/compile_commands.json"
[ $# -gt 0 ] || set -- lib server cli
files=$(find "$@" -name '*.c' | sort)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086
run-clang-tidy -p "$build" -j "$(nproc 2>/dev/null || echo 2)" -quiet $files >"$out" 2>/dev/null || true
n=$(grep -c 'warning:\|error:' "$out" || true)
if [ "$n" -gt 0 ]; then
    grep -A3 'warning:\|error:' "$out" | sed 's/\x1b\[[0-9;]*m//g'
    echo "tidy: $n findings" >&2
    exit 1
fi
echo "tidy: clean ($(echo "$files" | wc -l) files)"
