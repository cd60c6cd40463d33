"""Benchmark: one training epoch of LeNet-5, cnnlib (NumPy) against PyTorch on the CPU.

    python benchmarks/bench_lenet.py              # 2 rounds of 5 epochs per library
    python benchmarks/bench_lenet.py --quick      # 1 round of 3 epochs
    python benchmarks/bench_lenet.py --threads 1  # both libraries on one thread

One epoch = the 4,000 training digits of MNIST-5k in a fresh random order, mini-batches
of 64, float32, SGD with momentum 0.9: for cnnlib ``cnnlib.train.fit`` on
``cnnlib.models.lenet5`` (the loop the book uses), for PyTorch the same steps written
the usual way (index a batch, forward, cross-entropy, ``zero_grad``, ``backward``,
``step``) on its twin ``cnnlib.twins.lenet.LeNet5``. The ratio cnnlib / PyTorch is printed
(below 1: cnnlib is faster) for the median epoch in wall-clock and in CPU time (on a
busy machine a process's CPU time is disturbed less than its wall-clock time), and for
the fastest epoch of each; then where cnnlib's epoch goes: the CPU time of the forward
and the backward of every layer, the loss and the optimiser step.

Fair play, as in ``bench_conv.py``: the same number of threads for both (default:
NumPy's BLAS pool), each library in its own process (idle worker threads of one
library would steal the cores of the other), the processes alternating (cnnlib,
PyTorch, cnnlib, PyTorch), and each library's best round kept. Before timing, both
models start from the same weights and must give the same loss on the first batch.
This is a script, not a test: timings depend on the machine and on what else runs.
"""
from __future__ import annotations

import argparse
import collections
import os
import platform
import statistics
import time

import numpy as np
# the conv benchmark's BLAS report and worker processes
from bench_conv import blas_info, run_library, spawn_worker

BATCH = 64


def data():
    from cnnlib.data import load_mnist_5k
    d = load_mnist_5k()
    return d.X_train[:, None].astype(np.float32), d.y_train


# ------------------------------------------------------------- what each process does
def work_cnnlib(epochs: int, profile: bool) -> dict:
    from cnnlib.models import lenet5
    from cnnlib.optim import SGD
    from cnnlib.train import Callback, fit

    X, y = data()
    model = lenet5(rng=0, dtype=np.float32)
    opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []

    cpu = []

    class Clock(Callback):
        def on_epoch_begin(self, epoch):
            self.start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs):
            times.append(time.perf_counter() - self.start[0])
            cpu.append(time.process_time() - self.start[1])

    fit(model, "cross_entropy", opt, X, y, epochs=1, batch_size=BATCH, rng=99,
        progress=False)                                                  # warm-up
    fit(model, "cross_entropy", opt, X, y, epochs=epochs, batch_size=BATCH, rng=0,
        progress=False, callbacks=[Clock()])
    res = {"epochs": times, "cpu": cpu}
    if profile:
        res["parts"] = profile_cnnlib(model, opt, X, y)
    return res


def profile_cnnlib(model, opt, X, y) -> dict:
    """CPU seconds per epoch spent in each layer's forward and backward, the loss and
    the optimiser step (the layers' methods wrapped with a clock; CPU time, because
    the wall-clock time of one call on a busy machine mostly measures the others)."""
    import cnnlib.functional as F

    spent = collections.defaultdict(float)

    def clocked(name, fn):
        def run(*args):
            start = time.process_time()
            out = fn(*args)
            spent[name] += time.process_time() - start
            return out
        return run

    for name, layer in model.named_children():
        object.__setattr__(layer, "forward", clocked(f"{name} forward", layer.forward))
        object.__setattr__(layer, "backward", clocked(f"{name} backward", layer.backward))
    order = np.random.default_rng(1).permutation(len(X))
    start = time.process_time()
    for i in range(0, len(X), BATCH):
        idx = order[i:i + BATCH]
        xb, yb = X[idx], y[idx]
        out = model(xb)
        t = time.process_time()
        _, cache = F.cross_entropy_forward(out, yb)
        d = F.cross_entropy_backward(1.0, cache)
        spent["loss"] += time.process_time() - t
        t = time.process_time()
        opt.zero_grad()
        spent["optimiser"] += time.process_time() - t
        model.backward(d)
        t = time.process_time()
        opt.step()
        spent["optimiser"] += time.process_time() - t
    spent["epoch"] = time.process_time() - start
    return dict(spent)


