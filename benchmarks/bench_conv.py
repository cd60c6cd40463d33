"""Benchmark: cnnlib's convolution and max pooling against PyTorch on the CPU.

    python benchmarks/bench_conv.py              # the full table (about a minute)
    python benchmarks/bench_conv.py --quick      # fewer repeats, one round
    python benchmarks/bench_conv.py --threads 1  # both libraries on one thread

Times cnnlib's fast ``conv2d`` and ``max_pool2d`` (forward, and forward + backward)
and PyTorch's on the same inputs (same shapes, same seeded values), in float32 and
float64, and prints the ratio cnnlib / PyTorch (below 1: cnnlib is faster). The
forward's GFLOP/s is set against the peak of NumPy's own matrix product measured in
the same run (a 2048 x 2048 GEMM); the fast forward is timed piece by piece; and the
readable loop convolution is timed against the fast one.

Fair play:
* both libraries get the same number of threads (by default NumPy's BLAS pool, read
  with threadpoolctl);
* each library runs in its own process: a library's idle worker threads keep
  spinning for a while after each call, and in one process they would steal the
  cores from the other library's threads (on 2 cores that doubles some times);
* the processes alternate, cnnlib, PyTorch, cnnlib, PyTorch (``--rounds``), each
  time a median over repeated runs after warm-up, and the table keeps each entry's
  best round, so a burst of load from other programs does not decide a ratio.
This is a script, not a test: timings depend on the machine and on what else runs.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from cnnlib.functional import conv as C
from cnnlib.functional import im2col as I
from cnnlib.functional import pool as P

CONV_SHAPES = [  # (input shape, filters, kernel, padding): LeNet's two layers, a CIFAR one
    ((64, 1, 28, 28), 6, 5, 0),
    ((64, 6, 14, 14), 16, 5, 0),
    ((64, 16, 32, 32), 32, 3, 1),
]
POOL_SHAPES = [(64, 6, 24, 24), (64, 16, 10, 10), (64, 32, 32, 32)]   # 2x2, stride 2
DTYPES = ("float32", "float64")
STAT = {"median": statistics.median, "min": min}


# ---------------------------------------------------------------------- inputs
def conv_inputs(i: int, dtype: str):
    """The same seeded (x, weight, bias, dout) for both libraries."""
    shape, f, k, pad = CONV_SHAPES[i]
    rng = np.random.default_rng(i)
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((f, shape[1], k, k)) / k).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    out_hw = [C.conv_output_size(n, k, 1, pad) for n in shape[2:]]
    dout = rng.standard_normal((shape[0], f, *out_hw)).astype(dtype)
    return x, w, b, dout, pad


def pool_inputs(i: int, dtype: str):
    shape = POOL_SHAPES[i]
    rng = np.random.default_rng(10 + i)
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal(shape[:2] + (shape[2] // 2, shape[3] // 2)).astype(dtype)
    return x, dout


def timed(fn, reps: int, stat: str, warmup: int = 2) -> float:
    """``stat`` (median or min) of ``reps`` wall-clock runs of fn, in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return STAT[stat](times)


