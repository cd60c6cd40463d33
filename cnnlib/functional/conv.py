r"""Convolution (in deep learning's sense: cross-correlation) in one and two dimensions.

Explained in chapter 4 (1-D convolution), chapter 5 (images, padding, stride, many
channels and filters) and chapter 7 (backpropagation through a convolution).

For one image channel and one filter the whole idea fits on a line,

.. math:: (I * K)(i, j) = \sum_m \sum_n I(i + m, j + n)\, K(m, n),

and everything else is bookkeeping: with ``C`` input channels the sum also runs over
``c``; ``F`` filters give ``F`` output maps; stride ``s`` moves the window ``s``
pixels at a time; padding ``p`` surrounds the image with zeros; dilation ``d`` spaces
the kernel's taps ``d`` pixels apart; ``groups`` splits the channels into independent
convolutions. In full (PyTorch's definition, which we follow exactly):

.. math:: \mathrm{out}[n, f, i, j] = b_f + \sum_{c} \sum_{m} \sum_{k}
          x_{\mathrm{pad}}[n, c_0 + c, i s_h + m d_h, j s_w + k d_w]\; w[f, c, m, k]

where ``c_0`` is the first input channel of filter ``f``'s group.

Two implementations of the same function:

* :func:`conv2d_loop` loops over the output positions exactly as the formula reads.
  It is the one the book explains; it is slow.
* :func:`conv2d` copies the windows into a matrix (:func:`cnnlib.functional.im2col.im2col`) and
  does ONE matrix product; this is the one used for training. Tests hold the two
  against each other and against ``torch.nn.functional.conv2d``.

Layouts are PyTorch's: input (N, C, H, W) (or unbatched (C, H, W)), weight
(F, C // groups, kh, kw), bias (F,), output (N, F, OH, OW). The backward functions
return ``(dinput, dweight, dbias)``, ``dbias`` None when there was no bias.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnnlib._validate import (as_dout, as_float_arrays, check_positive_int, check_shape,
                              snapshot)
from cnnlib.functional.im2col import Windows, col2im, conv_output_size, im2col, pad_buffer

__all__ = [
    "conv_output_size",
    "conv1d", "conv1d_forward", "conv1d_backward",
    "conv2d", "conv2d_forward", "conv2d_backward",
    "conv2d_loop", "conv2d_loop_forward", "conv2d_loop_backward",
]


# ------------------------------------------------------------------- argument checks
def _ints(value, name: str, nd: int, *, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or a tuple of ``nd`` ints (PyTorch accepts both) -> tuple of ``nd``."""
    if isinstance(value, (tuple, list)):
        if len(value) != nd:
            raise ValueError(f"{name} must be an int or a tuple of {nd} int(s), got "
                             f"{value!r}")
        return tuple(check_positive_int(v, f"{name}[{k}]", allow_zero=allow_zero)
                     for k, v in enumerate(value))
    return (check_positive_int(value, name, allow_zero=allow_zero),) * nd


