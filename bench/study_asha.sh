#!/bin/sh
# study_asha.sh — ASHA against plain random search on the same space and seeds: the epoch × fold
# budget each spends and the best objective each finds. With the random sampler trial i draws the
# same values in both studies (the stream is (seed, i)), so ASHA's trials are random search's
# trials, some pruned; the question is what the pruning saves and whether it pruned the winner.
#   usage: bench/study_asha.sh NN_BINARY [ROWS] [TRIALS] [EPOCHS] [K]
#   (defaults 4000 rows of King County, 20 trials, 30 epochs, 4 folds; examples/kc_house_study.json's
#   space and ASHA with min_epochs 3, η 3)
set -eu
NN=$1
ROWS=${2:-4000}
TRIALS=${3:-20}
EPOCHS=${4:-30}
K=${5:-4}
SRC=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/study_asha.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
head -n $((ROWS + 1)) "$SRC/examples/kc_house_data.csv" >"$T/data.csv"
for pruner in asha none; do
    python3 - "$SRC/examples/kc_house_study.json" "$T/$pruner.json" "$pruner" "$TRIALS" "$EPOCHS" "$K" <<'PY'
import json, sys
src, dst, pruner, trials, epochs, k = sys.argv[1:]
s = json.load(open(src))
s["sampler"] = {"type": "random"}
s["budget"]["max_trials"] = int(trials)
s["base"]["training"]["epochs"] = int(epochs)
s["base"]["training"]["validation"]["k"] = int(k)
s["base"]["training"]["ensemble"] = 1  # one network per fold: the search, not the averaging
s["pruner"] = {"type": "asha", "min_epochs": 3, "reduction_factor": 3} if pruner == "asha" else {"type": "none"}
s.pop("holdout", None)
json.dump(s, open(dst, "w"))
PY
    start=$(date +%s.%N)
    "$NN" tune "$T/$pruner.json" "$T/data.csv" --out "$T/out-$pruner" --quiet >/dev/null
    end=$(date +%s.%N)
    echo "$pruner $(echo "$end - $start" | bc)" >>"$T/times"
done
python3 - "$T" "$K" "$EPOCHS" <<'PY'
import json, sys
t = sys.argv[1]
times = dict(line.split() for line in open(t + "/times"))
r = {p: json.load(open("%s/out-%s/study.json" % (t, p))) for p in ("asha", "none")}
k, epochs = int(sys.argv[2]), int(sys.argv[3])
def trained(s):  # what nn tune trained: a promoted trial's folds continue from their states
    return s["trained_epoch_folds"]
print("%-8s %12s %12s %10s %8s %8s" % ("search", "epoch×fold", "trained", "best r2", "pruned",
                                       "seconds"))
for p, name in (("none", "random"), ("asha", "asha")):
    s = r[p]
    pruned = sum(1 for row in s["leaderboard"] if row["status"] == "pruned")
    print("%-8s %12d %12d %10.4f %8d %8.1f" % (name, s["epoch_folds"], trained(s),
                                               s["best"]["objective"], pruned, float(times[p])))
a, n = r["asha"], r["none"]
print("asha: %.0f %% of random search's epoch × fold budget as ASHA counts it,"
      " %.0f %% as trained (promotions continue from fold states); its best is %.2f %% below"
      % (100.0 * a["epoch_folds"] / n["epoch_folds"], 100.0 * trained(a) / trained(n),
         100.0 * (n["best"]["objective"] - a["best"]["objective"]) / abs(n["best"]["objective"])))
PY
