#!/bin/sh
# server_bench.sh — nnd's HTTP performance in one table (issue 4): upload throughput, GET
# latency while two runs train, and batch/single-row predict throughput and latency.
#
#   bench/server_bench.sh [BUILD_DIR]
#
# BUILD_DIR (else $BUILD, else <repo>/build) must hold a Release build of nnd
# (cmake .. -DCMAKE_BUILD_TYPE=Release && make nnd). The script starts its own nnd on a free
# port of 127.0.0.1 with a temporary data dir, and stops it at the end (or on any error).
# It takes about 100 s on two cores. DURATION (default 20) sets the seconds of the GET test,
# PDURATION (default 10) those of each predict test, CONNS (default 64) the connections; NND_ARGS adds flags to nnd (e.g. --http-threads 8).
#
# Steps: (1) upload 5 distinct ~2.5 MB variants of examples/kc_house_data.csv (identical bytes
# would dedupe) and report MB/s (10^6 bytes) of upload+parse+store; (2) train a short run
# (kc_house_seed.json, 20 epochs, k 3); (3) start two long runs (holdout, 100000 epochs); (4) wrk GET /v1/runs/{id} of
# the finished run while those two train; (5) wrk POST /v1/runs/{id}/predict with 1000 rows as
# CSV and as JSON, and single-row predicts; (6) cancel the long runs, SIGTERM nnd and check it
# exits 0.
# Exit status: 0 ok (goals missed are reported, not failures), 1 a step failed, 2 a tool
# (wrk, curl, awk) or the build is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${1:-${BUILD:-$repo/build}}
nnd=$build/server/nnd
duration=${DURATION:-20}
pduration=${PDURATION:-10}
threads=2
conns=${CONNS:-64}
csv=$repo/examples/kc_house_data.csv
seed=$repo/examples/kc_house_seed.json

for tool in wrk curl awk sed; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "server_bench: $tool is not installed (Debian: apt-get install $tool)" >&2
        exit 2
    fi
done
if [ ! -x "$nnd" ]; then
    echo "server_bench: no nnd at $nnd (build it: cmake -DCMAKE_BUILD_TYPE=Release, make nnd;" \
        "or pass the build dir as \$1)" >&2
    exit 2
fi
if ! grep -q '^CMAKE_BUILD_TYPE:[A-Z]*=Release' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "server_bench: warning: $build is not a Release build; numbers will be low" >&2
fi

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() {
    echo "server_bench: $*" >&2
    if [ -s "$tmp/nnd.err" ]; then
        echo "--- nnd stderr (last lines) ---" >&2
        tail -n 20 "$tmp/nnd.err" >&2
    fi
    exit 1
}

# ---- start nnd ----
# shellcheck disable=SC2086 # NND_ARGS is a list of flags
"$nnd" --listen 127.0.0.1:0 --data-dir "$tmp/data" --quiet ${NND_ARGS:-} 2>"$tmp/nnd.err" &
pid=$!
port=
i=0
while [ $i -lt 100 ]; do
    port=$(sed -n 's/.*listening on http:\/\/[^ ]*:\([0-9][0-9]*\) .*/\1/p' "$tmp/nnd.err")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || die "nnd exited at start"
    sleep 0.1
    i=$((i + 1))
done
[ -n "$port" ] || die "nnd did not say which port it listens on"
base=http://127.0.0.1:$port
sed -n 's/^\(nnd .* listening on .*\)$/\1/p' "$tmp/nnd.err"

# field NAME < JSON: the first string value of "NAME" (enough for the flat replies used here)
field() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | sed 's/.*:"\(.*\)"/\1/'; }
now() { date +%s.%N; }

# ---- 1. upload throughput ----
# Variant v keeps every row but the last v: distinct bytes (no dedupe), the same work.
for v in 1 2 3 4 5; do
    awk -v drop="$v" 'NR == FNR { n = NR; next } FNR <= n - drop' "$csv" "$csv" >"$tmp/up$v.csv"
done
up_bytes=0
up_secs=0
for v in 1 2 3 4 5; do
    out=$(curl -sS -o "$tmp/up.json" -w '%{http_code} %{time_total} %{size_upload}' \
        -H 'Content-Type: text/csv' --data-binary "@$tmp/up$v.csv" "$base/v1/datasets?name=kc$v")
    set -- $out
    [ "$1" = 201 ] || die "upload $v: HTTP $1: $(cat "$tmp/up.json")"
    up_bytes=$((up_bytes + $3))
    up_secs=$(awk -v a="$up_secs" -v b="$2" 'BEGIN { printf "%.6f", a + b }')
done
dataset=$(field id <"$tmp/up.json")
upload_mbs=$(awk -v b="$up_bytes" -v s="$up_secs" 'BEGIN { printf "%.1f", b / 1e6 / s }')
upload_ms=$(awk -v s="$up_secs" 'BEGIN { printf "%.0f", s * 1000 / 5 }')
echo "upload: 5 x $((up_bytes / 5)) bytes in ${up_secs}s: $upload_mbs MB/s ($upload_ms ms each)"

