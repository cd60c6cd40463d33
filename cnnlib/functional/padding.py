"""Padding an array's borders, as ``torch.nn.functional.pad``.

Explained in chapter 5: padding an image with zeros before a convolution keeps the
output as large as the input (``padding=1`` around a 3x3 kernel) and lets the kernel
look at the border pixels as often as at the others. Besides zeros, PyTorch offers
``'reflect'`` (mirror without repeating the edge), ``'replicate'`` (repeat the edge)
and ``'circular'`` (wrap around); so does :func:`pad`.

``pad`` is PyTorch's tuple: pairs (before, after) starting from the LAST axis, so
``(1, 1, 2, 2)`` pads the width by 1 and the height by 2 on each side.
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_dout, as_float_array, check_in, check_number, check_positive_int

__all__ = ["pad", "pad_forward", "pad_backward"]

_NUMPY_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


def _widths(x: np.ndarray, pad, mode: str) -> list[tuple[int, int]]:
    """PyTorch's flat tuple -> NumPy's per-axis ((before, after), ...)."""
    if not isinstance(pad, (tuple, list)) or len(pad) % 2:
        raise ValueError(f"pad must be a tuple of (before, after) pairs, last axis "
                         f"first, with an even length, got {pad!r}")
    if len(pad) // 2 > x.ndim:
        raise ValueError(f"pad {pad!r} pads {len(pad) // 2} axes but input has only "
                         f"{x.ndim} (shape {x.shape})")
    axes = len(pad) // 2
    if mode in ("reflect", "replicate") and 0 in x.shape[max(0, x.ndim - axes - 1):]:
        # PyTorch's rule for these modes: the padded axes and the channel axis before
        # them must be non-empty (there is nothing to mirror or repeat); only a batch
        # axis in front of those may be empty. ('circular' only needs pads no larger
        # than their axis, checked below.)
        raise ValueError(f"'{mode}' padding needs a non-empty input (only a leading "
                         f"batch axis may be empty), got input.shape={x.shape}")
    widths = [(0, 0)] * x.ndim
    for k in range(axes):
        before = check_positive_int(pad[2 * k], f"pad[{2 * k}]", allow_zero=True)
        after = check_positive_int(pad[2 * k + 1], f"pad[{2 * k + 1}]", allow_zero=True)
        axis = x.ndim - 1 - k
        size = x.shape[axis]
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"'reflect' padding must be smaller than the axis it "
                             f"pads: pad {max(before, after)} on axis {axis} of size "
                             f"{size} (input.shape={x.shape})")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"'circular' padding must be at most the size of the axis "
                             f"it pads: pad {max(before, after)} on axis {axis} of "
                             f"size {size} (input.shape={x.shape})")
        widths[axis] = (before, after)
    return widths


def pad_forward(input, pad, mode: str = "constant", value=None):
    """Pad ``input``'s borders; returns ``(out, cache)``. See :func:`pad`."""
    x = as_float_array(input, "input")
    check_in(mode, "mode", tuple(_NUMPY_MODE))
    widths = _widths(x, pad, mode)
    if mode == "constant":
        fill = 0.0 if value is None else check_number(value, "value", finite=False)
        out = np.pad(x, widths, mode="constant", constant_values=fill)
    else:
        if value not in (None, 0, 0.0):
            raise ValueError(f"value is only used with mode='constant', got "
                             f"value={value!r} with mode={mode!r}")
        out = np.pad(x, widths, mode=_NUMPY_MODE[mode])
    return out, (x.shape, widths, mode, x.dtype)


def pad_backward(dout, cache) -> np.ndarray:
    """Gradient of :func:`pad`: each input element collects the gradient of every
    output position that copied it (once for 'constant'; the edge and mirrored
    pixels more than once for the other modes). dout : the output's shape."""
    shape, widths, mode, dtype = cache
    out_shape = tuple(n + a + b for n, (a, b) in zip(shape, widths))
    d = as_dout(dout, out_shape, dtype, "the padded output")
    if mode == "constant":
        return np.ascontiguousarray(
            d[tuple(slice(a, a + n) for n, (a, _) in zip(shape, widths))])
    for axis, ((before, after), n) in enumerate(zip(widths, shape)):
        if before == after == 0:
            continue
        # which input index each output position along this axis copied
        source = np.pad(np.arange(n), (before, after), mode=_NUMPY_MODE[mode])
        grad = np.zeros(d.shape[:axis] + (n,) + d.shape[axis + 1:], dtype=d.dtype)
        np.add.at(grad, (slice(None),) * axis + (source,), d)
        d = grad
    return d


def pad(input, pad, mode: str = "constant", value=None) -> np.ndarray:
    """Pad an array, as ``torch.nn.functional.pad``.

    input : array of any shape; pad : tuple (before_last, after_last,
    before_second_last, after_second_last, ...) of non-negative ints; mode :
    'constant' (fill with ``value``, default 0), 'reflect', 'replicate' or
    'circular'. Returns the padded array (float32 stays float32).
    Explained in chapter 5.
    """
    return pad_forward(input, pad, mode, value)[0]