def _prepare(op: str, nd: int, input, weight, bias, stride, padding, dilation, groups):
    """Validate a conv call in ``nd`` spatial dimensions and bring it to 2-D form.

    Returns ``(x, w, b, stride, pads, dilation, groups, unbatched)`` with x
    (N, C, H, W), w (F, C/groups, kh, kw) of one common float dtype (see
    :func:`cnnlib._validate.as_float_arrays`; w is the cache's own copy, never the
    caller's array), and ``pads = (top, bottom, left, right)``; 1-D convolutions get
    height 1.
    """
    x, w, b = as_float_arrays(input=input, weight=weight, bias=bias)
    dims = "(C, L)" if nd == 1 else "(C, H, W)"
    bdims = "(N, C, L)" if nd == 1 else "(N, C, H, W)"
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(f"{op}: input must be {nd + 2}-D {bdims} or unbatched "
                         f"{nd + 1}-D {dims}, got a {x.ndim}-D array of shape {x.shape}")
    wdims = "(out_channels, in_channels/groups, k)" if nd == 1 else \
        "(out_channels, in_channels/groups, kh, kw)"
    if w.ndim != nd + 2:
        raise ValueError(f"{op}: weight must be {nd + 2}-D {wdims}, got a {w.ndim}-D "
                         f"array of shape {w.shape}")
    groups = check_positive_int(groups, "groups")
    stride = _ints(stride, "stride", nd)
    dilation = _ints(dilation, "dilation", nd)
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x[None]
    c_in, f_out, c_per_group = x.shape[1], w.shape[0], w.shape[1]
    # Empty sizes: an empty batch gives an empty output (as in PyTorch); anything else
    # empty has no meaningful convolution (PyTorch raises too, except for 0 input
    # channels, where it returns an array whose channel count ignores the filters).
    if c_in == 0 or f_out == 0 or 0 in w.shape[2:] or 0 in x.shape[2:]:
        what = ("input has no channels" if c_in == 0 else
                "weight holds no filters (out_channels = 0)" if f_out == 0 else
                "the kernel has an empty axis" if 0 in w.shape[2:] else
                "input has an empty spatial axis")
        raise ValueError(f"{op}: {what}; every size but the batch must be at least 1: "
                         f"input.shape={np.shape(input)}, weight.shape={w.shape}")
    if f_out % groups:
        raise ValueError(f"{op}: out_channels = weight.shape[0] = {f_out} must be "
                         f"divisible by groups = {groups}")
    if c_in != c_per_group * groups:
        raise ValueError(f"{op}: input has {c_in} channels but weight expects "
                         f"weight.shape[1] * groups = {c_per_group} * {groups} = "
                         f"{c_per_group * groups}: input.shape={np.shape(input)}, "
                         f"weight.shape={w.shape}")
    if b is not None:
        check_shape(b, "bias", (f_out,))
    w = snapshot(w, weight)              # the backward reads it: keep forward's values
    if nd == 1:                          # a 1-D signal is an image of height 1
        x, w = x[:, :, None, :], w[:, :, None, :]
        stride, dilation = (1, *stride), (1, *dilation)
    ksize = w.shape[2:]
    pads = _resolve_padding(op, padding, nd, ksize, stride, dilation)
    for axis, name in ((0, "height"), (1, "width")):
        try:
            conv_output_size(x.shape[2 + axis], ksize[axis], stride[axis],
                             pads[2 * axis:2 * axis + 2], dilation[axis])
        except ValueError as exc:
            raise ValueError(f"{op}: along the {name}, the {exc}: input.shape="
                             f"{np.shape(input)}, weight.shape={np.shape(weight)}, "
                             f"padding={padding!r}") from None
    return x, w, b, stride, pads, dilation, groups, unbatched


