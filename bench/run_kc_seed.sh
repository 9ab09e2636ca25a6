#!/bin/sh
# run_kc_seed.sh — the kc_house seed report, nnd vs PyTorch: R² and wall time in one table.
#
#   bench/run_kc_seed.sh [BUILD_DIR]
#
# nnd runs `nn train examples/kc_house_seed.json examples/kc_house_data.csv --quiet --out <tmp>`;
# PyTorch runs bench/kc_seed_torch.py, the same job (same preprocessing per fold, network, init,
# optimizer, 8 folds trained 2 at a time on one thread each, plus the final refit on every row
# that nnd's report also does). The two run one after the other, never at once.
#
# The nn binary is <build>/cli/nn, where <build> is $1, else $BUILD, else <repo>/build; it is
# built there (target nn_cli; configured with defaults when the dir has no CMakeCache.txt) if
# missing. EPOCHS (default 300, nnd's spec value) sets both implementations' epochs; any other
# value makes a copy of the spec with training.epochs changed. Measured on 2 AMD EPYC cores shared
# with other work: at 300 epochs the whole run took 3.5-4 minutes (torch 180-225 s, nnd 13-22 s);
# EPOCHS=50 is a quick mode of about 1.5 minutes (R² lower; the speed ratio still meaningful).
# Time on a busy host is noisy: run it twice, or on an idle machine, before quoting a ratio.
# PyTorch comes from Debian's /usr/bin/python3 (PYTHON overrides it). PROCS (default 2) sets the
# torch worker processes. BASELINE=<another build dir> adds that build's nn (e.g. the commit
# before a change, built apart) as a row "nnd (BASELINE)", run right after this build's, so that
# before and after are timed side by side on the same host; TORCH=0 leaves PyTorch out.
#
# Columns: R² is the out-of-fold R² in dollars; wall s is the whole command, timed from outside
# (process start-up, CSV, training, reports); train s is each implementation's own training time
# (nnd's metrics.json train_seconds; the torch script's train_seconds, measured from its warmed-up
# worker processes). The ratios are torch / nnd (> 1: nnd is faster).
# Exit status: 0 ok, 1 a run failed, 2 PyTorch is missing or nn cannot be built.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
epochs=${EPOCHS:-300}
procs=${PROCS:-2}
baseline=${BASELINE:-}
torch=${TORCH:-1}
spec=$repo/examples/kc_house_seed.json
data=$repo/examples/kc_house_data.csv

die() {
    code=$1
    shift
    echo "run_kc_seed: $*" >&2
    exit "$code"
}

case $epochs in '' | *[!0-9]* | 0*) die 2 "EPOCHS must be a positive integer, not '$epochs'" ;; esac
case $procs in '' | *[!0-9]* | 0*) die 2 "PROCS must be a positive integer, not '$procs'" ;; esac
[ -f "$spec" ] || die 2 "$spec is missing"
[ -f "$data" ] || die 2 "$data is missing"

if [ "$torch" != 0 ] && ! "$python" -c 'import torch, numpy' >/dev/null 2>&1; then
    die 2 "$python cannot import torch and numpy (install Debian's python3-torch, or set" \
        "PYTHON to an interpreter that has them)"
fi

build=${1:-${BUILD:-$repo/build}}
nn=$build/cli/nn
if [ ! -x "$nn" ]; then
    echo "run_kc_seed: building nn in $build" >&2
    mkdir -p "$build" || die 2 "cannot create $build"
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$repo" -B "$build" >/dev/null || die 2 "cmake failed to configure $build"
    fi
    cmake --build "$build" --target nn_cli -j 2 >/dev/null ||
        die 2 "building nn_cli in $build failed"
    [ -x "$nn" ] || die 2 "$nn is not an executable after the build"
fi
if [ -n "$baseline" ] && [ ! -x "$baseline/cli/nn" ]; then
    die 2 "BASELINE: $baseline/cli/nn is not an executable"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ "$epochs" -ne 300 ]; then
    "$python" - "$spec" "$tmp/spec.json" "$epochs" <<'EOF' || die 1 "cannot write the spec copy"
