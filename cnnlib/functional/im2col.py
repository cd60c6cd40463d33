"""Sliding windows: output-size arithmetic, im2col and col2im.

Explained in chapter 5 (output sizes, padding, stride) and chapter 7 (why the fast
convolution is one matrix product, and how its gradient flows back).

A convolution slides a ``kh x kw`` window over a padded image. ``im2col`` copies every
window into one column of a matrix, so that the whole convolution becomes a single
matrix product::

    cols    : (C*kh*kw, N*OH*OW)      one column per output position
    weight  : (F, C*kh*kw)            one row per filter
    out     = weight @ cols           (F, N*OH*OW), then reordered to (N, F, OH, OW)

``col2im`` is its adjoint: it adds every column back onto the pixels it was copied
from, which is exactly the backward pass of the copy.

The rows of ``cols`` are ordered ``(c, i, j)`` like ``weight.reshape(F, -1)``, and its
columns ``(n, oh, ow)``. Reading and writing ``cols`` costs about as much as
multiplying it, so the layout is chosen for the copy: one row of ``cols`` holds what
kernel tap ``(c, i, j)`` meets in every image, a regular grid of pixels of channel
``c``, which NumPy copies image row by image row in one call (putting ``(c, i, j)``
last instead would copy in runs of ``kw`` pixels, several times slower). The
product is then a plain 2-D ``(F, K) @ (K, M)`` on contiguous data: one BLAS call
for the whole batch.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from cnnlib._validate import check_bool, check_pair, check_positive_int

__all__ = ["conv_output_size", "Windows", "pad_buffer", "im2col", "col2im",
           "offset_view"]


def conv_output_size(n: int, k: int, stride: int = 1, padding: int | tuple[int, int] = 0,
                     dilation: int = 1, *, ceil_mode: bool = False) -> int:
    r"""Number of positions a window of size ``k`` takes along an axis of length ``n``.

    .. math:: n_{out} = \left\lfloor \frac{n + 2p - d (k - 1) - 1}{s} \right\rfloor + 1

    with padding ``p`` on both sides (or a pair ``(before, after)``), stride ``s`` and
    dilation ``d`` (``d (k-1) + 1`` is the kernel's extent once dilated). The 5-pixel
    example of chapter 5: ``conv_output_size(5, 3) == 3``; with ``padding=1`` it is 5
    ("same"); with ``stride=2`` it is 2.

    ``ceil_mode=True`` (pooling's option) rounds the division up instead, so that a
    last window hanging over the edge still counts, with PyTorch's proviso: the last
    window must start inside the input or the padding before it, otherwise it is
    dropped. There a window may even be larger than the padded input.

    Raises ``ValueError`` when no window fits (the output would be empty).
    Explained in chapter 5.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(k, "k")
    stride = check_positive_int(stride, "stride")
    before, after = check_pair(padding, "padding", allow_zero=True)
    dilation = check_positive_int(dilation, "dilation")
    ceil_mode = check_bool(ceil_mode, "ceil_mode")
    extent = dilation * (k - 1) + 1
    span = n + before + after - extent          # room the window has to move
    if ceil_mode:
        out = -(-span // stride) + 1            # ceil(span / stride) + 1
        if (out - 1) * stride >= n + before:    # last window starts past the input
            out -= 1
    else:
        out = span // stride + 1
    if out < 1:
        padded = n + before + after
        pads = f"2*{before}" if before == after else f"{before} + {after}"
        raise ValueError(f"kernel of size {k} (extent {extent} with dilation "
                         f"{dilation}) is larger than the padded input "
                         f"{n} + {pads} = {padded}")
    return out


@dataclass(frozen=True)
class Windows:
    """Geometry of the sliding windows over a batch of images.

    Input (n, c, h, w); kernel (kh, kw); stride (sh, sw); dilation (dh, dw); padding
    top/bottom/left/right (pt, pb, pl, pr); output (oh, ow). ``hb x wb`` is the size of
    the padded buffer the windows read from (larger than the padded input only when
    pooling's ceil_mode adds windows that hang over the edge).
    """
    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    pt: int
    pb: int
    pl: int
    pr: int
    oh: int
    ow: int
    hb: int
    wb: int

    @classmethod
    def make(cls, shape, kernel, stride, padding, dilation, *,
             ceil_mode: bool = False) -> "Windows":
        """Work out the geometry; ``padding`` is (top, bottom, left, right).

        ``ceil_mode`` rounds the output size up as PyTorch's pooling does, the extra
        windows reading padding (see :func:`conv_output_size`, which raises when no
        window fits).
        """
        n, c, h, w = shape
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        pt, pb, pl, pr = padding
        hp, wp = h + pt + pb, w + pl + pr
        ekh, ekw = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        oh = conv_output_size(h, kh, sh, (pt, pb), dh, ceil_mode=ceil_mode)
        ow = conv_output_size(w, kw, sw, (pl, pr), dw, ceil_mode=ceil_mode)
        hb = max(hp, (oh - 1) * sh + ekh)
        wb = max(wp, (ow - 1) * sw + ekw)
        return cls(n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pb, pl, pr, oh, ow, hb, wb)


def pad_buffer(x: np.ndarray, win: Windows, fill: float = 0.0) -> np.ndarray:
    """Copy ``x`` (n, c, h, w) into a fresh (n, c, hb, wb) buffer filled with ``fill``;
    ``x`` itself (no copy) when the windows need no padding."""
    if (win.hb, win.wb) == (win.h, win.w):
        return x
    buf = (np.zeros if fill == 0 else np.empty)((win.n, win.c, win.hb, win.wb), x.dtype)
    if fill != 0:
        buf.fill(fill)
    buf[:, :, win.pt:win.pt + win.h, win.pl:win.pl + win.w] = x
    return buf


def im2col(buf: np.ndarray, win: Windows) -> np.ndarray:
    """Copy every window of the padded buffer into a column.

    buf : (n, c, hb, wb) from :func:`pad_buffer`. Returns cols of shape
    (c*kh*kw, n*oh*ow), a new C-contiguous array, with ``cols[(c, i, j), (n, y, x)] =
    buf[n, c, y*sh + i*dh, x*sw + j*dw]``.
    """
    extent = (win.dh * (win.kh - 1) + 1, win.dw * (win.kw - 1) + 1)
    # (n, c, every position, every position, extent_h, extent_w): a view, no copy
    windows = sliding_window_view(buf, extent, axis=(2, 3))
    windows = windows[:, :, :win.sh * (win.oh - 1) + 1:win.sh,
                      :win.sw * (win.ow - 1) + 1:win.sw, ::win.dh, ::win.dw]
    # (c, kh, kw, n, oh, ow): the one copy, in the order the matrix product wants.
    # Always a copy, even where the transposed view happens to be contiguous already (a
    # 1x1 kernel over one image): cols never shares memory with the caller's input.
    cols = windows.transpose(1, 4, 5, 0, 2, 3).copy(order="C")
    return cols.reshape(win.c * win.kh * win.kw, win.n * win.oh * win.ow)


def col2im(dcols: np.ndarray, win: Windows) -> np.ndarray:
    """Adjoint of :func:`im2col`: add each column back onto the pixels it came from.

    dcols : (c*kh*kw, n*oh*ow). Returns the gradient of the unpadded input,
    (n, c, h, w). One vectorised add per kernel tap (kh*kw of them, no loop over
    pixels); within one tap no two columns touch the same pixel, so ``+=`` on a
    strided view is exact, and overlapping windows add up across taps.
    """
    d6 = dcols.reshape(win.c, win.kh, win.kw, win.n, win.oh, win.ow)
    # Accumulate in (c, n, ...) order, the order of dcols' rows: both operands of each
    # += then walk memory the same way (measurably faster than a transposed add).
    dbuf = np.zeros((win.c, win.n, win.hb, win.wb), dtype=dcols.dtype)
    for i in range(win.kh):
        for j in range(win.kw):
            rows = slice(i * win.dh, i * win.dh + win.sh * (win.oh - 1) + 1, win.sh)
            cols = slice(j * win.dw, j * win.dw + win.sw * (win.ow - 1) + 1, win.sw)
            dbuf[:, :, rows, cols] += d6[:, i, j]
    dx = dbuf[:, :, win.pt:win.pt + win.h, win.pl:win.pl + win.w].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dx)                      # (n, c, h, w)


def offset_view(buf: np.ndarray, win: Windows, i: int, j: int) -> np.ndarray:
    """The (n, c, oh, ow) view of the pixels at kernel offset (i, j) of every window
    (``buf[n, c, y*sh + i*dh, x*sw + j*dw]``); writable when ``buf`` is. Pooling
    reduces over these kh*kw views instead of copying windows."""
    r0, c0 = i * win.dh, j * win.dw
    return buf[:, :, r0:r0 + win.sh * (win.oh - 1) + 1:win.sh,
               c0:c0 + win.sw * (win.ow - 1) + 1:win.sw]
