#!/bin/sh
# engine_bench.sh — the run engine under load, this build side by side with an older one:
#   - GET /v1/runs/{id} (a finished run) at 4 and at 64 connections while two runs train;
#   - events stored per second while those two runs train;
#   - one run's training time under a steady HTTP load (wrk, 4 connections each sending a GET
#     every 10 ms: about 400 requests/s, the traffic of a few dashboards and scripts) against
#     `nn train` of the same spec alone (same threads).
#
#   bench/engine_bench.sh [BUILD_DIR]
#
# BUILD_DIR (default <repo>/build/rel) holds this build (nnd and nn). BASELINE (a git ref,
# default 864f042: the last commit before the task engine) is checked out into a temporary
# worktree and built there (or BASE_BUILD names a build of it made before: its server/nnd and
# cli/nn); BASELINE=none skips it. SECONDS_GET (default 10) per wrk phase,
# EPOCHS (default 300) for the timed run. Prints one table; exit 1 when a step fails, 2 when a
# tool is missing. About 3 minutes on two cores.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${1:-$repo/build/rel}
baseline=${BASELINE:-864f042}
dur=${SECONDS_GET:-10}
epochs=${EPOCHS:-300}
csv=$repo/examples/kc_house_data.csv
seed=$repo/examples/kc_house_seed.json
for tool in wrk curl python3 git cmake; do
    command -v "$tool" >/dev/null 2>&1 || { echo "engine_bench: $tool is missing" >&2; exit 2; }
done
[ -x "$build/server/nnd" ] && [ -x "$build/cli/nn" ] || {
    echo "engine_bench: build nnd and nn in $build first" >&2
    exit 2
}
tmp=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
    if [ -d "$tmp/base-src" ]; then git -C "$repo" worktree remove --force "$tmp/base-src" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
die() {
    echo "engine_bench: $*" >&2
    [ -s "$tmp/nnd.err" ] && tail -n 20 "$tmp/nnd.err" >&2
    exit 1
}

field() { grep -o "\"$1\":[^,}]*" | head -n 1 | sed 's/^[^:]*://; s/"//g'; }

spec_with() { # EPOCHS VALIDATION → the seed spec with them
    sed -e "s/\"epochs\": *[0-9]*/\"epochs\": $1/" -e "s/\"validation\": *{[^}]*}/\"validation\": $2/" "$seed"
}

start_nnd() { # NND_BIN → $base, $pid, $data
    data=$tmp/data-$$-$(date +%s%N)
    "$1" --listen 127.0.0.1:0 --data-dir "$data" --workers 2 --quiet 2>"$tmp/nnd.err" &
    pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\) .*/\1/p' "$tmp/nnd.err")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || die "nnd did not start"
    base=http://127.0.0.1:$port
}

stop_nnd() {
    kill -TERM "$pid"
    wait "$pid" || true
    pid=
}

post_run() { # EPOCHS VALIDATION → run id
    { printf '{"dataset":"%s","spec":' "$dataset"; spec_with "$1" "$2"; printf '}'; } >"$tmp/run.json"
    curl -sS -H 'Content-Type: application/json' --data-binary "@$tmp/run.json" "$base/v1/runs" | field id
}

wait_status() { # RUN STATUS...
    r=$1
    shift
    for _ in $(seq 6000); do
        st=$(curl -sS "$base/v1/runs/$r" | field status)
        for want in "$@"; do [ "$st" = "$want" ] && return 0; done
        sleep 0.05
    done
    die "run $r is $st, not $*"
}

events_stored() { python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM events').fetchone()[0])" "$data/nnd.db"; }

wrk_p() { # CONNS URL → "rps p50 p99" (ms)
    wrk -t2 -c"$1" -d"${dur}s" --latency "$2" >"$tmp/w.txt" 2>&1 || die "wrk: $(cat "$tmp/w.txt")"
    awk 'function ms(v,  u) { u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
            return u == "us" ? v / 1000 : u == "s" ? v * 1000 : v }
         /^Requests\/sec:/ { r = $2 } $1 == "50%" { a = ms($2) } $1 == "99%" { b = ms($2) }
         END { printf "%.0f %.2f %.2f", r, a, b }' "$tmp/w.txt"
}