def _resolve_padding(op, padding, nd, ksize, stride, dilation) -> tuple[int, ...]:
    """int, tuple, 'valid' or 'same' -> (top, bottom, left, right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"{op}: padding must be an int, a tuple of ints, 'valid' "
                             f"or 'same', got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' needs stride 1 (as in PyTorch), "
                             f"got stride={stride[-nd:]}")
        pads = []
        for k, d in zip(ksize, dilation):
            total = d * (k - 1)                  # PyTorch puts the odd pixel after
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    p = _ints(padding, "padding", nd, allow_zero=True)
    return (0, 0, p[0], p[0]) if nd == 1 else (p[0], p[0], p[1], p[1])


# --------------------------------------------------------------- the readable version
def conv2d_loop_forward(input, weight, bias=None, stride=1, padding=0, dilation=1,
                        groups=1):
    r"""Readable 2-D convolution: one loop per index of the output.

    .. math:: (I * K)(i, j) = \sum_m \sum_n I(i + m, j + n)\, K(m, n)

    computed for every image ``n``, filter ``f`` and output position ``(i, j)``, the
    sum running over the window's channels and pixels. Same arguments, shapes and
    result as :func:`conv2d`; returns ``(out, cache)``. Explained in chapter 5.
    """
    x, w, b, (sh, sw), (pt, pb, pl, pr), (dh, dw), groups, unbatched = _prepare(
        "conv2d_loop", 2, input, weight, bias, stride, padding, dilation, groups)
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))      # zeros around the image
    N, F = x.shape[0], w.shape[0]
    cg, kh, kw = w.shape[1:]                     # channels per group, kernel size
    OH = conv_output_size(xp.shape[2], kh, sh, dilation=dh)   # output height, width
    OW = conv_output_size(xp.shape[3], kw, sw, dilation=dw)
    out = np.zeros((N, F, OH, OW), dtype=x.dtype)
    for n in range(N):                           # every image
        for f in range(F):                       # every filter
            c0 = (f // (F // groups)) * cg       # first input channel f looks at
            for i in range(OH):                  # every output row
                for j in range(OW):              # every output column
                    # the pixels under the kernel: rows i*sh, i*sh+dh, ...
                    window = xp[n, c0:c0 + cg,
                                i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                j * sw:j * sw + dw * (kw - 1) + 1:dw]
                    out[n, f, i, j] = np.sum(window * w[f])
            if b is not None:
                out[n, f] += b[f]
    geometry = (sh, sw, dh, dw, pt, pl, x.shape[2], x.shape[3], groups)
    cache = (xp, w, geometry, b is not None, unbatched)
    return (out[0] if unbatched else out), cache


def conv2d_loop_backward(dout, cache):
    r"""Backward of :func:`conv2d_loop_forward`, with the same loops.

    Each output ``out[n, f, i, j]`` received gradient ``g = dout[n, f, i, j]``. It was
    ``sum(window * w[f])``, so ``g * w[f]`` flows to the window's pixels and
    ``g * window`` to the filter; ``dbias[f]`` sums ``g`` over n, i, j. dout has the
    forward output's shape; returns ``(dinput, dweight, dbias)``. Explained in chapter 7.
    """
    xp, w, (sh, sw, dh, dw, pt, pl, H, W, groups), has_bias, unbatched = cache
    N, F = xp.shape[0], w.shape[0]
    cg, kh, kw = w.shape[1:]
    OH = conv_output_size(xp.shape[2], kh, sh, dilation=dh)
    OW = conv_output_size(xp.shape[3], kw, sw, dilation=dw)
    shape = (N, F, OH, OW)
    d = as_dout(dout, shape[1:] if unbatched else shape, xp.dtype).reshape(shape)
    dxp, dweight = np.zeros_like(xp), np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            c0 = (f // (F // groups)) * cg
            for i in range(OH):
                for j in range(OW):
                    rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
                    cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
                    g = d[n, f, i, j]
                    dxp[n, c0:c0 + cg, rows, cols] += g * w[f]
                    dweight[f] += g * xp[n, c0:c0 + cg, rows, cols]
    dinput = dxp[:, :, pt:pt + H, pl:pl + W]    # drop the padding's gradient
    dbias = d.sum(axis=(0, 2, 3)) if has_bias else None
    return (dinput[0] if unbatched else dinput), dweight, dbias


def conv2d_loop(input, weight, bias=None, stride=1, padding=0, dilation=1,
                groups=1) -> np.ndarray:
    """The readable loop convolution's output only; see :func:`conv2d_loop_forward`."""
    return conv2d_loop_forward(input, weight, bias, stride, padding, dilation, groups)[0]


# ------------------------------------------------------------------- the fast version
class ConvCache(NamedTuple):
    """What the fast backward needs: the column matrix (C*kh*kw, N*OH*OW), the weight
    as (groups, F/groups, C/groups*kh*kw), the window geometry, whether there is a
    bias, and whether the input came without its batch axis."""
    cols: np.ndarray
    weight: np.ndarray
    win: Windows
    has_bias: bool
    unbatched: bool = False

    @property
    def out_shape(self) -> tuple[int, int, int, int]:
        """(N, F, OH, OW) of the batched output."""
        groups, fg, _ = self.weight.shape
        return (self.win.n, groups * fg, self.win.oh, self.win.ow)