def work_torch(epochs: int, profile: bool) -> dict:
    import torch
    import torch.nn.functional as TF

    from cnnlib.models import lenet5
    from cnnlib.twins import state_to_torch
    from cnnlib.twins.lenet import LeNet5

    X, y = data()
    model = state_to_torch(lenet5(rng=0, dtype=np.float32), LeNet5())
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch(seed):
        order = torch.from_numpy(np.random.default_rng(seed).permutation(len(X)))
        for i in range(0, len(X), BATCH):
            idx = order[i:i + BATCH]
            loss = TF.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    epoch(99)                                                            # warm-up
    times, cpu = [], []
    for e in range(epochs):
        start = time.perf_counter(), time.process_time()
        epoch(e)
        times.append(time.perf_counter() - start[0])
        cpu.append(time.process_time() - start[1])
    res = {"epochs": times, "cpu": cpu}
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as tprofile
        with tprofile(activities=[ProfilerActivity.CPU]) as prof:
            epoch(1)
        res["table"] = prof.key_averages().table(sort_by="self_cpu_time_total",
                                                 row_limit=12)
    return res


def worker(lib: str, epochs: int, threads: int, profile: bool) -> None:
    run_library(lib, threads, work_cnnlib, work_torch, epochs, profile)


def run_worker(lib: str, epochs: int, threads: int, profile: bool) -> dict:
    return spawn_worker(__file__, lib, ["--epochs", str(epochs), "--threads", str(threads)]
                        + (["--profile"] if profile else []))


def check_agreement() -> float:
    """Both models from the same weights: the same loss on one batch (float32)."""
    import torch
    import torch.nn.functional as TF

    import cnnlib.functional as F
    from cnnlib.models import lenet5
    from cnnlib.twins import state_to_torch
    from cnnlib.twins.lenet import LeNet5

    X, y = data()
    ours = lenet5(rng=0, dtype=np.float32)
    theirs = state_to_torch(ours, LeNet5())
    a = float(F.cross_entropy(ours(X[:BATCH]), y[:BATCH]))
    with torch.no_grad():
        b = float(TF.cross_entropy(theirs(torch.from_numpy(X[:BATCH])),
                                   torch.from_numpy(y[:BATCH])))
    ours.clear_pending()
    assert abs(a - b) <= 1e-5 * abs(b), (a, b)
    return a


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round of 3 epochs")
    parser.add_argument("--epochs", type=int, default=None,
                        help="timed epochs per round (default 5)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds per library (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: NumPy's BLAS pool)")
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=["cnnlib", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    epochs = args.epochs or (3 if args.quick else 5)
    rounds = args.rounds or (1 if args.quick else 2)
    blas = blas_info()
    threads = args.threads or int(blas.get("num_threads", 1))
    if args.worker:
        worker(args.worker, epochs, threads, args.profile)
        return 0

    import torch
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch "
          f"{torch.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"NumPy BLAS: {blas.get('internal_api')} {blas.get('version')}, kernel "
          f"{blas.get('architecture')}; {threads} thread(s) for each library")
    loss = check_agreement()
    print(f"Same weights, first batch: the same loss in both ({loss:.5f})")

    best: dict[str, dict] = {}
    extra: dict[str, dict] = {}
    for r in range(rounds):          # alternate; keep each library's best round
        for lib in ("cnnlib", "torch"):
            res = run_worker(lib, epochs, threads, profile=r == rounds - 1)
            if lib not in best or statistics.median(res["epochs"]) < \
                    statistics.median(best[lib]["epochs"]):
                best[lib] = res
            if r == rounds - 1:
                extra[lib] = res
    med = {lib: {k: statistics.median(best[lib][k]) for k in ("epochs", "cpu")}
           for lib in best}
    print()
    print(f"One epoch of LeNet-5 on 4,000 digits, batch {BATCH}, float32, {threads} "
          f"thread(s); median of {epochs} epochs, best of {rounds} round(s):")
    for lib, name in (("cnnlib", "cnnlib "), ("torch", "PyTorch")):
        print(f"  {name} {med[lib]['epochs']:.3f} s wall, {med[lib]['cpu']:.3f} s CPU   "
              f"(epochs: " + ", ".join(f"{t:.3f}" for t in best[lib]["epochs"]) + ")")
    print(f"  ratio cnnlib / PyTorch: {med['cnnlib']['epochs'] / med['torch']['epochs']:.2f}"
          f" wall, {med['cnnlib']['cpu'] / med['torch']['cpu']:.2f} CPU time (medians); "
          f"{min(best['cnnlib']['epochs']) / min(best['torch']['epochs']):.2f} for the "
          f"fastest epoch of each  (target: at most 1.2)")
    parts = extra["cnnlib"].get("parts")
    if parts:
        total = parts.pop("epoch")
        print(f"\nWhere cnnlib's epoch goes (one profiled epoch, {total:.3f} s of CPU "
              f"time; the clocks add a little):")
        for name, t in sorted(parts.items(), key=lambda kv: -kv[1]):
            if t >= 0.005 * total:
                print(f"  {name:<18} {t * 1e3:8.1f} ms  {100 * t / total:5.1f}%")
    if extra["torch"].get("table"):
        print("\nPyTorch's epoch by operator (torch.profiler):")
        print(extra["torch"]["table"])
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} (other programs running "
          f"on the machine inflate and scatter the times)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
