r"""Pooling layers: ``MaxPool2d`` and ``AvgPool2d``, thin wrappers over
:func:`cnnlib.functional.max_pool2d_forward` and
:func:`~cnnlib.functional.avg_pool2d_forward` and their backward passes.

Explained in chapter 5 (what pooling means) and chapter 7 (its backward pass: a max
sends its gradient to the element that won the window, a mean shares it equally).
Constructor arguments, defaults and output shapes are those of ``torch.nn.MaxPool2d``
and ``torch.nn.AvgPool2d``; a pooling layer has no parameters.
"""
from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import check_bool, check_pair
from cnnlib.nn.module import Module

__all__ = ["MaxPool2d", "AvgPool2d"]


def _show(pair: tuple[int, int]):
    """A pair as torch prints an int argument: ``2`` for (2, 2)."""
    return pair[0] if pair[0] == pair[1] else pair


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = check_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else check_pair(stride, "stride")
        self.padding = check_pair(padding, "padding", allow_zero=True)
        self.ceil_mode = check_bool(ceil_mode, "ceil_mode")


class MaxPool2d(_Pool2d):
    r"""Max pooling, as ``torch.nn.MaxPool2d``:

    .. math:: \mathrm{out}[n, c, i, j] = \max_{m < k_h,\ k < k_w}
              x_{\mathrm{pad}}[n, c, i s_h + m d_h, j s_w + k d_w]

    kernel_size, stride (default: kernel_size), padding (at most half the kernel;
    padded with -inf), dilation : int or pair; ``ceil_mode`` rounds the output size up;
    ``return_indices`` makes forward return ``(out, indices)`` as PyTorch does.

    forward: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW). backward: each output's
    gradient goes to the input element that won its window (the first one, in row-major
    order, when several tie). Explained in chapter 7.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = check_pair(dilation, "dilation")
        self.return_indices = check_bool(return_indices, "return_indices")

    def forward(self, x):
        out, cache = F.max_pool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                          self.dilation, self.ceil_mode,
                                          self.return_indices)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        return F.max_pool2d_backward(dout, self.saved())

    def extra_repr(self) -> str:
        return (f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}, "
                f"padding={_show(self.padding)}, dilation={_show(self.dilation)}, "
                f"ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    r"""Average pooling, as ``torch.nn.AvgPool2d``: each output is the mean of its
    window,

    .. math:: \mathrm{out}[n, c, i, j] = \frac{1}{k_h k_w} \sum_{m < k_h,\ k < k_w}
              x_{\mathrm{pad}}[n, c, i s_h + m, j s_w + k]

    (padded zeros counted unless ``count_include_pad=False``; ``divisor_override``
    replaces :math:`k_h k_w`). forward: (N, C, H, W) or (C, H, W) -> (N, C, OH, OW).
    backward: every element of a window receives ``dout / divisor``. Explained in
    chapter 7.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override: int | None = None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad = check_bool(count_include_pad, "count_include_pad")
        if divisor_override is not None and (
                isinstance(divisor_override, bool)
                or not isinstance(divisor_override, (int, np.integer))
                or divisor_override == 0):
            raise ValueError(f"divisor_override must be a non-zero int or None, got "
                             f"{divisor_override!r}")
        self.divisor_override = divisor_override

    def forward(self, x) -> np.ndarray:
        out, cache = F.avg_pool2d_forward(x, self.kernel_size, self.stride, self.padding,
                                          self.ceil_mode, self.count_include_pad,
                                          self.divisor_override)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        return F.avg_pool2d_backward(dout, self.saved())

    def extra_repr(self) -> str:
        return (f"kernel_size={_show(self.kernel_size)}, stride={_show(self.stride)}, "
                f"padding={_show(self.padding)}")
