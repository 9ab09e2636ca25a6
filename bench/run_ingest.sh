#!/bin/sh
# run_ingest.sh — CSV ingest of nnd against pandas, the upload path of the real nnd, and a scale
# table (rows against ingest time, training time per epoch and peak memory), in one run.
#
#   bench/run_ingest.sh [BUILD_DIR]
#
# BUILD_DIR (default $BUILD, else <repo>/build; built there if missing) holds nn, nnd,
# bench/csv_ingest and bench/gen_csv. The data are bench/gen_csv files (22 columns: an id, 20
# numeric columns, one text column; 173 bytes a row) in DATA_DIR (default a temporary dir, kept
# when DATA_DIR is set so the next run reuses them).
#
# 1. Ingest, 1M rows (173 MB): bench/csv_ingest (nn_csv_read_file: CSV bytes to the typed
#    table, one thread) against pandas.read_csv (C engine, default options, one thread), side
#    by side, best of REPEAT (default 3) runs each in a fresh process: seconds, MB/s, the table's
#    size in memory, the process's peak RSS. BASELINE=<older build dir> adds that build's `nn
#    validate` of bench/ingest_spec.json (reads the CSV, drops a column) next to this build's.
# 2. Upload: nnd (this build, and BASELINE's) on a free port with an empty data dir; curl POSTs
#    a file of just under 256 MiB (nnd's default upload limit) to /v1/datasets: the time from the
#    first byte sent to the 201 (stream to disk + SHA-256, parse, column statistics, store), and
#    nnd's peak RSS.
# 3. Scale: for SCALE_ROWS (default "10000 100000 1000000 3000000") rows: csv_ingest's time and
#    peak, then `nn train bench/scale_spec.json` (holdout 20 %, 2 epochs, 8×16 ReLU, one thread):
#    seconds per epoch (history.csv) and the whole command's peak RSS.
# pandas comes from Debian's /usr/bin/python3 (PYTHON overrides it; python3-pandas).
# Exit status: 0 ok, 1 a run failed, 2 a tool is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
repeat=${REPEAT:-3}
scale_rows=${SCALE_ROWS:-10000 100000 1000000 3000000}
baseline=${BASELINE:-}
build=${1:-${BUILD:-$repo/build}}

die() {
    code=$1
    shift
    echo "run_ingest: $*" >&2
    exit "$code"
}

"$python" -c 'import pandas' 2>/dev/null || die 2 "$python cannot import pandas (python3-pandas)"
command -v curl >/dev/null || die 2 "curl is missing"
if [ ! -x "$build/bench/csv_ingest" ] || [ ! -x "$build/server/nnd" ]; then
    [ -f "$build/CMakeCache.txt" ] || cmake -S "$repo" -B "$build" >/dev/null || exit 2
    cmake --build "$build" -j 2 --target csv_ingest gen_csv nn_cli nnd >/dev/null || exit 2
fi
tmp=$(mktemp -d)
cleanup() {
    [ -n "${nnd_pid:-}" ] && kill "$nnd_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
data=${DATA_DIR:-$tmp/data}
mkdir -p "$data"
status=0

gen() { # rows [max-bytes] → the file's path
    f=$data/rows_$1${2:+_max$2}.csv
    [ -s "$f" ] || "$build/bench/gen_csv" --rows "$1" ${2:+--max-bytes "$2"} --out "$f" || exit 1
    echo "$f"
}

# peak RSS (kB) and seconds of a command, into the variables rss and secs
measure() {
    /usr/bin/time -f '%M %e' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" || {
        cat "$tmp/err" >&2
        status=1
    }
    read -r rss secs <"$tmp/time" || true
}

echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores;" \
    "pandas $("$python" -c 'import pandas; print(pandas.__version__)')"

# ---- 1. ingest, nnd against pandas
f1m=$(gen 1000000)
bytes=$(stat -c %s "$f1m")
cat >"$tmp/read_pandas.py" <<'EOF'
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "table_bytes": int(df.memory_usage(deep=True).sum()),
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
EOF
: >"$tmp/ingest.jsonl"
for k in $(seq "$repeat"); do
    "$build/bench/csv_ingest" "$f1m" --json | sed 's/^/{"who": "nnd", "r": /; s/$/}/' \
        >>"$tmp/ingest.jsonl" || status=1
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" "$tmp/read_pandas.py" "$f1m" |
        sed 's/^/{"who": "pandas", "r": /; s/$/}/' >>"$tmp/ingest.jsonl" || status=1
done
for b in "$build" ${baseline:+"$baseline"}; do
    best=""
    for k in $(seq "$repeat"); do
        measure "$b/cli/nn" validate "$repo/bench/ingest_spec.json" "$f1m"
        printf '{"who": "nn validate %s", "r": {"seconds": %s, "peak_rss": %s}}\n' \
            "$([ "$b" = "$build" ] && echo "(this build)" || echo "(BASELINE)")" "$secs" \
            "$((rss * 1024))" >>"$tmp/ingest.jsonl"
    done
done