# ---- 2. a short run ----
spec_with() { # EPOCHS VALIDATION: the seed spec with those epochs and that validation object
    sed -e "s/\"epochs\": *[0-9]*/\"epochs\": $1/" -e "s/\"validation\": *{[^}]*}/\"validation\": $2/" \
        "$seed"
}
post_run() { # EPOCHS VALIDATION → run id
    { printf '{"dataset":"%s","spec":' "$dataset"; spec_with "$1" "$2"; printf '}'; } >"$tmp/run.json"
    code=$(curl -sS -o "$tmp/run.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "@$tmp/run.json" "$base/v1/runs")
    [ "$code" = 202 ] || die "POST /v1/runs: HTTP $code: $(cat "$tmp/run.out")"
    field id <"$tmp/run.out"
}
status_of() { curl -sS "$base/v1/runs/$1" | field status; }

t0=$(now)
run=$(post_run 20 '{"type": "kfold", "k": 3}')
st=queued
i=0
while [ $i -lt 600 ]; do
    st=$(status_of "$run")
    case $st in succeeded | failed | cancelled) break ;; esac
    sleep 0.1
    i=$((i + 1))
done
[ "$st" = succeeded ] || die "run $run ended $st (or timed out): $(curl -sS "$base/v1/runs/$run" | head -c 800)"
train_s=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
echo "short run $run (20 epochs, k 3) succeeded in ${train_s}s"

# ---- 3. two long runs ----
# Holdout validation: one task each, so with the default two workers (one per core) both runs
# train at once; k-fold runs would take every worker and leave the second queued.
long1=$(post_run 100000 '{"type": "holdout"}')
long2=$(post_run 100000 '{"type": "holdout"}')
i=0
while [ $i -lt 100 ]; do
    [ "$(status_of "$long1")" = running ] && [ "$(status_of "$long2")" = running ] && break
    sleep 0.1
    i=$((i + 1))
done
[ $i -lt 100 ] || die "the two long runs did not both start training"
echo "long runs $long1 and $long2 training"

# ---- wrk helpers ----
# wrk_run NAME URL [LUA]: runs wrk, keeps its output in $tmp/NAME.wrk
wrk_run() {
    if [ $# -ge 3 ]; then
        wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -s "$3" "$2" >"$tmp/$1.wrk" 2>&1 ||
            die "wrk $1 failed: $(cat "$tmp/$1.wrk")"
    else
        wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$2" >"$tmp/$1.wrk" 2>&1 ||
            die "wrk $1 failed: $(cat "$tmp/$1.wrk")"
    fi
    if grep -q 'Non-2xx' "$tmp/$1.wrk"; then die "wrk $1: $(grep 'Non-2xx' "$tmp/$1.wrk")"; fi
    if grep -q 'Socket errors' "$tmp/$1.wrk"; then
        echo "server_bench: wrk $1: $(grep 'Socket errors' "$tmp/$1.wrk")" >&2
    fi
}
rps() { awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$tmp/$1.wrk"; }
# pct NAME 50|99: that latency percentile in ms
pct() {
    awk -v p="$2%" '$1 == p {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000
        printf "%.2f", v }' "$tmp/$1.wrk"
}
lua_post() { # FILE CONTENT_TYPE BODY_FILE
    cat >"$1" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "$2"
local f = assert(io.open("$3", "rb"))
wrk.body = f:read("*a")
f:close()
EOF
}

# ---- 4. GET a finished run while two train ----
wrk_run get "$base/v1/runs/$run"
for r in "$long1" "$long2"; do
    [ "$(status_of "$r")" = running ] || die "long run $r stopped training during the GET test"
done
echo "GET /v1/runs/{id}: $(rps get) req/s, p50 $(pct get 50) ms, p99 $(pct get 99) ms"

# ---- 5. predict: 1000 rows as CSV and as JSON, while the two runs train and then idle ----
head -n 1001 "$csv" >"$tmp/p1000.csv"
head -n 2 "$csv" >"$tmp/p1.csv"
# The same rows as JSON objects: "id" and "date" stay strings, the rest are numbers.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) { h[i] = $i; gsub(/"/, "", h[i]) }; printf "{\"rows\":["; next }
    { printf "%s{", (NR > 2 ? "," : "")
      for (i = 1; i <= NF; i++) {
          v = $i
          if (!(v ~ /^"/ && (h[i] == "id" || h[i] == "date"))) gsub(/"/, "", v)
          printf "%s\"%s\":%s", (i > 1 ? "," : ""), h[i], v }
      printf "}" }
    END { printf "]}" }' "$tmp/p1000.csv" >"$tmp/p1000.json"
lua_post "$tmp/csv.lua" text/csv "$tmp/p1000.csv"
lua_post "$tmp/json.lua" application/json "$tmp/p1000.json"
lua_post "$tmp/one.lua" text/csv "$tmp/p1.csv"

# check each body once: 200 and 1000 predictions
for kind in csv json; do
    ct=text/csv
    [ $kind = json ] && ct=application/json
    code=$(curl -sS -o "$tmp/check.out" -w '%{http_code}' -H "Content-Type: $ct" \
        --data-binary "@$tmp/p1000.$kind" "$base/v1/runs/$run/predict")
    [ "$code" = 200 ] || die "predict ($kind): HTTP $code: $(head -c 500 "$tmp/check.out")"
    n=$(sed 's/.*"predictions":\[//' "$tmp/check.out" | tr ',' '\n' | grep -c '[0-9]')
    [ "$n" -eq 1000 ] || die "predict ($kind): $n predictions, not 1000"
done

duration_get=$duration
duration=$pduration
wrk_run tcsv "$base/v1/runs/$run/predict" "$tmp/csv.lua"
wrk_run tjson "$base/v1/runs/$run/predict" "$tmp/json.lua"
for r in "$long1" "$long2"; do
    [ "$(status_of "$r")" = running ] || die "long run $r stopped training during the predict test"
done
echo "predict 1000 rows, 2 runs training: CSV $(rps tcsv) req/s, p99 $(pct tcsv 99) ms;" \
    "JSON $(rps tjson) req/s, p99 $(pct tjson 99) ms"

# cancel the long runs; the rest runs on an idle server
for r in "$long1" "$long2"; do
    code=$(curl -sS -o "$tmp/cancel.out" -w '%{http_code}' -X POST "$base/v1/runs/$r/cancel")
    case $code in 2??) ;; *) die "cancel $r: HTTP $code: $(cat "$tmp/cancel.out")" ;; esac
