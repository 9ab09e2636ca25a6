#!/bin/sh
# run_train_throughput.sh — nnd vs PyTorch training throughput, 1 and 2 threads, in one table.
#
#   bench/run_train_throughput.sh [PATH/TO/train_throughput]
#
# The binary is $1, else $BUILD/bench/train_throughput when BUILD (a CMake build dir) is set,
# else it is built in <repo>/build (configured with defaults if it has no CMakeCache.txt).
# EPOCHS (default 50), ROWS (default 18912) and THREADS (default 2) override the workload; the
# defaults take well under two minutes on two cores. The two implementations run one after the
# other, never at once. PyTorch comes from Debian's /usr/bin/python3 (PYTHON overrides it).
# Exit status: 0 ok, 1 a run failed, 2 PyTorch is missing or the binary cannot be built.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
epochs=${EPOCHS:-50}
rows=${ROWS:-18912}
threads=${THREADS:-2}

if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    echo "run_train_throughput: $python cannot import torch (install Debian's python3-torch," \
        "or set PYTHON to an interpreter that has it)" >&2
    exit 2
fi

if [ $# -ge 1 ]; then
    bin=$1
elif [ -n "${BUILD:-}" ]; then
    bin=$BUILD/bench/train_throughput
else
    build=$repo/build
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$repo" -B "$build" >/dev/null || exit 2
    fi
    cmake --build "$build" --target train_throughput -j 2 >/dev/null || exit 2
    bin=$build/bench/train_throughput
fi
if [ ! -x "$bin" ]; then
    echo "run_train_throughput: $bin is not an executable (build it, or pass its path)" >&2
    exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
echo "workload: 34-8x16-1 relu, batch 128, $rows rows, $epochs epochs, float32;" \
    "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
"$bin" --epochs "$epochs" --rows "$rows" --threads "$threads" --json >"$tmp/nnd.json" || status=1
"$python" "$here/torch_throughput.py" --epochs "$epochs" --rows "$rows" --threads "$threads" \
    --json >"$tmp/torch.json" || status=1

"$python" - "$tmp/nnd.json" "$tmp/torch.json" <<'EOF' || status=1
import json, sys
nnd, torch = (json.load(open(p)) for p in sys.argv[1:3])
n = nnd["threads"]
print(f"torch {torch['torch']}; nnd {'ok' if nnd['ok'] else 'FAILED'}, "
      f"torch {'ok' if torch['ok'] else 'FAILED'}")
print(f"{'optimizer':<10} {'threads':>7} {'nnd samples/s':>14} {'torch samples/s':>16} "
      f"{'nnd/torch':>10}")
tn = {r["optimizer"]: r for r in torch["results"]}
for r in nnd["results"]:
    t = tn[r["optimizer"]]
    for k, key in ((1, "samples_per_s_1"), (n, "samples_per_s_n")):
        if k == 1 or n > 1:
            print(f"{r['optimizer']:<10} {k:>7} {r[key]:>14.0f} {t[key]:>16.0f} "
                  f"{r[key] / t[key]:>9.2f}x")
if n > 1:
    for r in nnd["results"]:
        t = tn[r["optimizer"]]
        print(f"{n}-thread scaling, {r['optimizer']}: nnd {r['scaling']:.2f}x, "
              f"torch {t['scaling']:.2f}x")
sys.exit(0 if nnd["ok"] and torch["ok"] else 1)
EOF
exit $status
