"""Benchmark: cnnlib's convolution and max pooling against PyTorch on the CPU.

    python benchmarks/bench_conv.py            # the full table (about a minute)
    python benchmarks/bench_conv.py --quick    # fewer repeats

Times cnnlib's fast ``conv2d`` and ``max_pool2d`` (forward, and forward + backward)
and PyTorch's on the same inputs in the same run, in float32 and float64, and prints
the ratio cnnlib / PyTorch (below 1: cnnlib is faster). The forward's GFLOP/s is set
against the peak of NumPy's own matrix product measured in the same run (a 2048 x
2048 GEMM), and the readable loop convolution is timed against the fast one.

Fair play: both libraries get the same number of threads (NumPy's BLAS pool, read with
threadpoolctl), each measurement is a median over repeated runs after warm-up, and the
two libraries alternate run by run so that both see the same machine load.
This is a script, not a test: timings depend on the machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as TF
from threadpoolctl import threadpool_info

from cnnlib import conv as C
from cnnlib import pool as P

CONV_SHAPES = [  # (input shape, filters, kernel, padding): LeNet's two layers, a CIFAR one
    ((64, 1, 28, 28), 6, 5, 0),
    ((64, 6, 14, 14), 16, 5, 0),
    ((64, 16, 32, 32), 32, 3, 1),
]
POOL_SHAPES = [(64, 6, 24, 24), (64, 16, 10, 10), (64, 32, 32, 32)]   # 2x2, stride 2


def blas_info() -> dict:
    for lib in threadpool_info():
        if lib.get("user_api") == "blas":
            return lib
    return {}


def median_times(fns, reps: int, warmup: int = 2) -> list[float]:
    """Median wall time (seconds) of each function, calling them in turn (a, b, a,
    b, ...) so that a burst of load on the machine hits both alike."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    for _ in range(reps):
        for fn, ts in zip(fns, times):
            start = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - start)
    return [statistics.median(ts) for ts in times]