done
i=0
a='' b=''
while [ $i -lt 100 ]; do
    a=$(status_of "$long1")
    b=$(status_of "$long2")
    [ "$a" = cancelled ] && [ "$b" = cancelled ] && break
    sleep 0.1
    i=$((i + 1))
done
[ $i -lt 100 ] || die "the long runs were not cancelled (they are $a, $b)"
echo "long runs cancelled"

wrk_run pcsv "$base/v1/runs/$run/predict" "$tmp/csv.lua"
wrk_run pjson "$base/v1/runs/$run/predict" "$tmp/json.lua"
# single rows: one connection, so the latency is the server's, not the queue's
conns_saved=$conns
conns=1 threads=1
wrk_run pone "$base/v1/runs/$run/predict" "$tmp/one.lua"
conns=$conns_saved threads=2
duration=$duration_get
rows() { echo $(($(rps "$1") * 1000)); }
echo "predict 1000 rows, idle: CSV $(rps pcsv) req/s, p99 $(pct pcsv 99) ms;" \
    "JSON $(rps pjson) req/s, p99 $(pct pjson 99) ms"
echo "predict 1 row (1 connection): $(rps pone) req/s, p50 $(pct pone 50) ms, p99 $(pct pone 99) ms"

# ---- 6. stop ----
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || die "nnd exited $rc after SIGTERM"
grep -q 'nnd: stopped' "$tmp/nnd.err" || die "nnd did not say it stopped"
echo "nnd stopped: exit 0"

# ---- the table ----
met() { # VALUE OP GOAL → yes/no
    awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN { ok = op == "<" ? v < g : v >= g; print ok ? "yes" : "NO" }'
}
get_p99=$(pct get 99)
row() { printf '%-46s %15s %10s %4s\n' "$@"; }
echo
echo "nnd server benchmark — $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)," \
    "$(nproc) cores; wrk -t2 -c$conns, ${duration}s GET, ${pduration}s predict"
row metric value goal met
row "upload+parse+store (MB/s)" "$upload_mbs" - -
row "GET /v1/runs/{id}, 2 runs training (req/s)" "$(rps get)" - -
row "  p50 (ms)" "$(pct get 50)" - -
row "  p99 (ms)" "$get_p99" "< 5" "$(met "$get_p99" '<' 5)"
for k in t p; do
    if [ $k = t ]; then when="2 runs training"; else when="idle"; fi
    row "predict 1000 CSV rows, $when (rows/s)" "$(rows ${k}csv)" ">=100000" \
        "$(met "$(rows ${k}csv)" '>=' 100000)"
    row "  p50 / p99 (ms)" "$(pct ${k}csv 50) / $(pct ${k}csv 99)" - -
    row "predict 1000 JSON rows, $when (rows/s)" "$(rows ${k}json)" ">=100000" \
        "$(met "$(rows ${k}json)" '>=' 100000)"
    row "  p50 / p99 (ms)" "$(pct ${k}json 50) / $(pct ${k}json 99)" - -
done
row "predict 1 row, 1 connection (req/s)" "$(rps pone)" - -
row "  p50 / p99 (ms)" "$(pct pone 50) / $(pct pone 99)" - -
row "SIGTERM exit status" 0 0 yes
