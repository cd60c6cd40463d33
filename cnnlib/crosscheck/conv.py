"""Cross-check cases for convolution, pooling and padding.

Every trial draws a new configuration: batch size (1 included), channels, filters,
groups, non-square images and kernels (1x1 included), stride (with leftover pixels
that no window reaches), padding (int, pair or 'same'), dilation, with and without
bias. The "(ceil_mode)" pooling rows draw images down to one pixel whose last window
hangs past the edge, even windows larger than the padded input, which ceil mode
allows. Max pooling draws integer-valued inputs half of the time, so that windows hold
ties: PyTorch sends the gradient to the first maximum in row-major order, and so must
cnnlib. The loop convolution gets smaller shapes (it is slow by design).

float32 tolerances. float32 rounds to 2**-24 = 6e-8 relative. A convolution output
is a sum of C*kh*kw <= 144 products, and a weight gradient a sum over N*OH*OW (up to
a few hundred here, thousands in the tests' LeNet shapes) positions; the libraries
round each partial sum, in different orders (PyTorch blocks its sums, cnnlib's GEMM
and the loop version's np.sum block them differently), so they differ by about
sqrt(n) eps typically and n eps at worst. Over 500 random trials per row the
normalised error stayed below 3e-6 (the worst was a weight gradient); 3e-5 is ten
times that, and far below a real bug (a wrong tap or a dropped term moves the result
by 1e-2 or more). Pooling and padding only pick, copy or average values; their
gradients add at most kh*kw = 16 overlapping contributions: below 3e-7 in 500
trials, tolerance 3e-6.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch.nn.functional as TF

from cnnlib.functional import conv as C
from cnnlib.functional import padding as P
from cnnlib.functional import pool as PL
from cnnlib.crosscheck import Case

__all__ = ["CASES", "random_conv_config", "random_pool_config", "random_ceil_pool_config",
           "torch_pool_output_size"]

_TOL32_CONV = 3e-5
_TOL32_POOL = 3e-6


def _draw(rng: np.random.Generator, lo: int, hi: int, n: int) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(lo, hi + 1, size=n))


def random_conv_config(rng: np.random.Generator, nd: int = 2, *, small: bool = False):
    """A random convolution: returns (inputs, kwargs) with inputs ``input``,
    ``weight`` and (often) ``bias`` as float64 arrays, kwargs stride, padding,
    dilation and groups. ``nd`` is 1 or 2 spatial dimensions; ``small`` keeps the
    output small enough for the loop version."""
    groups = int(rng.choice([1, 1, 1, 2, 3]))
    n = int(rng.integers(1, 3 if small else 5))
    c = groups * int(rng.integers(1, 3 if small else 4))
    f = groups * int(rng.integers(1, 3 if small else 4))
    kernel = _draw(rng, 1, 4, nd)
    dilation = _draw(rng, 1, 2, nd) if rng.random() < 0.3 else (1,) * nd
    if rng.random() < 0.15:
        stride, padding = (1,) * nd, "same"
    else:
        stride = _draw(rng, 1, 3, nd)
        padding = _draw(rng, 0, 2, nd)
    # PyTorch also accepts one int for every axis: exercise that form too
    as_int = nd == 2 and rng.random() < 0.3 and not isinstance(padding, str)
    if as_int:
        stride, padding = (stride[0],) * nd, (padding[0],) * nd
    extent = [d * (k - 1) + 1 for d, k in zip(dilation, kernel)]
    pad_total = [0] * nd if isinstance(padding, str) else [2 * p for p in padding]
    # at least the kernel's extent, plus a few pixels the stride may leave over
    size = tuple(max(1, e - t + int(rng.integers(0, 5 if small else 8)))
                 for e, t in zip(extent, pad_total))
    inputs = {"input": rng.standard_normal((n, c) + size),
              "weight": rng.standard_normal((f, c // groups) + kernel)
              / np.sqrt(c // groups * np.prod(kernel))}
    if rng.random() < 0.7:
        inputs["bias"] = rng.standard_normal(f)
    if as_int:
        stride, padding = stride[0], padding[0]
    return inputs, {"stride": stride, "padding": padding, "dilation": dilation,
                    "groups": groups}


def random_pool_config(rng: np.random.Generator, *, dilation: bool = True,
                       ties: bool = False):
    """A random pooling: returns (input, kwargs) with kernel_size, stride (None
    half of the time), padding (<= half the kernel), dilation (if asked) and
    ceil_mode. With ``ties`` the input holds small integers, so windows tie."""
    kernel = _draw(rng, 1, 4, 2)
    stride = None if rng.random() < 0.4 else _draw(rng, 1, 3, 2)
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    dil = _draw(rng, 1, 2, 2) if dilation and rng.random() < 0.3 else (1, 1)
    extent = [d * (k - 1) + 1 for d, k in zip(dil, kernel)]
    size = tuple(e + int(rng.integers(0, 7)) for e in extent)
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) + size
    x = (rng.integers(-2, 3, size=shape).astype(np.float64) if ties
         else rng.standard_normal(shape))
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding,
              "ceil_mode": bool(rng.random() < 0.3)}
    if dilation:
        kwargs["dilation"] = dil
    return x, kwargs


def torch_pool_output_size(n: int, k: int, stride: int, pad: int, dilation: int) -> int:
    """PyTorch's output size of a ceil_mode pooling along one axis, written out
    independently of cnnlib (``pooling_output_shape`` in ATen): round the division up,
    then drop the last window if it starts at or after the end of the input (it must
    start inside the input or the padding before it). May be < 1 (PyTorch raises)."""
    out = -(-(n + 2 * pad - dilation * (k - 1) - 1) // stride) + 1
    if (out - 1) * stride >= n + pad:
        out -= 1
    return out


def _sees_the_input(n: int, k: int, stride: int, pad: int, dilation: int, out: int):
    """Whether every window holds at least one input pixel (PyTorch's max pooling
    answers -inf for a window that lies entirely in the padding; cnnlib refuses)."""
    return all(any(0 <= o * stride - pad + j * dilation < n for j in range(k))
               for o in range(out))


def random_ceil_pool_config(rng: np.random.Generator, *, dilation: bool = True):
    """A random pooling with ``ceil_mode=True`` whose last window hangs past the edge
    of the input (on at least one axis), sizes drawn down to 1 pixel: windows larger
    than the padded input included, as PyTorch allows in ceil mode. Returns (input,
    kwargs) like :func:`random_pool_config`."""
    while True:
        kernel = _draw(rng, 1, 4, 2)
        stride = _draw(rng, 1, 3, 2)
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        dil = _draw(rng, 1, 2, 2) if dilation and rng.random() < 0.3 else (1, 1)
        size = _draw(rng, 1, 7, 2)
        outs = [torch_pool_output_size(*a) for a in zip(size, kernel, stride, padding, dil)]
        hangs = [(o - 1) * s + d * (k - 1) + 1 > n + 2 * p
                 for o, n, k, s, p, d in zip(outs, size, kernel, stride, padding, dil)]
        if min(outs) >= 1 and any(hangs) and all(
                _sees_the_input(*a) for a in zip(size, kernel, stride, padding, dil, outs)):
            break
    shape = (int(rng.integers(1, 4)), int(rng.integers(1, 4))) + size
    kwargs = {"kernel_size": kernel, "stride": stride, "padding": padding,
              "ceil_mode": True}
    if dilation:
        kwargs["dilation"] = dil
    return rng.standard_normal(shape), kwargs


def _run_conv(forward, backward, inputs, kw):
    """numpy_fn of a convolution: cnnlib's output and its backward as a dict."""
    out, cache = forward(inputs["input"], inputs["weight"], inputs.get("bias"), **kw)

    def grads(dout):
        dinput, dweight, dbias = backward(dout, cache)
        g = {"input": dinput, "weight": dweight}
        if "bias" in inputs:
            g["bias"] = dbias
        return g

    return out, grads