# ---- 2. upload to the real nnd
f256=$(gen 10000000 268435456)
: >"$tmp/upload.jsonl"
for b in "$build" ${baseline:+"$baseline"}; do
    rm -rf "$tmp/nnd-data"
    OPENBLAS_NUM_THREADS=1 "$b/server/nnd" --data-dir "$tmp/nnd-data" --listen 127.0.0.1:0 \
        --quiet >"$tmp/nnd.out" 2>&1 &
    nnd_pid=$!
    port=""
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/nnd.out")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || die 1 "nnd did not start: $(cat "$tmp/nnd.out")"
    for k in $(seq "$repeat"); do
        out=$(curl -s -o "$tmp/upload.json" -w '%{http_code} %{time_total}' -X POST \
            -H 'Content-Type: text/csv' --data-binary @"$f256" \
            "http://127.0.0.1:$port/v1/datasets?name=big$k") || status=1
        set -- $out
        case $1 in 2??) ;; *) echo "run_ingest: upload answered $1: $(head -c 300 "$tmp/upload.json")" >&2; status=1 ;; esac
        printf '{"who": "%s", "code": %s, "seconds": %s, "peak_rss": %s}\n' \
            "$([ "$b" = "$build" ] && echo "nnd (this build)" || echo "nnd (BASELINE)")" "$1" "$2" \
            "$(awk '/VmHWM/ {print $2 * 1024}' "/proc/$nnd_pid/status")" >>"$tmp/upload.jsonl"
    done
    kill "$nnd_pid" && wait "$nnd_pid" 2>/dev/null || true
    nnd_pid=""
done

# ---- 3. scale
: >"$tmp/scale.jsonl"
for rows in $scale_rows; do
    f=$(gen "$rows")
    ingest=$("$build/bench/csv_ingest" "$f" --json) || status=1
    rm -rf "$tmp/run"
    measure "$build/cli/nn" train "$repo/bench/scale_spec.json" "$f" --threads 1 --quiet \
        --out "$tmp/run"
    epoch=$("$python" -c 'import csv, sys
r = [float(x["seconds"]) for x in csv.DictReader(open(sys.argv[1]))]
print(sum(r) / len(r) if r else "null")' "$tmp/run/history.csv" 2>/dev/null || echo null)
    printf '{"rows": %s, "ingest": %s, "epoch_seconds": %s, "train_rss": %s, "train_seconds": %s}\n' \
        "$rows" "$ingest" "$epoch" "$((rss * 1024))" "$secs" >>"$tmp/scale.jsonl"
done

"$python" - "$tmp/ingest.jsonl" "$tmp/upload.jsonl" "$tmp/scale.jsonl" "$bytes" <<'EOF' || status=1
import json, sys
load = lambda p: [json.loads(l) for l in open(p) if l.strip()]
ingest, upload, scale, nbytes = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3]), int(sys.argv[4])
mb = lambda b: b / 1e6
print(f"\n1. ingest of {nbytes / 1e6:.0f} MB, 1M rows x 22 columns, one thread (best of runs)")
print(f"{'reader':<26} {'seconds':>8} {'MB/s':>7} {'table MB':>9} {'peak RSS MB':>12} {'peak/table':>11}")
best = {}
for r in ingest:
    w = r["who"]
    if w not in best or r["r"]["seconds"] < best[w]["seconds"]:
        best[w] = r["r"]
for w, r in best.items():
    t = r.get("table_bytes")
    print(f"{w:<26} {r['seconds']:>8.2f} {nbytes / 1e6 / r['seconds']:>7.1f} "
          f"{mb(t) if t else float('nan'):>9.0f} {mb(r['peak_rss']):>12.0f} "
          f"{r['peak_rss'] / t if t else float('nan'):>10.2f}x")
if "nnd" in best and "pandas" in best:
    print(f"nnd / pandas speed: {best['pandas']['seconds'] / best['nnd']['seconds']:.2f}x")
print("\n2. upload + parse + store of a 256 MiB CSV (curl to the real nnd; best of runs)")
ub = {}
for r in upload:
    if 200 <= r["code"] < 300 and (r["who"] not in ub or r["seconds"] < ub[r["who"]]["seconds"]):
        ub[r["who"]] = r
for w, r in ub.items():
    print(f"{w:<22} {r['seconds']:>7.2f} s {268435456 / 2**20 / r['seconds']:>7.1f} MiB/s   "
          f"nnd peak RSS {mb(r['peak_rss']):.0f} MB")
print("\n3. scale: bench/gen_csv rows, nn_csv ingest, nn train bench/scale_spec.json (1 thread)")
print(f"{'rows':>9} {'CSV MB':>7} {'ingest s':>9} {'MB/s':>7} {'ingest peak MB':>15} "
      f"{'s/epoch':>8} {'nn train s':>11} {'train peak MB':>14}")
for r in scale:
    i = r["ingest"]
    e = r["epoch_seconds"]
    print(f"{r['rows']:>9,} {mb(i['bytes']):>7.1f} {i['seconds']:>9.2f} {i['mb_per_s']:>7.1f} "
          f"{mb(i['peak_rss']):>15.0f} {e if e is not None else float('nan'):>8.3f} "
          f"{r['train_seconds']:>11.1f} {mb(r['train_rss']):>14.0f}")
EOF
exit $status