import json, sys
s = json.load(open(sys.argv[1]))
s["training"]["epochs"] = int(sys.argv[3])
json.dump(s, open(sys.argv[2], "w"), indent=2)
EOF
    spec=$tmp/spec.json
fi

now() { date +%s.%N; }

echo "kc_house seed report: 8 folds + final refit, $epochs epochs, batch 128, momentum SGD;" \
    "CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores" >&2
status=0
echo "run_kc_seed: nn train ..." >&2
t0=$(now)
if ! "$nn" train "$spec" "$data" --quiet --out "$tmp/nn" >"$tmp/nn.log" 2>&1; then
    cat "$tmp/nn.log" >&2
    echo "run_kc_seed: nn train failed" >&2
    status=1
fi
t1=$(now)
b0=0 b1=0
if [ -n "$baseline" ]; then
    echo "run_kc_seed: nn train (BASELINE) ..." >&2
    b0=$(now)
    if ! "$baseline/cli/nn" train "$spec" "$data" --quiet --out "$tmp/base" >"$tmp/base.log" 2>&1; then
        cat "$tmp/base.log" >&2
        echo "run_kc_seed: nn train (BASELINE) failed" >&2
        status=1
    fi
    b1=$(now)
fi
t2=0 t3=0
if [ "$torch" != 0 ]; then
    echo "run_kc_seed: kc_seed_torch.py ..." >&2
    t2=$(now)
    if ! "$python" "$here/kc_seed_torch.py" --csv "$data" --epochs "$epochs" --procs "$procs" \
        --json >"$tmp/torch.json" 2>"$tmp/torch.log"; then
        cat "$tmp/torch.log" >&2
        echo "run_kc_seed: kc_seed_torch.py failed" >&2
        status=1
    fi
    t3=$(now)
fi

"$python" - "$tmp/nn/metrics.json" "$tmp/torch.json" "$tmp/base/metrics.json" "$t0" "$t1" "$t2" \
    "$t3" "$b0" "$b1" "$torch" <<'EOF' || status=1
import json, sys
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
nn, th, base = load(sys.argv[1]), load(sys.argv[2]), load(sys.argv[3])
t0, t1, t2, t3, b0, b1 = map(float, sys.argv[4:10])
want_torch = sys.argv[10] != "0"
rows = [("nnd", nn and nn.get("r2"), t1 - t0, nn and nn.get("train_seconds"))]
if b1 > 0:
    rows.append(("nnd (BASELINE)", base and base.get("r2"), b1 - b0,
                 base and base.get("train_seconds")))
if want_torch:
    rows.append((f"torch {th['torch']}" if th else "torch", th and th.get("r2"), t3 - t2,
                 th and th.get("train_seconds")))
f = lambda v, spec: format(v, spec) if isinstance(v, (int, float)) else "-"
print(f"{'implementation':<16} {'R²':>8} {'wall s':>8} {'train s':>8}")
for name, r2, wall, train in rows:
    print(f"{name:<16} {f(r2, '.4f'):>8} {f(wall, '.1f'):>8} {f(train, '.1f'):>8}")
if nn and base:
    print(f"speed ratio BASELINE/nnd: wall {(b1 - b0) / (t1 - t0):.2f}x, "
          f"train {base['train_seconds'] / nn['train_seconds']:.2f}x")
if nn and th:
    print(f"speed ratio torch/nnd: wall {(t3 - t2) / (t1 - t0):.2f}x, "
          f"train {th['train_seconds'] / nn['train_seconds']:.2f}x")
bad = {"nnd": [f["fold"] for f in nn["folds"] if f["r2"] < 0] if nn else [],
       "torch": th["collapsed_folds"] if th else []}
for name, folds in bad.items():
    if folds:
        print(f"note: {name} fold(s) {', '.join(map(str, folds))} collapsed (dead ReLUs, constant "
              "predictions, fold R² < 0); it lowers that side's R² (see kc_seed_torch.py)")
sys.exit(0 if nn and (base or b1 == 0) and (th and th.get("ok") or not want_torch) else 1)
EOF
exit $status
