#!/bin/sh
# test.sh — installs what is missing, then builds and runs every test:
#   build/ci-release  -O2, float: every test (unit, integration, browser, container, bench smoke)
#   build/ci-asan     AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer): unit and
#                     integration
#   build/ci-tsan     ThreadSanitizer: unit and integration (but the SIGKILL/disk faults test,
#                     too slow under TSan and not about threads)
#   build/fuzz        each libFuzzer harness for NN_FUZZ_SECONDS (default 30) seconds
#   build/ci-double   nn_float = double, OpenBLAS only (NN_XSMM=OFF): unit (gradient checks at
#                     1e-6); the other builds use libxsmm's kernels where it is installed
#   build/tidy        clang-tidy (.clang-tidy) over lib/, server/, cli/: zero findings
# All builds use -Wall -Wextra -Werror. Extra arguments go to every ctest (e.g. -R csv).
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
# The browser tests' node packages (playwright-core), again whenever the lock file changes.
lock=tests/browser/package-lock.json
stamp=tests/browser/node_modules/.lock-installed
if [ ! -d tests/browser/node_modules ] || ! cmp -s "$lock" "$stamp"; then
    echo "== npm ci --prefix tests/browser"
    npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
    cp "$lock" "$stamp"
fi
jobs=$(nproc 2>/dev/null || echo 2)
run() {
    dir=$1; labels=$2; shift 2
    echo "== $dir ($labels): $*"
    cmake -S . -B "build/$dir" -DNN_WERROR=ON "$@" >/dev/null
    cmake --build "build/$dir" -j "$jobs" >/dev/null
    (cd "build/$dir" && ctest --output-on-failure -j "$jobs" $labels $ctest_args)
}
ctest_args="$*"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=second_deadlock_stack=1
echo "== clang-tidy (scripts/tidy.sh)"
scripts/tidy.sh
run ci-double "-L unit" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_DOUBLE=ON -DNN_XSMM=OFF
run ci-asan "-L unit|integration" -DCMAKE_BUILD_TYPE=Debug -DNN_SANITIZE=address,undefined
run ci-tsan "-L unit|integration -E test_faults" -DCMAKE_BUILD_TYPE=Debug -DNN_SANITIZE=thread
echo "== fuzz: each libFuzzer harness for ${NN_FUZZ_SECONDS:-30} s (fuzz/run.sh)"
fuzz/run.sh "${NN_FUZZ_SECONDS:-30}"
run ci-release "" -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "all test builds passed"
