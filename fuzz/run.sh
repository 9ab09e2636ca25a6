#!/bin/sh
# fuzz/run.sh [SECONDS] — builds the libFuzzer harnesses with clang (ASan + UBSan) in build/fuzz
# and runs each for SECONDS (default 60) on a copy of its seed corpus, so fuzz/corpus/ is never
# written. Prints a summary (executions per second, coverage, new corpus entries) and exits
# nonzero if any harness left a crash, leak, timeout or out-of-memory artifact.
#   fuzz/run.sh            # a quick pass, about 4 minutes
#   fuzz/run.sh 3600       # an hour per harness (4 hours): before a release, or overnight
#   FUZZ_TARGETS="csv spec" fuzz/run.sh 600     # some harnesses only
# Artifacts and logs go to build/fuzz/out/<target>/; reproduce one with
#   build/fuzz/fuzz/fuzz_<target> build/fuzz/out/<target>/crash-…
# then add it to tests/data/fuzz-regressions/<target>/ with the fix (tests/test_fuzz_regressions.c
# replays that directory in every build).
set -u
SECONDS_EACH=${1:-60}
TARGETS=${FUZZ_TARGETS:-csv spec model http}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build/fuzz
OUT=$BUILD/out

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz/run.sh: clang not found; installing it (apt-get install clang libclang-rt-14-dev)" >&2
    apt-get update -qq && apt-get install -y -qq clang libclang-rt-14-dev || exit 2
fi
mkdir -p "$BUILD"
CC=clang cmake -S "$ROOT" -B "$BUILD" -DNN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD/cmake.log" 2>&1 ||
    { cat "$BUILD/cmake.log" >&2; exit 2; }
cmake --build "$BUILD" -j "$(nproc)" --target fuzz_csv fuzz_spec fuzz_model fuzz_http >"$BUILD/build.log" 2>&1 ||
    { tail -n 40 "$BUILD/build.log" >&2; exit 2; }

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1
failed=0
summary=""
for t in $TARGETS; do
    dir=$OUT/$t
    rm -rf "$dir"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    cp "$ROOT/fuzz/corpus/$t/"* "$dir/corpus/" 2>/dev/null
    cp "$ROOT/tests/data/fuzz-regressions/$t/"* "$dir/corpus/" 2>/dev/null
    dict=$ROOT/fuzz/json.dict
    leaks=1
    # fuzz_http: the daemon's threads allocate and free after an input's response is read, so
    # libFuzzer's per-input leak check would fire a stop-the-world scan on nearly every input;
    # LeakSanitizer's check at exit (after srv_app_stop) still reports real leaks
    case $t in csv) dict="" ;; http) dict=$ROOT/fuzz/http.dict leaks=0 ;; esac
    echo "== fuzz_$t: ${SECONDS_EACH}s" >&2
    seeds=$(ls "$dir/corpus" | wc -l)
    "$BUILD/fuzz/fuzz_$t" "$dir/corpus" ${dict:+-dict="$dict"} -max_total_time="$SECONDS_EACH" \
        -detect_leaks=$leaks -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1
    rc=$?
    last=$(grep -E '#[0-9]+.*(cov|DONE)' "$dir/log" | tail -n 1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
    cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    arts=$(ls "$dir/artifacts" | wc -l)
    line=$(printf '%-6s rc=%-3s execs=%-9s exec/s=%-6s cov=%-6s ft=%-6s corpus=%s->%s artifacts=%s' \
        "$t" "$rc" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeds" \
        "$(ls "$dir/corpus" | wc -l)" "$arts")
    summary="$summary$line
"
    if [ "$rc" -ne 0 ] || [ "$arts" -ne 0 ]; then
        failed=1
        echo "fuzz_$t FAILED: see $dir/log and $dir/artifacts/" >&2
        grep -m 5 -E 'ERROR|SUMMARY|fuzz property' "$dir/log" >&2
    fi
done
echo
echo "fuzz summary (${SECONDS_EACH}s each):"
printf '%s' "$summary"
exit $failed