def _conv_make(rng, nd, small):
    inputs, kwargs = random_conv_config(rng, nd, small=small)
    return inputs, {}, kwargs


def _max_pool_make(rng, ceil_mode: bool = False):
    x, kwargs = (random_ceil_pool_config(rng) if ceil_mode else
                 random_pool_config(rng, ties=bool(rng.random() < 0.5)))
    return {"input": x}, {}, kwargs


def _avg_pool_make(rng, ceil_mode: bool = False):
    draw = random_ceil_pool_config if ceil_mode else random_pool_config
    x, kwargs = draw(rng, dilation=False)
    kwargs["count_include_pad"] = bool(rng.random() < 0.5)
    kwargs["divisor_override"] = None if rng.random() < 0.8 else int(rng.integers(1, 7))
    return {"input": x}, {}, kwargs


def _single_input(forward, backward):
    def numpy_fn(inputs, extras, kw):
        out, cache = forward(inputs["input"], **kw)
        return out, lambda dout: {"input": backward(dout, cache)}
    return numpy_fn


def _pad_make(rng):
    mode = str(rng.choice(["constant", "reflect", "replicate", "circular"]))
    if mode == "constant":
        ndim = int(rng.integers(1, 5))
        axes = int(rng.integers(1, ndim + 1))
    else:   # PyTorch pads the last 1-3 axes of an input with 1 or 2 more in front
        axes = int(rng.integers(1, 4))
        ndim = axes + int(rng.integers(1, 3))
    shape = tuple(int(s) for s in rng.integers(2, 6, size=ndim))
    pad = tuple(int(rng.integers(0, shape[ndim - 1 - k // 2]))   # reflect: < size
                for k in range(2 * axes))
    kwargs = {"pad": pad, "mode": mode}
    if mode == "constant":
        kwargs["value"] = float(rng.choice([0.0, 1.5]))
    return {"input": rng.standard_normal(shape)}, {}, kwargs


def _torch_conv(op):
    """PyTorch's conv with its warning about copies for padding='same' silenced (a
    note on its own speed, irrelevant here)."""
    def run(t, e, kw):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Using padding='same'")
            return op(t["input"], t["weight"], t.get("bias"), **kw)
    return run


CASES = [
    Case("conv1d", lambda rng: _conv_make(rng, 1, False),
         lambda i, e, kw: _run_conv(C.conv1d_forward, C.conv1d_backward, i, kw),
         _torch_conv(TF.conv1d),
         _TOL32_CONV),
    Case("conv2d (loop)", lambda rng: _conv_make(rng, 2, True),
         lambda i, e, kw: _run_conv(C.conv2d_loop_forward, C.conv2d_loop_backward, i, kw),
         _torch_conv(TF.conv2d),
         _TOL32_CONV),
    Case("conv2d (fast)", lambda rng: _conv_make(rng, 2, False),
         lambda i, e, kw: _run_conv(C.conv2d_forward, C.conv2d_backward, i, kw),
         _torch_conv(TF.conv2d),
         _TOL32_CONV),
    Case("max_pool2d", _max_pool_make,
         _single_input(PL.max_pool2d_forward, PL.max_pool2d_backward),
         lambda t, e, kw: TF.max_pool2d(t["input"], **kw), _TOL32_POOL),
    Case("avg_pool2d", _avg_pool_make,
         _single_input(PL.avg_pool2d_forward, PL.avg_pool2d_backward),
         lambda t, e, kw: TF.avg_pool2d(t["input"], **kw), _TOL32_POOL),
    # ceil_mode with a last window past the edge (PyTorch's rule for the output size
    # and, for the mean, for the divisor of a window that hangs over)
    Case("max_pool2d (ceil_mode)", lambda rng: _max_pool_make(rng, ceil_mode=True),
         _single_input(PL.max_pool2d_forward, PL.max_pool2d_backward),
         lambda t, e, kw: TF.max_pool2d(t["input"], **kw), _TOL32_POOL),
    Case("avg_pool2d (ceil_mode)", lambda rng: _avg_pool_make(rng, ceil_mode=True),
         _single_input(PL.avg_pool2d_forward, PL.avg_pool2d_backward),
         lambda t, e, kw: TF.avg_pool2d(t["input"], **kw), _TOL32_POOL),
    Case("pad", _pad_make, _single_input(P.pad_forward, P.pad_backward),
         lambda t, e, kw: TF.pad(t["input"], **kw), _TOL32_POOL),
]
