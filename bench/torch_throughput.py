#!/usr/bin/python3
"""torch_throughput — the PyTorch twin of bench/train_throughput.c.

    /usr/bin/python3 bench/torch_throughput.py [--net seed|wide] [--batch N] [--optim both|adam|momentum]
                                               [--epochs N] [--rows N] [--threads N] [--json]

Same networks (seed: 34 → 8 × 16 ReLU → 1 linear; wide: 34 → 3 × 128 ReLU → 1; glorot_uniform
weights, zero biases), MSE loss, batch 128 unless --batch says otherwise, the same target formula on U[0,1) inputs (drawn from torch's generator, not nn_rng:
only the distribution matters here), Adam lr 0.001 and SGD momentum lr 0.01 μ 0.9. The loop is
the standard one without a DataLoader: a fresh permutation each epoch, mini-batches sliced
from it (the last partial batch kept), zero_grad / forward / backward / step. torch runs on one
thread (torch.set_num_threads(1)); only the training loop is timed, after a short untimed
warm-up (as in train_throughput.c).

With --threads N > 1 it first measures one training alone in this process, then starts N
worker processes (spawn), each with one torch thread, that build their data and model and then
wait on a barrier so that they train at once; the aggregate rate is N · rows · epochs over the
time from the barrier to the last worker's end.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.multiprocessing as mp

N_INPUTS = 34
NETS = {"seed": (8, 16), "wide": (3, 128)}  # hidden layers, units
WARMUP_ROWS = 2048
OPTIMS = ("adam", "momentum")


def make_data(rows, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, N_INPUTS, generator=g, dtype=torch.float64)
    s = (x[:, 4:] ** 2).sum(dim=1) / (N_INPUTS - 4)
    y = torch.sin(3.0 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * torch.cos(2.0 * x[:, 3]) + s
    return x.float().contiguous(), y.float().unsqueeze(1).contiguous()


def make_model(net, seed):
    torch.manual_seed(seed)
    layers, n_in = [], N_INPUTS
    n_hidden, units = NETS[net]
    for _ in range(n_hidden):
        layers += [torch.nn.Linear(n_in, units), torch.nn.ReLU()]
        n_in = units
    layers.append(torch.nn.Linear(n_in, 1))
    model = torch.nn.Sequential(*layers)
    for m in model:
        if isinstance(m, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    return model


def make_optim(name, model):
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=0.001)
    return torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def train(args, name, x, y, epochs, seed):
    """Trains one fresh model; returns (seconds, first epoch loss, last epoch loss)."""
    model = make_model(args.net, seed)
    batch = args.batch
    opt = make_optim(name, model)
    loss_fn = torch.nn.MSELoss()
    g = torch.Generator().manual_seed(seed + 1)
    n = x.shape[0]
    first = last = float("nan")
    t0 = time.perf_counter()
    for e in range(epochs):
        perm = torch.randperm(n, generator=g)
        total = 0.0
        for start in range(0, n, batch):
            idx = perm[start:start + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
        last = total / n
        if e == 0:
            first = last
    return time.perf_counter() - t0, first, last


def warm_up(args, name, x, y, seed):
    """One untimed epoch on at most WARMUP_ROWS rows (allocator, autograd and optimizer setup)."""
    train(args, name, x[:WARMUP_ROWS], y[:WARMUP_ROWS], 1, seed)


def worker(rank, args, barrier, out):
    torch.set_num_threads(1)
    x, y = make_data(args.rows, args.seed)
    for name in args.optims:
        warm_up(args, name, x, y, args.seed)
        barrier.wait()
        secs, first, last = train(args, name, x, y, args.epochs, args.seed + 100 * (rank + 1))
        out.put((name, rank, time.perf_counter(), secs, first, last))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--net", choices=sorted(NETS), default="seed")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--optim", choices=("both",) + OPTIMS, default="both")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--rows", type=int, default=18912)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.epochs < 1 or args.rows < 1 or args.threads < 1 or args.batch < 1:
        p.error("--epochs, --rows, --threads and --batch must be >= 1")
    args.optims = OPTIMS if args.optim == "both" else (args.optim,)

    torch.set_num_threads(1)
    x, y = make_data(args.rows, args.seed)
    samples = args.rows * args.epochs
    res = {}
    ok = True
    for name in args.optims:
        warm_up(args, name, x, y, args.seed)
        secs, first, last = train(args, name, x, y, args.epochs, args.seed)
        ok &= math.isfinite(last) and (args.epochs < 2 or last < first)
        res[name] = {"optimizer": name, "samples_per_s_1": samples / secs,
                     "samples_per_s_n": samples / secs, "scaling": 1.0,
                     "first_loss": first, "last_loss": last}

    if args.threads > 1:
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(args.threads + 1)
        out = ctx.Queue()
        procs = [ctx.Process(target=worker, args=(r, args, barrier, out))
                 for r in range(args.threads)]
        for pr in procs:
            pr.start()
        for name in args.optims:
            barrier.wait()  # every worker is ready: start the clock
            t0 = time.perf_counter()
            ends = []
            for _ in range(args.threads):
                got = out.get()
                ends.append(got[2])
                ok &= math.isfinite(got[5])
            wall = max(ends) - t0  # perf_counter is CLOCK_MONOTONIC: comparable across processes
            r = res[name]
            r["samples_per_s_n"] = args.threads * samples / wall
            r["scaling"] = r["samples_per_s_n"] / r["samples_per_s_1"]
        for pr in procs:
            pr.join()
            ok &= pr.exitcode == 0

    if args.json:
        print(json.dumps({"impl": "torch", "torch": torch.__version__, "float": "float",
                          "net": args.net, "rows": args.rows, "epochs": args.epochs,
                          "batch": args.batch, "threads": args.threads,
                          "results": [res[n] for n in args.optims], "ok": bool(ok)}))
    else:
        n_hidden, units = NETS[args.net]
        print(f"torch {torch.__version__} throughput: {N_INPUTS}-{n_hidden}x{units}-1 relu, "
              f"batch {args.batch}, {args.rows} rows, {args.epochs} epochs, float")
        for name in args.optims:
            r = res[name]
            print(f"  {name:<9} 1 thread: {r['samples_per_s_1']:12.0f} samples/s   "
                  f"loss {r['first_loss']:.5f} -> {r['last_loss']:.5f}")
            if args.threads > 1:
                print(f"  {'':<9} {args.threads} threads: {r['samples_per_s_n']:11.0f} samples/s"
                      f"   scaling {r['scaling']:.2f}x")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