# ------------------------------------------------------------- what each process does
def work_cnnlib(reps: int, stat: str) -> dict:
    res = {}
    for dtype in DTYPES:
        a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(dtype)
        res[f"peak|{dtype}"] = 2 * 2048 ** 3 / timed(lambda: a @ a, max(3, reps // 3),
                                                     stat, warmup=1) / 1e9
        for i in range(len(CONV_SHAPES)):
            x, w, b, dout, pad = conv_inputs(i, dtype)

            def fwd_bwd():
                _, cache = C.conv2d_forward(x, w, b, padding=pad)
                C.conv2d_backward(dout, cache)

            res[f"conv|{i}|{dtype}|fwd"] = timed(lambda: C.conv2d(x, w, b, padding=pad),
                                                 reps, stat)
            res[f"conv|{i}|{dtype}|fb"] = timed(fwd_bwd, reps, stat)
        for i in range(len(POOL_SHAPES)):
            x, dout = pool_inputs(i, dtype)

            def pool_fwd_bwd():
                _, cache = P.max_pool2d_forward(x, 2)
                P.max_pool2d_backward(dout, cache)

            res[f"pool|{i}|{dtype}|fwd"] = timed(lambda: P.max_pool2d(x, 2), reps, stat)
            res[f"pool|{i}|{dtype}|fb"] = timed(pool_fwd_bwd, reps, stat)

    # the forward of the largest float32 layer, piece by piece
    x, w, b, _, pad = conv_inputs(len(CONV_SHAPES) - 1, "float32")
    f, k = w.shape[0], w.shape[-1]
    w2 = w.reshape(f, -1)
    win = I.Windows.make(x.shape, (k, k), (1, 1), (pad,) * 4, (1, 1))
    buf = I.pad_buffer(x, win)
    cols = I.im2col(buf, win)
    y = w2 @ cols

    def reorder():          # (F, N*OH*OW) -> contiguous (N, F, OH, OW), bias added
        out = np.empty((win.n, f, win.oh, win.ow), dtype=y.dtype)
        np.add(y.reshape(f, win.n, win.oh, win.ow).transpose(1, 0, 2, 3),
               b[:, None, None], out=out)

    for name, fn in [("pad", lambda: I.pad_buffer(x, win)),
                     ("im2col", lambda: I.im2col(buf, win)), ("GEMM", lambda: w2 @ cols),
                     ("reorder", reorder)]:
        res[f"part|{name}"] = timed(fn, reps, stat)
    res["part|flops"] = 2 * y.size * w2.shape[1]

    # the loop version (a few hundred ms: three runs) against the fast one
    rng = np.random.default_rng(0)
    x, w, b = (rng.standard_normal((4, 3, 16, 16)), rng.standard_normal((8, 3, 3, 3)),
               rng.standard_normal(8))
    out, lcache = C.conv2d_loop_forward(x, w, b, padding=1)
    _, fcache = C.conv2d_forward(x, w, b, padding=1)
    dout = rng.standard_normal(out.shape)
    res["loop|fwd"] = timed(lambda: C.conv2d_loop(x, w, b, padding=1), 3, stat, 1)
    res["loop|bwd"] = timed(lambda: C.conv2d_loop_backward(dout, lcache), 3, stat, 1)
    res["fast|fwd"] = timed(lambda: C.conv2d(x, w, b, padding=1), reps, stat)
    res["fast|bwd"] = timed(lambda: C.conv2d_backward(dout, fcache), reps, stat)
    return res


def work_torch(reps: int, stat: str) -> dict:
    import torch
    import torch.nn.functional as TF

    res = {}
    for dtype in DTYPES:
        for i in range(len(CONV_SHAPES)):
            x, w, b, dout, pad = conv_inputs(i, dtype)
            xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
            dt = torch.tensor(dout)

            def fwd():
                with torch.no_grad():
                    TF.conv2d(xt, wt, bt, padding=pad)

            def fwd_bwd():
                out = TF.conv2d(xt, wt, bt, padding=pad)
                torch.autograd.grad(out, (xt, wt, bt), dt)

            res[f"conv|{i}|{dtype}|fwd"] = timed(fwd, reps, stat)
            res[f"conv|{i}|{dtype}|fb"] = timed(fwd_bwd, reps, stat)
        for i in range(len(POOL_SHAPES)):
            x, dout = pool_inputs(i, dtype)
            xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dout)

            def pool_fwd():
                with torch.no_grad():
                    TF.max_pool2d(xt, 2)

            def pool_fwd_bwd():
                torch.autograd.grad(TF.max_pool2d(xt, 2), (xt,), dt)

            res[f"pool|{i}|{dtype}|fwd"] = timed(pool_fwd, reps, stat)
            res[f"pool|{i}|{dtype}|fb"] = timed(pool_fwd_bwd, reps, stat)
    return res