measure() { # LABEL BUILD_DIR → one line of results into $tmp/results
    label=$1
    bdir=$2
    start_nnd "$bdir/server/nnd"
    dataset=$(curl -sS -H 'Content-Type: text/csv' --data-binary "@$csv" "$base/v1/datasets?name=kc" | field id)
    short=$(post_run 5 '{"type": "kfold", "k": 2}')
    wait_status "$short" succeeded
    long1=$(post_run 100000 '{"type": "holdout"}')
    long2=$(post_run 100000 '{"type": "holdout"}')
    wait_status "$long1" running
    wait_status "$long2" running
    sleep 1
    e0=$(events_stored)
    g4=$(wrk_p 4 "$base/v1/runs/$short")
    g64=$(wrk_p 64 "$base/v1/runs/$short")
    e1=$(events_stored)
    evs=$(awk -v a="$e0" -v b="$e1" -v d="$dur" 'BEGIN { printf "%.0f", (b - a) / (2 * d) }')
    curl -sS -X POST "$base/v1/runs/$long1/cancel" >/dev/null
    curl -sS -X POST "$base/v1/runs/$long2/cancel" >/dev/null
    wait_status "$long1" cancelled
    wait_status "$long2" cancelled
    # one k=2 run (2 folds, then the refit) under a light HTTP load
    timed=$(post_run "$epochs" '{"type": "kfold", "k": 2}')
    printf 'function delay() return 10 end\n' >"$tmp/steady.lua"
    wrk -t1 -c4 -d600s -s "$tmp/steady.lua" "$base/v1/runs/$short" >/dev/null 2>&1 &
    wpid=$!
    wait_status "$timed" succeeded
    kill "$wpid" 2>/dev/null || true
    wait "$wpid" 2>/dev/null || true
    ms=$(curl -sS "$base/v1/runs/$timed" | field duration_ms)
    stop_nnd
    spec_with "$epochs" '{"type": "kfold", "k": 2}' >"$tmp/spec.json"
    t0=$(date +%s.%N)
    "$bdir/cli/nn" train "$tmp/spec.json" "$csv" --out "$tmp/out-$label" --threads 2 --quiet >/dev/null ||
        die "nn train failed"
    alone=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
    echo "$label $g4 $g64 $evs $ms $alone" >>"$tmp/results"
}

: >"$tmp/results"
if [ -n "${BASE_BUILD:-}" ]; then
    measure "$baseline" "$BASE_BUILD" # built already (nnd and nn of $baseline)
elif [ "$baseline" != none ]; then
    git -C "$repo" worktree add --detach "$tmp/base-src" "$baseline" >/dev/null 2>&1 || die "no ref $baseline"
    echo "building $baseline in $tmp/base-build ..."
    cmake -S "$tmp/base-src" -B "$tmp/base-build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNN_TESTS=OFF >/dev/null
    cmake --build "$tmp/base-build" -j "$(nproc)" --target nnd nn_cli >/dev/null || die "baseline build failed"
    measure "$baseline" "$tmp/base-build"
fi
measure "this" "$build"

echo
echo "run engine under load — $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores;" \
    "wrk ${dur}s per GET phase; a $epochs-epoch k=2 seed run for the training time"
printf '%-10s %22s %22s %10s %24s\n' build "GET c=4 req/s p50 p99" "GET c=64 req/s p50 p99" "events/s" "run: nnd+HTTP / nn alone"
while read -r label r4 a4 b4 r64 a64 b64 evs ms alone; do
    ratio=$(awk -v a="$ms" -v b="$alone" 'BEGIN { printf "%.2f", a / b }')
    printf '%-10s %8s %6s %6s %8s %6s %6s %10s %9s / %-6s (%sx)\n' "$label" "$r4" "$a4" "$b4" \
        "$r64" "$a64" "$b64" "$evs" "$ms" "$alone" "$ratio"
done <"$tmp/results"
echo "(latencies in ms; the run's time in ms; goal: GET p99 < 5 ms at 64 connections, the run within 1.10x of nn alone)"
