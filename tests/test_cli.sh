#!/bin/sh
# test_cli.sh — the real `nn` binary on a 1500-row King County slice: train writes its five
# outputs with the right shapes and numbers (R² recomputed here from predictions.csv), predict
# and validate, thread-count independence, and the exit codes and messages of bad specs, bad
# CSVs, diverging training and bad usage.
#   usage: sh test_cli.sh NN_BINARY SOURCE_DIR
# Prints "N passed, M failed"; exits nonzero on any failure.

NN=$1
SRC=$2
if [ ! -x "$NN" ] || [ ! -d "$SRC" ]; then
    echo "usage: sh test_cli.sh NN_BINARY SOURCE_DIR" >&2
    exit 2
fi
case $NN in /*) ;; *) NN=$PWD/$NN ;; esac
case $SRC in /*) ;; *) SRC=$PWD/$SRC ;; esac
DATA=$SRC/examples/kc_house_data.csv
[ -f "$DATA" ] || DATA=$SRC/../shared/data/kc_house_data.csv
T=$(mktemp -d "${TMPDIR:-/tmp}/test_cli.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT INT TERM

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
fail() { failed=$((failed + 1)); echo "FAIL $1" >&2; }
# check NAME COMMAND...: the command's exit status decides
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name"; fi
}
# status NAME WANT GOT
status() {
    if [ "$2" = "$3" ]; then ok "$1 (exit $3)"; else fail "$1: exit $3, expected $2"; fi
}
# contains NAME FILE TEXT: FILE contains the fixed string TEXT
contains() {
    if grep -F -q -- "$3" "$2"; then ok "$1"; else
        fail "$1: $2 lacks: $3"
        sed 's/^/    | /' "$2" | head -n 10 >&2
    fi
}
# same NAME WANT GOT
same() {
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got \"$3\", expected \"$2\""; fi
}

cd "$T" || exit 2
head -n 1501 "$DATA" >slice.csv
# the seed spec, shortened: 5 epochs, 3 folds, batch 16 (enough steps for a positive R²)
sed -e 's/"epochs": 300/"epochs": 5/' -e 's/"k": 8/"k": 3/' -e 's/"batch_size": 128/"batch_size": 16/' \
    "$SRC/examples/kc_house_seed.json" >spec.json
same "spec edited" "3" "$(grep -c -e '"epochs": 5' -e '"k": 3' -e '"batch_size": 16' spec.json)"

# ---- train ----
"$NN" train spec.json slice.csv --out out --threads 2 >train.out 2>train.err
status "nn train" 0 $?
for f in metrics.json predictions.csv history.csv model.json spec.json; do
    check "train wrote $f" test -s "out/$f"
done
contains "summary names the folds" train.out "1500 rows, 3 folds"
contains "per-fold progress on a pipe" train.err "fold 3/3: 5 epochs"

r2=$(sed -n 's/^  "r2": \([-0-9.eE+]*\),$/\1/p' out/metrics.json)
check "metrics.json r2 in (0, 1): $r2" awk -v r="$r2" 'BEGIN { exit !(r != "" && r > 0 && r < 1) }'
same "metrics.json rows" "1500" "$(sed -n 's/^  "rows": \([0-9]*\),$/\1/p' out/metrics.json)"
same "metrics.json n_folds" "3" "$(sed -n 's/^  "n_folds": \([0-9]*\),$/\1/p' out/metrics.json)"
same "metrics.json has 3 folds" "3" "$(grep -c '"fold": [123],' out/metrics.json)"

same "predictions header" "row,fold,id,actual,predicted" "$(head -n 1 out/predictions.csv)"
same "predictions rows" "1500" "$(($(wc -l <out/predictions.csv) - 1))"
# every row once, folds 1..3 of sizes 500, actual = the slice's price, R² as in metrics.json
awk -F, 'NR > 1 { print $3 }' slice.csv >prices.txt
awk -F, -v r2="$r2" '
    FNR == NR { price[FNR] = $1; next }
    FNR == 1 { next }
    {
        n++; if ($1 != n) bad = "row " n " numbered " $1
        c[$2]++
        if ($4 != price[$1]) bad = "row " $1 ": actual " $4 " != price " price[$1]
        y[n] = $4; p[n] = $5; s += $4
    }
    END {
        if (c[1] != 500 || c[2] != 500 || c[3] != 500) bad = "fold sizes " c[1] " " c[2] " " c[3]
        m = s / n
        for (i = 1; i <= n; i++) { res += (y[i] - p[i]) ^ 2; tot += (y[i] - m) ^ 2 }
        mine = 1 - res / tot
        d = mine - r2; if (d < 0) d = -d
        if (d > 1e-8) bad = "R² " mine " != metrics " r2
        if (bad) { print bad > "/dev/stderr"; exit 1 }
    }' prices.txt out/predictions.csv
status "predictions.csv values and R² recomputed" 0 $?

same "history header" "fold,member,epoch,train_loss,val_loss,val_r2,lr,seconds" "$(head -n 1 out/history.csv)"
same "history rows: 3 folds × 5 epochs + 5 refit" "20" "$(($(wc -l <out/history.csv) - 1))"
same "history refit rows (fold 0)" "5" "$(awk -F, 'NR > 1 && $1 == 0' out/history.csv | wc -l | tr -d ' ')"
same "history fold 2 epochs" "1 2 3 4 5" "$(awk -F, '$1 == 2 { printf "%s%s", s, $3; s = " " }' out/history.csv)"
same "history lr constant" "0.128" "$(awk -F, 'NR > 1 { print $7 }' out/history.csv | sort -u)"
contains "model.json format" out/model.json '"format": "nnd-model"'

# same results whatever the thread count
"$NN" train spec.json slice.csv --out out1 --threads 1 --quiet >/dev/null 2>&1
status "nn train --threads 1" 0 $?
check "predictions identical with 1 and 2 threads" cmp -s out/predictions.csv out1/predictions.csv
check "model identical with 1 and 2 threads" cmp -s out/model.json out1/model.json

# --seed overrides the spec's seed, is recorded in spec.json and changes the results
"$NN" train spec.json slice.csv --out seeded --seed 5 --quiet >/dev/null 2>&1
status "nn train --seed 5" 0 $?
contains "seed recorded in spec.json" seeded/spec.json '"seed":5'
check "another seed gives other predictions" test -n "$(cmp out/predictions.csv seeded/predictions.csv 2>&1)"

# ---- predict ----
"$NN" predict out/model.json slice.csv --out p.csv 2>predict.err
status "nn predict" 0 $?
same "predict header" "id,predicted" "$(head -n 1 p.csv)"
same "predict rows" "1500" "$(($(wc -l <p.csv) - 1))"
# (ids compared without quotes: the writer quotes only values that would read as numbers)
same "predict ids in order" "$(awk -F, 'NR > 1 { gsub(/"/, "", $1); print $1 }' slice.csv | cksum)" \
    "$(awk -F, 'NR > 1 { gsub(/"/, "", $1); print $1 }' p.csv | cksum)"
check "predictions finite and in dollars" awk -F, 'NR > 1 && !($2 > 1000 && $2 < 1e8) { bad = 1 }
    END { exit bad }' p.csv
# without the target column, to standard output: the same predictions
awk -F, -v OFS=, '{ $3 = ""; sub(/,,/, ","); print }' slice.csv >noprice.csv
same "noprice header" "id,date,bedrooms" "$(head -n 1 noprice.csv | cut -d, -f1-3)"
"$NN" predict out/model.json noprice.csv >p2.csv 2>predict2.err
status "nn predict without the target" 0 $?
check "predictions without the target are identical" cmp -s p.csv p2.csv

# ---- validate ----
"$NN" validate spec.json slice.csv >validate.out 2>&1
status "nn validate" 0 $?
contains "validate: width and parameters" validate.out "input width 34, 2481 parameters"
"$NN" validate spec.json >validate0.out 2>&1
status "nn validate without data" 0 $?
contains "validate without data" validate0.out "is valid (sha256 "

# ---- rows without a target: validate and train agree, the rows are counted and predicted ----
awk -F, -v OFS=, 'NR == 11 || NR == 21 { $3 = "" } { print }' slice.csv >notarget.csv
same "notarget: prices removed" "2" "$(awk -F, 'NR > 1 && $3 == ""' notarget.csv | wc -l | tr -d ' ')"
"$NN" validate spec.json notarget.csv >vnt.out 2>&1
status "validate with rows without a target" 0 $?
contains "validate counts them" vnt.out "2 rows without a target: left out of training and scoring"
"$NN" train spec.json notarget.csv --out nt --threads 2 --quiet >nt.out 2>nt.err
status "train with rows without a target" 0 $?
same "metrics.json rows_skipped" "2" "$(sed -n 's/^  "rows_skipped": \([0-9]*\),$/\1/p' nt/metrics.json)"
same "predictions: every row" "1500" "$(($(wc -l <nt/predictions.csv) - 1))"
# rows 10 and 20: no fold, no actual, a prediction in dollars; the others: a fold and the price
awk -F, 'NR > 1 {
        skipped = ($1 == 10 || $1 == 20)
        if (skipped && !($2 == "" && $4 == "" && $5 > 1000)) bad = "row " $1 ": " $0
        if (!skipped && ($2 == "" || $4 == "")) bad = "row " $1 ": " $0
    }
    END { if (bad) { print bad > "/dev/stderr"; exit 1 } }' nt/predictions.csv
status "predictions of rows without a target" 0 $?
same "out-of-fold rows counted in metrics" "1498" \
    "$(sed -n 's/^ *"n": \([0-9]*\)$/\1/p' nt/metrics.json | head -n 1)"

# ---- predict follows the model's schema ----
# the id column absent (new rows without one) and an extra column: the same predictions
awk -F, -v OFS=, '{ $1 = (NR == 1 ? "note" : "x") } { print }' slice.csv >noid.csv
"$NN" predict out/model.json noid.csv >p3.csv 2>p3.err
status "nn predict without the id column" 0 $?
same "predict without id: header" "predicted" "$(head -n 1 p3.csv)"
same "predict without id: same predictions" "$(cut -d, -f2 p.csv | cksum)" "$(cksum <p3.csv)"
# a column the model reads is missing: named, exit 2
cut -d, -f1-5,7- slice.csv >nosqft.csv
"$NN" predict out/model.json nosqft.csv >/dev/null 2>nosqft.err
status "predict without an input column" 2 $?
contains "missing input named" nosqft.err 'no column "sqft_living" (the model reads it)'
contains "model.json lists the inputs" out/model.json '"name": "sqft_living"'

# ---- a typo in a column name ----
sed 's/"sqft_living", "sqft_above"/"sqft_livng", "sqft_above"/' spec.json >typo.json
want='typo.json: /preprocess/3/columns/0: no column "sqft_livng" (did you mean "sqft_living"?)'
"$NN" train typo.json slice.csv --out typo --quiet >typo.out 2>typo.err
status "train with a typo" 2 $?
contains "train typo: pointer and did-you-mean on stderr" typo.err "$want"
check "train typo: no output dir" test ! -e typo
"$NN" validate typo.json slice.csv >vtypo.out 2>vtypo.err
status "validate with a typo" 2 $?
contains "validate typo: pointer and did-you-mean" vtypo.err "$want"
# a typo in a key
sed 's/"batch_size"/"batch_sise"/' spec.json >key.json
"$NN" validate key.json >vkey.out 2>vkey.err
status "validate with an unknown key" 2 $?
contains "unknown key with did-you-mean" vkey.err \
    'key.json: /training/batch_sise: unknown key "batch_sise" (did you mean "batch_size"?)'

# ---- a ragged CSV ----
head -n 10 slice.csv | awk -F, -v OFS=, 'NR == 5 { NF = NF - 1 } { print }' >ragged.csv
"$NN" train spec.json ragged.csv --out ragged --quiet >ragged.out 2>ragged.err
status "train on a ragged CSV" 2 $?
contains "ragged: file:line and counts" ragged.err "ragged.csv:5: expected 21 fields, found 20"
"$NN" predict out/model.json ragged.csv >/dev/null 2>pragged.err
status "predict on a ragged CSV" 2 $?
contains "predict ragged: file:line" pragged.err "ragged.csv:5: expected 21 fields, found 20"
"$NN" train spec.json missing.csv --quiet >/dev/null 2>missing.err
status "train on a missing CSV" 2 $?
contains "missing CSV named" missing.err "missing.csv"

# ---- training that diverges: exit 1, the fold and epoch named ----
sed 's/"type": "momentum", "learning_rate": 0.128, "momentum": 0.9/"type": "sgd", "learning_rate": 1e6/' \
    spec.json >diverge.json
same "diverge spec edited" "1" "$(grep -c '"sgd"' diverge.json)"
"$NN" train diverge.json slice.csv --out div --threads 1 --quiet >div.out 2>div.err
status "train that diverges" 1 $?
contains "divergence names the fold and epoch" div.err "nn: training failed: fold 1: training diverged at epoch"

# ---- a missing model ----
"$NN" predict nope.json slice.csv >/dev/null 2>nomodel.err
status "predict with a missing model" 2 $?
contains "missing model" nomodel.err "cannot open nope.json"

# ---- tune ----
printf '{"name": "t", "seed": 2, "base": %s, "space": {"/training/optimizer/learning_rate": {"type": "float", "low": 0.01, "high": 0.2, "log": true}}, "sampler": {"type": "random"}, "pruner": {"type": "asha", "min_epochs": 1}, "budget": {"max_trials": 4}, "ensemble": {"top": 2}, "holdout": 0.1}' \
    "$(cat spec.json)" >study.json
"$NN" tune study.json slice.csv --out tune1 --threads 1 >tune.out 2>tune.err
status "tune" 0 $?
for f in leaderboard.csv best.json study.json model.json; do
    check "tune wrote $f" test -s "tune1/$f"
done
"$NN" predict tune1/model.json slice.csv --out tune_pred.csv >/dev/null 2>tune_pred.err
status "predict with the study's ensemble" 0 $?
same "the ensemble predicts every row" "1501" "$(wc -l <tune_pred.csv | tr -d ' ')"
contains "the ensemble is a weighted model" tune1/model.json '"format": "nnd-weighted-model"'
same "leaderboard rows" "5" "$(wc -l <tune1/leaderboard.csv | tr -d ' ')"
contains "leaderboard header" tune1/leaderboard.csv "rank,trial,status,/training/optimizer/learning_rate,objective,"
contains "holdout scored" tune1/study.json '"holdout"'
contains "summary" tune.out "t: 4 trials, completed; best trial"
"$NN" tune study.json slice.csv --out tune2 --threads 2 --quiet >/dev/null 2>&1
same "tune: the same leaderboard with 2 threads" "$(cut -d, -f1-8 tune1/leaderboard.csv)" \
    "$(cut -d, -f1-8 tune2/leaderboard.csv)"
sed 's|"/training/optimizer/learning_rate"|"/network/l3"|' study.json >badstudy.json
"$NN" tune badstudy.json slice.csv --out tune3 >/dev/null 2>badstudy.err
status "tune a bad study" 2 $?
contains "bad study at its pointer" badstudy.err "badstudy.json: /space/~1network~1l3: the base spec has nothing at /network/l3"

# ---- usage ----
"$NN" --help >help.out 2>&1
status "nn --help" 0 $?
contains "help lists train" help.out "train SPEC DATA"
"$NN" train --help >thelp.out 2>&1
status "nn train --help" 0 $?
contains "train help" thelp.out "usage: nn train SPEC DATA"
"$NN" predict --help >/dev/null 2>&1
status "nn predict --help" 0 $?
"$NN" validate --help >/dev/null 2>&1
status "nn validate --help" 0 $?
"$NN" frobnicate >unk.out 2>unk.err
status "unknown command" 2 $?
contains "unknown command named" unk.err 'nn: unknown command "frobnicate"'
"$NN" >/dev/null 2>&1
status "no command" 2 $?
"$NN" train spec.json >/dev/null 2>&1
status "train without data" 2 $?
"$NN" train spec.json slice.csv --threads zero >/dev/null 2>thr.err
status "train --threads zero" 2 $?
contains "bad --threads named" thr.err "--threads"
"$NN" --version >version.out 2>&1
status "nn --version" 0 $?
same "version" "nn 0.1.0" "$(cut -d' ' -f1-2 version.out)"

# ---- classification: the wine example, short ----
sed 's/"epochs": 200/"epochs": 20/' "$SRC/examples/wine.json" >wine.json
"$NN" validate wine.json "$SRC/examples/wine.csv" >wv.out 2>&1
status "nn validate a classification" 0 $?
contains "validate names the classes" wv.out "task: classification; classes class_0 (59), class_1 (71), class_2 (48)"
"$NN" train wine.json "$SRC/examples/wine.csv" --out wine --quiet >wt.out 2>&1
status "nn train a classification" 0 $?
contains "the fold table has accuracy, log loss and AUC" wt.out "fold      accuracy   bal.acc  log loss   ROC AUC  F1 macro"
contains "and an out-of-fold summary" wt.out "out-of-fold accuracy "
same "predictions.csv names classes" "row,fold,actual,predicted,p_class_0,p_class_1,p_class_2" "$(head -n 1 wine/predictions.csv)"
same "history.csv has val_log_loss and val_accuracy" "fold,member,epoch,train_loss,val_loss,val_log_loss,val_accuracy,lr,seconds" "$(head -n 1 wine/history.csv)"
check "metrics.json is a classification's" grep -q '"task": "classification"' wine/metrics.json
(head -n 3 "$SRC/examples/wine.csv"; sed -n 4p "$SRC/examples/wine.csv" | sed 's/class_[0-9]/class_9/') >wnew.csv
"$NN" predict wine/model.json wnew.csv >wp.out 2>wp.err
status "nn predict with a label never seen" 0 $?
same "predict names every class" "predicted,p_class_0,p_class_1,p_class_2" "$(head -n 1 wp.out)"
contains "the unseen label is reported" wp.err 'with a "target" never seen in training (first: row 3, "class_9")'

# ---- tune a classification: three classes, log_loss by default, accuracy on request ----
printf '{"name": "wt", "seed": 3, "base": %s, "space": {"/training/optimizer/learning_rate": {"type": "float", "low": 0.003, "high": 0.03, "log": true}}, "sampler": {"type": "random"}, "budget": {"max_trials": 3}, "ensemble": {"top": 2, "rounds": 4}, "holdout": 0.2}' \
    "$(sed 's/"epochs": 20/"epochs": 5/; s/"ensemble": 5/"ensemble": 1/' wine.json)" >wstudy.json
"$NN" tune wstudy.json "$SRC/examples/wine.csv" --out wtune --threads 1 >wtune.out 2>wtune.err
status "tune a classification" 0 $?
contains "ranked by log loss" wtune.out "best trial"
contains "log_loss the default objective" wtune.out "log_loss"
contains "the leaderboard has the classification's metrics" wtune/leaderboard.csv ",objective_oof,accuracy,balanced_accuracy,log_loss,roc_auc,pr_auc,f1_macro,brier,epochs,"
contains "the ensemble selected by log loss" wtune/study.json '"metric": "log_loss"'
contains "the holdout scored by accuracy" wtune.err "holdout (36 rows): best trial accuracy "
"$NN" predict wtune/model.json wnew.csv >wtp.out 2>/dev/null
status "predict with a classification's ensemble" 0 $?
same "the ensemble answers classes" "predicted,p_class_0,p_class_1,p_class_2" "$(head -n 1 wtp.out)"
sed 's/"holdout": 0.2}/"holdout": 0.2, "objective": {"metric": "rmse"}}/' wstudy.json >wbad.json
"$NN" tune wbad.json "$SRC/examples/wine.csv" --out wtune2 >/dev/null 2>wbad.err
status "tune a classification for rmse" 2 $?
contains "refused at /objective/metric" wbad.err 'wbad.json: /objective/metric: "rmse" is a regression objective'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