def gemm_peak(dtype, reps: int) -> float:
    """GFLOP/s of NumPy's matrix product on 2048 x 2048 matrices."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2048, 2048)).astype(dtype) for _ in range(2))
    t, = median_times([lambda: a @ b], max(3, reps // 3), warmup=1)
    return 2 * 2048 ** 3 / t / 1e9


def bench_conv(shape, filters, k, pad, dtype, reps):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    w = (rng.standard_normal((filters, shape[1], k, k)) / k).astype(dtype)
    b = rng.standard_normal(filters).astype(dtype)
    out, cache = C.conv2d_forward(x, w, b, padding=pad)
    dout = rng.standard_normal(out.shape).astype(dtype)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    dt = torch.tensor(dout)

    def ours_fb():
        _, c = C.conv2d_forward(x, w, b, padding=pad)
        C.conv2d_backward(dout, c)

    def torch_fb():
        o = TF.conv2d(xt, wt, bt, padding=pad)
        torch.autograd.grad(o, (xt, wt, bt), dt)

    def torch_fwd():
        with torch.no_grad():
            TF.conv2d(xt, wt, bt, padding=pad)

    # the two libraries agree before we time them
    ref = TF.conv2d(xt, wt, bt, padding=pad).detach().numpy()
    assert np.allclose(out, ref, rtol=1e-3, atol=1e-3 * np.abs(ref).max())
    f_ours, f_torch = median_times([lambda: C.conv2d(x, w, b, padding=pad), torch_fwd], reps)
    fb_ours, fb_torch = median_times([ours_fb, torch_fb], reps)
    flops = 2 * out.size * shape[1] * k * k
    return f_ours, f_torch, fb_ours, fb_torch, flops


def bench_pool(shape, dtype, reps):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = P.max_pool2d_forward(x, 2)
    dout = rng.standard_normal(out.shape).astype(dtype)
    xt, dt = torch.tensor(x, requires_grad=True), torch.tensor(dout)

    def ours_fb():
        _, c = P.max_pool2d_forward(x, 2)
        P.max_pool2d_backward(dout, c)

    def torch_fwd():
        with torch.no_grad():
            TF.max_pool2d(xt, 2)

    def torch_fb():
        torch.autograd.grad(TF.max_pool2d(xt, 2), (xt,), dt)

    f_ours, f_torch = median_times([lambda: P.max_pool2d(x, 2), torch_fwd], reps)
    fb_ours, fb_torch = median_times([ours_fb, torch_fb], reps)
    return f_ours, f_torch, fb_ours, fb_torch


def bench_loop(reps):
    """The loop convolution against the fast one on a small problem (float64)."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3, 16, 16)), rng.standard_normal((8, 3, 3, 3)), \
        rng.standard_normal(8)
    out, lc = C.conv2d_loop_forward(x, w, b, padding=1)
    _, fc = C.conv2d_forward(x, w, b, padding=1)
    dout = rng.standard_normal(out.shape)
    loop_f, fast_f = median_times([lambda: C.conv2d_loop(x, w, b, padding=1),
                                   lambda: C.conv2d(x, w, b, padding=1)],
                                  max(3, reps // 4), warmup=1)
    loop_b, fast_b = median_times([lambda: C.conv2d_loop_backward(dout, lc),
                                   lambda: C.conv2d_backward(dout, fc)],
                                  max(3, reps // 4), warmup=1)
    return loop_f, fast_f, loop_b, fast_b


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    parser.add_argument("--reps", type=int, default=None, help="repeats per timing")
    args = parser.parse_args(argv)
    reps = args.reps or (7 if args.quick else 25)

    blas = blas_info()
    threads = int(blas.get("num_threads", 1))
    torch.set_num_threads(threads)
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, PyTorch "
          f"{torch.__version__}, {os.cpu_count()} CPUs")
    print(f"NumPy BLAS: {blas.get('internal_api')} {blas.get('version')}, kernel "
          f"{blas.get('architecture')}, {threads} threads (PyTorch set to "
          f"{torch.get_num_threads()})")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    peak = {np.float32: gemm_peak(np.float32, reps), np.float64: gemm_peak(np.float64, reps)}
    print(f"NumPy GEMM peak (2048x2048): float32 {peak[np.float32]:.0f} GFLOP/s, "
          f"float64 {peak[np.float64]:.0f} GFLOP/s")
    print()

    ms = lambda t: f"{t * 1e3:.2f}"  # noqa: E731
    print("| op | input | dtype | cnnlib fwd ms | PyTorch fwd ms | ratio | cnnlib fwd+bwd ms"
          " | PyTorch fwd+bwd ms | ratio | cnnlib fwd GFLOP/s | % of GEMM peak |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for dtype in (np.float32, np.float64):
        name = np.dtype(dtype).name
        for shape, f, k, pad in CONV_SHAPES:
            fo, ft, fbo, fbt, flops = bench_conv(shape, f, k, pad, dtype, reps)
            gf = flops / fo / 1e9
            label = f"conv2d {f}@{k}x{k}" + (f" pad {pad}" if pad else "")
            print(f"| {label} | {shape} | {name} | {ms(fo)} | {ms(ft)} | {fo / ft:.2f} | "
                  f"{ms(fbo)} | {ms(fbt)} | {fbo / fbt:.2f} | {gf:.0f} | "
                  f"{100 * gf / peak[dtype]:.0f}% |")
        for shape in POOL_SHAPES:
            fo, ft, fbo, fbt = bench_pool(shape, dtype, reps)
            print(f"| max_pool2d 2x2 | {shape} | {name} | {ms(fo)} | {ms(ft)} | "
                  f"{fo / ft:.2f} | {ms(fbo)} | {ms(fbt)} | {fbo / fbt:.2f} | | |")
    print()
    lf, ff, lb, fb = bench_loop(reps)
    print(f"Loop versus fast conv2d, (4, 3, 16, 16) * 8@3x3 pad 1, float64: forward "
          f"{ms(lf)} ms vs {ms(ff)} ms ({lf / ff:.0f}x slower), backward {ms(lb)} ms vs "
          f"{ms(fb)} ms ({lb / fb:.0f}x slower)")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
