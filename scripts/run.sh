#!/bin/sh
# run.sh — the main job: installs what is missing, builds nnd, starts it serving the dashboard
# on http://localhost:8080, uploads the King County dataset and queues the two King County
# example runs, prints what to try next, and keeps nnd in the foreground (Ctrl-C stops it).
# Idempotent: the dataset deduplicates by content and the runs are created with fixed
# Idempotency-Keys, so running it again adds nothing. If nnd already answers on the port, it
# only (re)seeds and prints.
#   NND_LISTEN=127.0.0.1:8080 NND_DATA_DIR=./nnd-data scripts/run.sh
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/deps.sh
listen=${NND_LISTEN:-127.0.0.1:8080}
port=${listen##*:}
url="http://127.0.0.1:$port"
export NND_DATA_DIR="${NND_DATA_DIR:-$root/nnd-data}"
export NND_WEB_DIR="${NND_WEB_DIR:-$root/web}"

echo "== building (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target nnd nn_cli -j "$(nproc 2>/dev/null || echo 2)" >/dev/null

auth=""
[ -n "${NND_TOKEN:-}" ] && auth="Authorization: Bearer $NND_TOKEN"
api() { # api METHOD PATH [curl args...]
    m=$1; p=$2; shift 2
    if [ -n "$auth" ]; then curl -sS -X "$m" -H "$auth" "$@" "$url$p"; else curl -sS -X "$m" "$@" "$url$p"; fi
}
json_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" | head -n 1; }

pid=""
if curl -sf "$url/healthz" >/dev/null 2>&1; then
    echo "== nnd already answers on $url"
else
    echo "== starting nnd on $listen (data in $NND_DATA_DIR)"
    build/release/server/nnd --listen "$listen" --quiet &
    pid=$!
    trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM
    i=0
    until curl -sf "$url/healthz" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 $pid 2>/dev/null; then echo "nnd did not start" >&2; exit 1; fi
        sleep 0.1
    done
fi

echo "== uploading examples/kc_house_data.csv"
ds=$(api POST "/v1/datasets?name=kc_house_data" -H 'Content-Type: text/csv' \
     --data-binary @examples/kc_house_data.csv | json_field id)
[ -n "$ds" ] || { echo "upload failed" >&2; exit 1; }
for ex in kc_house_seed kc_house; do
    body=$(printf '{"dataset": "%s", "spec": %s}' "$ds" "$(cat examples/$ex.json)")
    run=$(printf '%s' "$body" | api POST /v1/runs -H 'Content-Type: application/json' \
          -H "Idempotency-Key: example-$ex-$ds" --data-binary @- | json_field id)
    echo "   $ex: run $run"
done

cat <<TXT

nnd is serving the dashboard at $url/
Try next:
  curl -s $url/v1/runs | head -c 600; echo
  curl -sN -H 'Accept: application/x-ndjson' $url/v1/runs/$run/events | tail -n 3
  curl -s $url/v1/runs/$run | head -c 600; echo
  curl -s '$url/v1/runs/$run/predictions?format=csv' | head
  head -n 4 examples/kc_house_data.csv | curl -s -X POST -H 'Content-Type: text/csv' --data-binary @- $url/v1/runs/$run/predict
  build/release/cli/nn train examples/kc_house_seed.json examples/kc_house_data.csv --out runs/seed
TXT
if [ -n "$pid" ]; then
    echo "(nnd runs in the foreground; Ctrl-C stops it)"
    wait $pid
fi
