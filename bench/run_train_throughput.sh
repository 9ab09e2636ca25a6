#!/bin/sh
# run_train_throughput.sh — training throughput of nnd with OpenBLAS, nnd with libxsmm and
# PyTorch, in samples/s per thread and as a percentage of this machine's FP32 peak, in one table.
#
#   bench/run_train_throughput.sh [PATH/TO/train_throughput]
#
# The binary is $1, else $BUILD/bench/train_throughput when BUILD (a CMake build dir) is set,
# else it is built in <repo>/build (configured with defaults if it has no CMakeCache.txt);
# fp32_peak is taken from the same directory. The peak is measured first (bench/fp32_peak.c: an
# FMA loop on one thread); GFLOP/s count the products' multiply-adds (forward, weight and input
# gradients).
#
# Workloads: the seed network (34 → 8 × 16 ReLU → 1) at batch 128 and 32, and a wide one
# (34 → 3 × 128 ReLU → 1) at batch 128, each with adam and momentum, on one thread; the seed
# network at batch 128 also with THREADS (default 2) trainings at once, reported per thread.
# The implementations run one after the other, never at once; nnd keeps the best of REPEAT
# (default 3) runs, PyTorch runs once. BASELINE=PATH/TO/an older train_throughput (e.g. built
# from the commit before libxsmm, which knows only the seed network at batch 128) adds its rows
# as "nnd before". EPOCHS (default 100) and TORCH_EPOCHS (default 5) are the seed network's
# epochs over ROWS (default 18912) rows; the wide network runs a tenth (a half for PyTorch).
# PyTorch comes from Debian's /usr/bin/python3 (PYTHON overrides it).
# Exit status: 0 ok, 1 a run failed, 2 PyTorch is missing or the binary cannot be built.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
epochs=${EPOCHS:-100}
torch_epochs=${TORCH_EPOCHS:-5}
rows=${ROWS:-18912}
threads=${THREADS:-2}
repeat=${REPEAT:-3}
baseline=${BASELINE:-}

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
    cmake --build "$build" --target train_throughput fp32_peak -j 2 >/dev/null || exit 2
    bin=$build/bench/train_throughput
fi
peak=$(dirname "$bin")/fp32_peak
for b in "$bin" "$peak" ${baseline:+"$baseline"}; do
    if [ ! -x "$b" ]; then
        echo "run_train_throughput: $b is not an executable (build it, or pass its path)" >&2
        exit 2
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
export OPENBLAS_NUM_THREADS=1 # no idle OpenBLAS threads competing for the cores

"$peak" --json >"$tmp/peak.json" || status=1
# one line of JSON per run: label, threads, then the tool's own JSON
run() { # label threads command...
    label=$1 n=$2
    shift 2
    if out=$("$@"); then
        printf '{"label": "%s", "per": %s, "run": %s}\n' "$label" "$n" "$out" >>"$tmp/runs.jsonl"
    else
        echo "run_train_throughput: failed: $*" >&2
        status=1
    fi
}
wide_epochs=$(((epochs + 9) / 10))
wide_torch=$(((torch_epochs + 1) / 2))
for cfg in "seed 128 $epochs $torch_epochs" "seed 32 $epochs $torch_epochs" \
    "wide 128 $wide_epochs $wide_torch"; do
    set -- $cfg
    net=$1 batch=$2 e=$3 te=$4
    if [ -n "$baseline" ] && [ "$net" = seed ] && [ "$batch" = 128 ]; then
        run "nnd before" 1 "$baseline" --epochs "$e" --rows "$rows" --json
    fi
    for gemm in blas auto; do
        run "nnd $gemm" 1 "$bin" --net "$net" --batch "$batch" --gemm "$gemm" --epochs "$e" \
            --rows "$rows" --repeat "$repeat" --json
    done
    run torch 1 "$python" "$here/torch_throughput.py" --net "$net" --batch "$batch" \
        --epochs "$te" --rows "$rows" --json
done
if [ "$threads" -gt 1 ]; then
    if [ -n "$baseline" ]; then
        run "nnd before" "$threads" "$baseline" --epochs "$epochs" --rows "$rows" \
            --threads "$threads" --json
    fi
    for gemm in blas auto; do
        run "nnd $gemm" "$threads" "$bin" --gemm "$gemm" --epochs "$epochs" --rows "$rows" \
            --threads "$threads" --json
    done
    run torch "$threads" "$python" "$here/torch_throughput.py" --epochs "$torch_epochs" \
        --rows "$rows" --threads "$threads" --json
fi

cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores"
"$python" - "$tmp/peak.json" "$tmp/runs.jsonl" "$cpu" <<'EOF' || status=1
import json, sys
peak = json.load(open(sys.argv[1]))
runs = [json.loads(line) for line in open(sys.argv[2])]
flops = {"34-8x16-1": 13024, "34-3x128-1": 0}
names = {"nnd before": "nnd before", "nnd blas": "nnd OpenBLAS", "nnd auto": "nnd libxsmm",
         "torch": "PyTorch"}
for r in runs:
    if "flops_per_sample" in r["run"]:
        flops[r["run"]["net"]] = r["run"]["flops_per_sample"]
info = next((r["run"] for r in runs if r["label"] == "nnd auto"), {})
torch = next((r["run"] for r in runs if r["label"] == "torch"), {})
print(f"CPU: {sys.argv[3]}; FP32 peak of one thread {peak['gflops']:.1f} GFLOP/s "
      f"({peak['kind']} loop)")
print(f"{info.get('blas', '?')}; {info.get('xsmm') or 'no libxsmm'}; "
      f"torch {torch.get('torch', '?')}")
print(f"{'network':<11} {'batch':>5} {'threads':>7} {'optimizer':<9} {'implementation':<14} "
      f"{'samples/s/thread':>16} {'GFLOP/s':>8} {'% peak':>7} {'vs torch':>9}")
ok = True
table = {}
for r in runs:
    j, per = r["run"], r["per"]
    ok &= bool(j.get("ok"))
    net = j.get("net", "seed")
    net = {"seed": "34-8x16-1", "wide": "34-3x128-1"}.get(net, net)
    for res in j["results"]:
        rate = res["samples_per_s_n" if per > 1 else "samples_per_s_1"] / per
        key = (net, j.get("batch", 128), per, res["optimizer"])
        table.setdefault(key, []).append((names[r["label"]], rate))
for (net, batch, per, opt), rows in table.items():
    t = dict(rows).get("PyTorch")
    for name, rate in rows:
        gf = rate * flops[net] / 1e9
        vs = f"{rate / t:8.1f}x" if t else "-"
        print(f"{net:<11} {batch:>5} {per:>7} {opt:<9} {name:<14} {rate:>16,.0f} {gf:>8.1f} "
              f"{100 * gf / peak['gflops']:>6.1f}% {vs:>9}")
before = {k: dict(v).get("nnd before") for k, v in table.items()}
for k, v in table.items():
    now, old = dict(v).get("nnd libxsmm"), before.get(k)
    if now and old:
        print(f"{k[0]} batch {k[1]}, {k[2]} thread(s), {k[3]}: nnd libxsmm / nnd before = "
              f"{now / old:.2f}x")
sys.exit(0 if ok else 1)
EOF
exit $status