def run_library(lib: str, threads: int, work_cnnlib, work_torch, *args) -> None:
    """In a worker process: limit both libraries to ``threads`` threads, run the
    library's work and print its results as one line of JSON (shared with
    bench_lenet.py)."""
    threadpool_limits(limits=threads, user_api="blas")
    if lib == "torch":
        import torch
        torch.set_num_threads(threads)
        res = work_torch(*args)
    else:
        res = work_cnnlib(*args)
    print(json.dumps(res))


def spawn_worker(script: str, lib: str, options: list[str]) -> dict:
    """Run ``script --worker lib options...`` in a fresh process; return its JSON."""
    cmd = [sys.executable, os.path.abspath(script), "--worker", lib, *options]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {lib} worker failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker(lib: str, reps: int, stat: str, threads: int) -> None:
    run_library(lib, threads, work_cnnlib, work_torch, reps, stat)


def run_worker(lib: str, reps: int, stat: str, threads: int) -> dict:
    return spawn_worker(__file__, lib, ["--reps", str(reps), "--stat", stat, "--threads",
                                        str(threads)])


# ----------------------------------------------------------------------- checks
def check_agreement() -> None:
    """Before timing anything: on these very shapes (a few images), cnnlib and PyTorch
    agree in float64, forward and all gradients."""
    import torch
    import torch.nn.functional as TF

    for i in range(len(CONV_SHAPES)):
        x, w, b, dout, pad = conv_inputs(i, "float64")
        x, dout = x[:4], dout[:4]
        out, cache = C.conv2d_forward(x, w, b, padding=pad)
        grads = C.conv2d_backward(dout, cache)
        t = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        tout = TF.conv2d(*t, padding=pad)
        tout.backward(torch.tensor(dout))
        for ours, theirs in zip((out, *grads), (tout, *(a.grad for a in t))):
            theirs = theirs.detach().numpy()
            assert np.abs(ours - theirs).max() <= 1e-10 * np.abs(theirs).max()