def _fast_forward(x, w, b, stride, pads, dilation, groups):
    """im2col + matrix products on validated 2-D-form arguments; returns (out, cache)."""
    F, cg, kh, kw = w.shape
    win = Windows.make(x.shape, (kh, kw), stride, pads, dilation)
    cols = im2col(pad_buffer(x, win), win)              # (C*kh*kw, N*OH*OW)
    kg, p = cg * kh * kw, win.oh * win.ow
    wg = w.reshape(groups, F // groups, kg)
    # One product (F/groups, kg) @ (kg, OH*OW) per image and group, read straight out
    # of cols: image n's columns are a strided view that BLAS takes without a copy,
    # and the products land in NCHW order, (N, groups, F/groups, OH*OW), so no
    # reordering copy follows. For LeNet's thin layers these cache-sized products are
    # 1.4x-3x faster than one large (F, kg) @ (kg, N*OH*OW).
    out = np.matmul(wg, cols.reshape(groups, kg, win.n, p).transpose(2, 0, 1, 3))
    out = out.reshape(win.n, F, win.oh, win.ow)
    if b is not None:
        out += b[:, None, None]
    return out, ConvCache(cols, wg, win, b is not None)


def _fast_backward(d, cache, output_mask=(True, True, True)):
    r"""Gradients of ``y = W @ cols``: ``dW = dy @ cols^T``, ``dcols = W^T @ dy``, then
    col2im; d is (N, F, OH, OW). ``output_mask`` says which of (dinput, dweight, dbias)
    to compute (the others are returned as None)."""
    cols, wg, win, has_bias, _ = cache
    groups, fg, kg = wg.shape
    n, p = win.n, win.oh * win.ow
    need_input, need_weight, need_bias = output_mask
    dg = np.ascontiguousarray(d).reshape(n, groups, fg, p)
    dinput = dweight = dbias = None
    if need_weight:
        cols_g = cols.reshape(groups, kg, n, p)
        if p >= kg:
            # long sums within each image (LeNet's first layer: 784 positions, 25
            # taps): one small product per image, then the sum over the images
            dweight = np.matmul(dg, cols_g.transpose(2, 0, 3, 1)).sum(axis=0)
        else:
            # short sums: one product per group over the whole batch, computed as
            # cols @ dy^T (OpenBLAS is faster with the long dimension inside)
            dy = np.ascontiguousarray(dg.transpose(1, 2, 0, 3)).reshape(groups, fg, n * p)
            dweight = np.matmul(cols.reshape(groups, kg, n * p),
                                dy.transpose(0, 2, 1)).transpose(0, 2, 1)
        dweight = np.ascontiguousarray(dweight).reshape(
            groups * fg, win.c // groups, win.kh, win.kw)
    if need_input:
        # dcols = W^T @ dy, one product per image written into cols' layout
        # (groups, kg, N, OH*OW), the order col2im reads fastest
        dcols = np.empty((groups, kg, n, p), dtype=cols.dtype)
        np.matmul(wg.transpose(0, 2, 1), dg, out=dcols.transpose(2, 0, 1, 3))
        dinput = col2im(dcols.reshape(groups * kg, n * p), win)
    if need_bias and has_bias:
        dbias = d.sum(axis=(0, 2, 3))
    return dinput, dweight, dbias


def conv2d_forward(input, weight, bias=None, stride=1, padding=0, dilation=1,
                   groups=1):
    """Fast 2-D convolution that also returns its cache; see :func:`conv2d`."""
    x, w, b, stride, pads, dilation, groups, unbatched = _prepare(
        "conv2d", 2, input, weight, bias, stride, padding, dilation, groups)
    out, cache = _fast_forward(x, w, b, stride, pads, dilation, groups)
    return (out[0] if unbatched else out), cache._replace(unbatched=unbatched)


def _check_mask(output_mask) -> tuple[bool, bool, bool]:
    if not (isinstance(output_mask, (tuple, list)) and len(output_mask) == 3
            and all(isinstance(m, (bool, np.bool_)) for m in output_mask)):
        raise TypeError(f"output_mask must be three bools (dinput, dweight, dbias), got "
                        f"{output_mask!r}")
    return tuple(bool(m) for m in output_mask)


def conv2d_backward(dout, cache, output_mask=(True, True, True)):
    """Gradients of :func:`conv2d`: dout has the output's shape; returns
    ``(dinput, dweight, dbias)`` (dbias None without bias).

    ``output_mask`` (as in PyTorch's ``convolution_backward``) says which of the three
    to compute; the others come back as None. A network's first layer needs no
    ``dinput`` (nobody asks for the gradient of the images) and a frozen layer no
    ``dweight``: skipping them saves most of that layer's backward pass.
    Explained in chapter 7."""
    shape = cache.out_shape
    d = as_dout(dout, shape[1:] if cache.unbatched else shape, cache.cols.dtype)
    dinput, dweight, dbias = _fast_backward(d.reshape(shape), cache,
                                            _check_mask(output_mask))
    if dinput is not None and cache.unbatched:
        dinput = dinput[0]
    return dinput, dweight, dbias


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1,
           groups=1) -> np.ndarray:
    r"""2-D convolution, as ``torch.nn.functional.conv2d``.

    input : (N, C, H, W) or unbatched (C, H, W); weight : (F, C // groups, kh, kw);
    bias : (F,) or None; stride, dilation : int or (sh, sw) / (dh, dw); padding : int,
    (ph, pw), ``'valid'`` (= 0) or ``'same'`` (output as large as the input; stride 1
    only; an odd leftover pixel goes to the bottom/right as in PyTorch); groups : int
    dividing C and F. Returns (N, F, OH, OW) with
    ``OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1`` (see
    :func:`conv_output_size`) and

    .. math:: \mathrm{out}[n, f, i, j] = b_f + \sum_{c, m, k}
              x_{\mathrm{pad}}[n, c_0 + c, i s_h + m d_h, j s_w + k d_w]\, w[f, c, m, k].

    Computed by im2col (every window copied into a column) and matrix products (one
    per image, read straight out of the column matrix); float32 stays float32.
    Explained in chapter 5 (and its speed in chapter 7).
    """
    return conv2d_forward(input, weight, bias, stride, padding, dilation, groups)[0]


# ------------------------------------------------------------------------------ 1-D
def conv1d_forward(input, weight, bias=None, stride=1, padding=0, dilation=1,
                   groups=1):
    """1-D convolution that also returns its cache; see :func:`conv1d`."""
    x, w, b, stride, pads, dilation, groups, unbatched = _prepare(
        "conv1d", 1, input, weight, bias, stride, padding, dilation, groups)
    out, cache = _fast_forward(x, w, b, stride, pads, dilation, groups)
    out = out[:, :, 0, :]                        # drop the height-1 axis
    return (out[0] if unbatched else out), cache._replace(unbatched=unbatched)


def conv1d_backward(dout, cache, output_mask=(True, True, True)):
    """Gradients of :func:`conv1d`: returns ``(dinput, dweight, dbias)``; entries not
    asked for by ``output_mask`` are None (see :func:`conv2d_backward`)."""
    n, f, _, ow = cache.out_shape
    shape = (n, f, ow)
    d = as_dout(dout, shape[1:] if cache.unbatched else shape, cache.cols.dtype)
    dinput, dweight, dbias = _fast_backward(d.reshape(shape)[:, :, None, :], cache,
                                            _check_mask(output_mask))
    if dinput is not None:
        dinput = dinput[:, :, 0, :]
        dinput = dinput[0] if cache.unbatched else dinput
    if dweight is not None:
        dweight = dweight[:, :, 0, :]
    return dinput, dweight, dbias


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1,
           groups=1) -> np.ndarray:
    r"""1-D convolution (cross-correlation), as ``torch.nn.functional.conv1d``.

    .. math:: (\theta * x)_i = \sum_{j=0}^{m-1} \theta_j\, x_{i+j}

    Chapter 4's worked example: x = [1, 1, 1, 0, 0] and theta = [1, 0, 1] give
    [2, 1, 1]. input : (N, C, L) or unbatched (C, L); weight : (F, C // groups, m);
    bias : (F,) or None; stride, padding, dilation : int (or a 1-tuple; padding also
    'valid' or 'same'). Returns (N, F, L_out) with
    ``L_out = floor((L + 2p - d (m - 1) - 1) / s) + 1``. Computed as a 2-D convolution
    of height 1. Explained in chapter 4.
    """
    return conv1d_forward(input, weight, bias, stride, padding, dilation, groups)[0]
