r"""Pooling: summarise each window of a feature map by its maximum or its mean.

Explained in chapter 5 (what pooling means: "this filter responded strongly somewhere
here") and chapter 7 (its backward pass).

Max pooling over a ``kh x kw`` window moved by stride ``s``:

.. math:: \mathrm{out}[n, c, i, j] = \max_{0 \le m < k_h,\; 0 \le k < k_w}
          x_{\mathrm{pad}}[n, c, i s_h + m d_h, j s_w + k d_w]

(padding with :math:`-\infty`, so it never wins); average pooling replaces the max by
the mean. The gradient of a max flows entirely to the element that won; when several
tie, PyTorch (and so cnnlib) gives it to the FIRST in row-major order within the
window, and a NaN always wins (a later NaN beats an earlier one, as in PyTorch). The
gradient of a mean is shared equally by the window's elements.

Arguments, defaults and layouts follow ``torch.nn.functional.max_pool2d`` and
``avg_pool2d``: input (N, C, H, W) or unbatched (C, H, W); ``stride`` defaults to
``kernel_size``; ``padding`` is at most half the kernel; ``ceil_mode`` rounds the
output size up, so a last window may hang past the edge (PyTorch's rule, see
:func:`cnnlib.functional.im2col.conv_output_size`; the mean then divides by the part
of the window inside the padded input, or inside the input without
``count_include_pad``). Every window must cover at least one input pixel: a window
made only of padding (possible with dilation) is refused, where PyTorch returns -inf
with an index outside the image. Only the batch may be empty. Each op loops over the
kh*kw kernel offsets only, every step a vectorised operation on the whole batch.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_array, check_bool, check_int, check_pair
from cnnlib.functional.im2col import Windows, conv_output_size, offset_view, pad_buffer

__all__ = [
    "max_pool2d", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_forward", "avg_pool2d_backward",
]


def _prepare(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Validate a pooling call; returns (x as (N, C, H, W), Windows, unbatched)."""
    x = as_float_array(input, "input")
    if x.ndim not in (3, 4):
        raise ValueError(f"{op}: input must be 4-D (N, C, H, W) or unbatched 3-D "
                         f"(C, H, W), got a {x.ndim}-D array of shape {x.shape}")
    if 0 in x.shape[-3:]:       # PyTorch's rule: only the batch may be empty
        raise ValueError(f"{op}: input must have at least one channel, row and column "
                         f"(only the batch may be empty), got shape {x.shape}")
    k = check_pair(kernel_size, "kernel_size")
    s = k if stride is None else check_pair(stride, "stride")
    p = check_pair(padding, "padding", allow_zero=True)
    d = check_pair(dilation, "dilation")
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{op}: padding must be at most half of kernel_size "
                         f"(PyTorch's rule), got padding={padding!r}, "
                         f"kernel_size={kernel_size!r}")
    for axis, name in ((0, "height"), (1, "width")):
        n = x.shape[-2 + axis]
        try:
            out = conv_output_size(n, k[axis], s[axis], p[axis], d[axis],
                                   ceil_mode=ceil_mode)
        except ValueError as exc:
            raise ValueError(f"{op}: along the {name}, the window's {exc}: "
                             f"input.shape={x.shape}, kernel_size={kernel_size!r}, "
                             f"padding={padding!r}") from None
        # With dilation (and ceil_mode) a window may skip over every input pixel and
        # see padding only; PyTorch answers -inf there, with an index outside the
        # image. Every window must see at least one pixel (only the first windows,
        # which start in the padding, can miss: a later one starts inside).
        first = _first_inside(out, s[axis], p[axis], d[axis])
        reach = np.arange(out) * s[axis] - p[axis] + first * d[axis]
        if np.any(reach >= n):
            o = int(np.argmax(reach >= n))
            taps = o * s[axis] - p[axis] + d[axis] * np.arange(k[axis])
            raise ValueError(f"{op}: window {o} along the {name} lies entirely in the "
                             f"padding (it reads positions {taps.tolist()} of an axis "
                             f"of size {n}, padding {p[axis]}, dilation {d[axis]}): "
                             f"every window must cover at least one input pixel; use "
                             f"less padding or dilation, input.shape={x.shape}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    win = Windows.make(x.shape, k, s, (p[0], p[0], p[1], p[1]), d, ceil_mode=ceil_mode)
    return x, win, unbatched


def _check_dout(dout, win: Windows, unbatched: bool, dtype) -> np.ndarray:
    shape = (win.n, win.c, win.oh, win.ow)
    return as_dout(dout, shape[1:] if unbatched else shape, dtype).reshape(shape)


def _first_inside(out_len: int, stride: int, pad: int, dilation: int) -> np.ndarray:
    """For each window along an axis, the first kernel tap that lies at or after the
    input's start (not in the padding before it): PyTorch starts its search for the
    max there."""
    start = np.arange(out_len) * stride - pad           # window start, input coords
    return np.maximum(0, -(start // dilation))           # ceil(-start / dilation)


# ------------------------------------------------------------------------ max pooling
def max_pool2d_forward(input, kernel_size, stride=None, padding=0, dilation=1,
                       ceil_mode=False, return_indices=False):
    """Max pooling that also returns its cache; see :func:`max_pool2d`."""
    x, win, unbatched = _prepare("max_pool2d", input, kernel_size, stride, padding,
                                 dilation, ceil_mode)
    buf = pad_buffer(x, win, fill=-np.inf)
    taps = win.kh * win.kw
    views = [offset_view(buf, win, *divmod(t, win.kw)) for t in range(taps)]
    best = views[0].copy()
    for v in views[1:]:
        np.maximum(best, v, out=best)             # NaN propagates, as in PyTorch
    # Which tap won: the first one (row-major) equal to the maximum. Going backwards,
    # arg += eq * (t - arg) sets arg to t where eq holds: plain arithmetic, which NumPy
    # vectorises far better than masked assignment (uint8 wraps around harmlessly).
    arg = np.zeros(best.shape, dtype=np.uint8 if taps < 256 else np.int32)
    for t in reversed(range(taps)):
        arg += (views[t] == best) * (t - arg)
    # Two rare cases, fixed afterwards so that they cost nothing otherwise:
    nan = np.isnan(best)
    if nan.any():                                 # PyTorch keeps the LAST NaN
        for t, v in enumerate(views):
            arg[np.isnan(v)] = t
    ninf = best == -np.inf
    if ninf.any():   # all real values -inf: the first tap inside the input, as PyTorch
        i0 = _first_inside(win.oh, win.sh, win.pt, win.dh)
        j0 = _first_inside(win.ow, win.sw, win.pl, win.dw)
        first = np.broadcast_to(i0[:, None] * win.kw + j0[None, :], best.shape)
        arg[ninf] = first[ninf]
    out = best[0] if unbatched else best
    cache = (arg, win, unbatched, x.dtype)
    if return_indices:
        i, j = np.divmod(arg.astype(np.int64), win.kw)
        rows = np.arange(win.oh)[:, None] * win.sh + i * win.dh - win.pt
        cols = np.arange(win.ow)[None, :] * win.sw + j * win.dw - win.pl
        indices = rows * win.w + cols                # flat index into H*W, as PyTorch
        return (out, indices[0] if unbatched else indices), cache
    return out, cache


def max_pool2d_backward(dout, cache) -> np.ndarray:
    """Route each output's gradient to the input element that won its window.

    dout has the output's shape; returns dinput with the input's shape. Where windows
    overlap (stride < kernel) an element collects the gradients of every window it
    won. Explained in chapter 7.
    """
    arg, win, unbatched, dtype = cache
    d = _check_dout(dout, win, unbatched, dtype)
    # When the windows tile the buffer exactly (stride = kernel, nothing left over, the
    # usual 2x2 pooling), every pixel belongs to one tap of one window: each tap can
    # simply write its share, with no zero-filling and no read-modify-write.
    tiles = ((win.dh, win.dw) == (1, 1) and (win.sh, win.sw) == (win.kh, win.kw)
             and (win.hb, win.wb) == (win.oh * win.kh, win.ow * win.kw))
    dbuf = (np.empty if tiles else np.zeros)((win.n, win.c, win.hb, win.wb), dtype)
    finite = bool(np.isfinite(d).all())
    for t in range(win.kh * win.kw):
        won = arg == t
        view = offset_view(dbuf, win, *divmod(t, win.kw))
        # d * won is the fast form; with inf/NaN in dout it would give 0 * inf = NaN
        # where nothing should arrive, so those take the slower np.where
        share = d * won if finite else np.where(won, d, 0)
        if tiles:
            view[...] = share
        else:
            view += share                          # distinct pixels within one tap
    dx = np.ascontiguousarray(dbuf[:, :, win.pt:win.pt + win.h, win.pl:win.pl + win.w])
    return dx[0] if unbatched else dx


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode=False, return_indices=False):
    """Max pooling, as ``torch.nn.functional.max_pool2d``.

    input : (N, C, H, W) or (C, H, W); kernel_size, stride (default: kernel_size),
    padding, dilation : int or pair. Returns (N, C, OH, OW) with
    ``OH = floor((H + 2p - d (k - 1) - 1) / s) + 1`` (ceil with ``ceil_mode``), and
    with ``return_indices=True`` also the int64 flat index (into H*W) of each maximum.
    Explained in chapter 5.
    """
    return max_pool2d_forward(input, kernel_size, stride, padding, dilation, ceil_mode,
                              return_indices)[0]


# -------------------------------------------------------------------- average pooling
def _avg_divisor(win: Windows, count_include_pad: bool, divisor_override):
    """What each window's sum is divided by, (oh, ow); PyTorch's rule: the window
    clipped to the padded input (or to the input itself without count_include_pad)."""
    if divisor_override is not None:
        return np.full((win.oh, win.ow), float(divisor_override))
    sizes = []
    for out, s, k, pad, n in ((win.oh, win.sh, win.kh, win.pt, win.h),
                              (win.ow, win.sw, win.kw, win.pl, win.w)):
        start = np.arange(out) * s - pad
        end = np.minimum(start + k, n + pad)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, n)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(np.float64)


def avg_pool2d_forward(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """Average pooling that also returns its cache; see :func:`avg_pool2d`."""
    x, win, unbatched = _prepare("avg_pool2d", input, kernel_size, stride, padding, 1,
                                 ceil_mode)
    if divisor_override is not None:
        divisor_override = check_int(divisor_override, "divisor_override")
        if divisor_override == 0:
            raise ValueError("avg_pool2d: divisor_override must be a non-zero int or "
                             "None, got 0")
    count_include_pad = check_bool(count_include_pad, "count_include_pad")
    buf = pad_buffer(x, win)
    total = np.zeros((win.n, win.c, win.oh, win.ow), dtype=x.dtype)
    for t in range(win.kh * win.kw):
        total += offset_view(buf, win, *divmod(t, win.kw))
    divisor = _avg_divisor(win, count_include_pad, divisor_override)
    out = (total / divisor).astype(x.dtype, copy=False)
    return (out[0] if unbatched else out), (divisor, win, unbatched, x.dtype)


def avg_pool2d_backward(dout, cache) -> np.ndarray:
    """Share each output's gradient equally among its window: every element receives
    ``dout / divisor`` from each window it belongs to. Explained in chapter 7."""
    divisor, win, unbatched, dtype = cache
    share = (_check_dout(dout, win, unbatched, dtype) / divisor).astype(dtype, copy=False)
    dbuf = np.zeros((win.n, win.c, win.hb, win.wb), dtype=dtype)
    for t in range(win.kh * win.kw):
        offset_view(dbuf, win, *divmod(t, win.kw))[...] += share
    dx = np.ascontiguousarray(dbuf[:, :, win.pt:win.pt + win.h, win.pl:win.pl + win.w])
    return dx[0] if unbatched else dx


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None) -> np.ndarray:
    """Average pooling, as ``torch.nn.functional.avg_pool2d``.

    input : (N, C, H, W) or (C, H, W); kernel_size, stride (default: kernel_size),
    padding : int or pair. Each output is its window's sum divided by the window's
    size (counting padded zeros unless ``count_include_pad=False``; or by
    ``divisor_override``). Returns (N, C, OH, OW). Explained in chapter 5.
    """
    return avg_pool2d_forward(input, kernel_size, stride, padding, ceil_mode,
                              count_include_pad, divisor_override)[0]
