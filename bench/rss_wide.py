#!/usr/bin/env python3
"""rss_wide.py — peak memory (the child's maxrss from wait4) of `nn validate` and `nn train`
on small CSVs that one_hot makes wide (issue 16):

  plan-10000: a 280 KB CSV of 22,000 rows whose column "cat" has 6,000 distinct values, one_hot
              with max_categories 10000: the plan must refuse it (over 4096 columns) at once;
  train-1500: a 145 KB CSV of 12,000 rows, "cat" with 1,500 distinct values, one_hot then
              normalize, one epoch, 5 folds on 2 threads: the job holds the table once and
              float matrices per fold.

usage: python3 bench/rss_wide.py NN_BINARY [NN_BINARY ...]    (prints one line per binary)
"""
import json
import os
import random
import subprocess
import sys
import tempfile


def write_csv(path, rows, cats, seed):
    rng = random.Random(seed)
    with open(path, "w") as f:
        f.write("cat,x,y\n")
        for i in range(rows):
            c = rng.randrange(cats)
            f.write("c%d,%d,%d\n" % (c, rng.randrange(100), (c * 7 + i) % 1000))
    return os.path.getsize(path)


def spec(path, epochs, k):
    with open(path, "w") as f:
        json.dump({"target": "y", "preprocess": [
            {"op": "one_hot", "column": "cat", "max_categories": 10000},
            {"op": "normalize", "columns": "all"}],
            "network": {"hidden": [{"units": 8}]},
            "training": {"epochs": epochs, "batch_size": 256,
                         "validation": {"type": "kfold", "k": k}}}, f)


def peak_mb(argv):
    """Runs argv; returns (exit status, peak RSS in MB, stderr tail)."""
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    err = p.stderr.read().decode("utf-8", "replace")
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_maxrss / 1024.0, err.strip().splitlines()[-1:] or [""]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    d = tempfile.mkdtemp(prefix="rss_wide.")
    wide = os.path.join(d, "wide.csv")
    small = os.path.join(d, "small.csv")
    kb_wide = write_csv(wide, 22000, 6000, 1) / 1000
    kb_small = write_csv(small, 12000, 1500, 2) / 1000
    spec(os.path.join(d, "spec.json"), 1, 5)
    for nn in sys.argv[1:]:
        rc1, mb1, e1 = peak_mb([nn, "validate", os.path.join(d, "spec.json"), wide])
        rc2, mb2, e2 = peak_mb([nn, "train", os.path.join(d, "spec.json"), small, "--out",
                                os.path.join(d, "out"), "--threads", "2", "--quiet"])
        print("%s\n  validate %.0f KB, 6000 categories: exit %d, peak %.0f MB  (%s)\n"
              "  train    %.0f KB, 1500 categories, 1 epoch, 5 folds: exit %d, peak %.0f MB  (%s)"
              % (nn, kb_wide, rc1, mb1, e1[0][:110], kb_small, rc2, mb2, e2[0][:80]))


if __name__ == "__main__":
    main()