# ------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="7 repeats, one round")
    parser.add_argument("--reps", type=int, default=None,
                        help="repeats per timing (default 25)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="alternating rounds per library (default 2)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both libraries (default: NumPy's BLAS pool)")
    parser.add_argument("--stat", choices=list(STAT), default="median",
                        help="statistic over the repeats (default: median)")
    parser.add_argument("--worker", choices=["cnnlib", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reps = args.reps or (7 if args.quick else 25)
    rounds = args.rounds or (1 if args.quick else 2)
    blas = blas_info()
    threads = args.threads or int(blas.get("num_threads", 1))
    if args.worker:
        worker(args.worker, reps, args.stat, threads)
        return 0

    import torch
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch "
          f"{torch.__version__}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"NumPy BLAS: {blas.get('internal_api')} {blas.get('version')}, kernel "
          f"{blas.get('architecture')}; {threads} thread(s) for each library")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    check_agreement()

    ours, theirs = {}, {}
    for _ in range(rounds):          # alternate; keep each entry's best round
        for lib, store in (("cnnlib", ours), ("torch", theirs)):
            for key, t in run_worker(lib, reps, args.stat, threads).items():
                best = max if key.startswith("peak") else min
                store[key] = best(store.get(key, t), t)
    peak = {dt: ours[f"peak|{dt}"] for dt in DTYPES}
    print(f"NumPy GEMM peak (2048x2048): float32 {peak['float32']:.0f} GFLOP/s, float64 "
          f"{peak['float64']:.0f} GFLOP/s. Times: {args.stat} of {reps} runs, best of "
          f"{rounds} round(s)")
    print()

    ms = lambda t: f"{t * 1e3:.2f}"  # noqa: E731
    print("| op | input | dtype | cnnlib fwd ms | PyTorch fwd ms | ratio "
          "| cnnlib fwd+bwd ms | PyTorch fwd+bwd ms | ratio | cnnlib fwd GFLOP/s "
          "| % of GEMM peak |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    fb32, share32 = [], []
    for dtype in DTYPES:
        for i, (shape, f, k, pad) in enumerate(CONV_SHAPES):
            key = f"conv|{i}|{dtype}"
            fo, ft = ours[key + "|fwd"], theirs[key + "|fwd"]
            fbo, fbt = ours[key + "|fb"], theirs[key + "|fb"]
            out_hw = np.prod([C.conv_output_size(n, k, 1, pad) for n in shape[2:]])
            gflops = 2 * shape[0] * f * out_hw * shape[1] * k * k / fo / 1e9
            if dtype == "float32":
                fb32.append(fbo / fbt)
                share32.append(gflops / peak[dtype])
            label = f"conv2d {f}@{k}x{k}" + (f" pad {pad}" if pad else "")
            print(f"| {label} | {shape} | {dtype} | {ms(fo)} | {ms(ft)} | {fo / ft:.2f} | "
                  f"{ms(fbo)} | {ms(fbt)} | {fbo / fbt:.2f} | {gflops:.0f} | "
                  f"{100 * gflops / peak[dtype]:.0f}% |")
        for i, shape in enumerate(POOL_SHAPES):
            key = f"pool|{i}|{dtype}"
            fo, ft = ours[key + "|fwd"], theirs[key + "|fwd"]
            fbo, fbt = ours[key + "|fb"], theirs[key + "|fb"]
            print(f"| max_pool2d 2x2 | {shape} | {dtype} | {ms(fo)} | {ms(ft)} | "
                  f"{fo / ft:.2f} | {ms(fbo)} | {ms(fbt)} | {fbo / fbt:.2f} | | |")
    print()

    parts = {k.split("|")[1]: v for k, v in ours.items()
             if k.startswith("part|") and k != "part|flops"}
    gemm = ours["part|flops"] / parts["GEMM"] / 1e9
    print(f"Forward of {CONV_SHAPES[-1][0]} * 32@3x3 pad 1, float32, piece by piece: "
          + ", ".join(f"{k} {ms(t)} ms" for k, t in parts.items())
          + f"; the GEMM alone runs at {gemm:.0f} GFLOP/s "
          f"({100 * gemm / peak['float32']:.0f}% of peak)")
    slow_f = ours["loop|fwd"] / ours["fast|fwd"]
    slow_b = ours["loop|bwd"] / ours["fast|bwd"]
    print(f"Loop versus fast conv2d, (4, 3, 16, 16) * 8@3x3 pad 1, float64: forward "
          f"{ms(ours['loop|fwd'])} ms vs {ms(ours['fast|fwd'])} ms ({slow_f:.0f}x "
          f"slower), backward {ms(ours['loop|bwd'])} ms vs {ms(ours['fast|bwd'])} ms "
          f"({slow_b:.0f}x slower)")
    verdict = lambda ok: "met" if ok else "missed"  # noqa: E731
    print(f"Targets: float32 forward+backward within 2x of PyTorch: worst ratio "
          f"{max(fb32):.2f} ({verdict(max(fb32) <= 2)}); forward at half the float32 "
          f"GEMM peak: best {100 * max(share32):.0f}% ({verdict(max(share32) >= 0.5)}); "
          f"loop >= 100x slower than fast: {min(slow_f, slow_b):.0f}x "
          f"({verdict(min(slow_f, slow_b) >= 100)})")
    print(f"Load average at the end: {os.getloadavg()[0]:.1f} (other programs running "
          f"on the machine inflate and scatter the times)")
    return 0


def blas_info() -> dict:
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return lib
    return {}


if __name__ == "__main__":
    raise SystemExit(main())
