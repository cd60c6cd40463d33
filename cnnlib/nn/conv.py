r"""Convolution layers: ``Conv2d`` (and ``Conv1d``), thin wrappers over
:func:`cnnlib.functional.conv2d_forward` / :func:`~cnnlib.functional.conv2d_backward`.

Explained in chapter 7. A layer holds its filters and biases under torch's names and
shapes,

* ``weight`` : (out_channels, in_channels / groups, kh, kw) (``(.., k)`` for Conv1d),
* ``bias`` : (out_channels,),

takes ``torch.nn.Conv2d``'s constructor arguments with the same defaults, and draws its
first weights as PyTorch's ``reset_parameters`` does: ``kaiming_uniform_(weight,
a=sqrt(5))`` and a bias from the same interval,

.. math:: w,\ b \sim \mathcal U\!\left(-\tfrac{1}{\sqrt{\text{fan\_in}}},
          \tfrac{1}{\sqrt{\text{fan\_in}}}\right), \qquad
          \text{fan\_in} = \tfrac{\text{in\_channels}}{\text{groups}}\, k_h k_w .

The forward pass is the fast convolution (im2col and matrix products); the backward
pass returns the input gradient and adds the weight and bias gradients into
``grads``. Gradients nobody needs are not computed: those of frozen parameters, and
the input gradient when ``layer.needs_input_grad`` is False (a network's first layer:
the images need no gradient; PyTorch skips it too, for inputs that do not require
grad). Its backward then returns None.
"""
from __future__ import annotations

import math

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_rng, check_bool, check_in, check_positive_int
# the functional op's own reading of "an int or a tuple of nd ints", so that the layer
# accepts exactly what the op does
from cnnlib.functional.conv import _ints
from cnnlib.nn.init import check_dtype, kaiming_uniform, uniform
from cnnlib.nn.module import Module

__all__ = ["Conv1d", "Conv2d"]

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What Conv1d and Conv2d share: arguments, parameters, padding modes."""

    _nd = 2
    _forward = staticmethod(F.conv2d_forward)
    _backward = staticmethod(F.conv2d_backward)
    #: False: backward skips the input gradient and returns None (a first layer).
    needs_input_grad = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1,
                 padding=0, dilation=1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros",
                 rng: np.random.Generator | int | None = None,
                 dtype: type = np.float64) -> None:
        super().__init__()
        nd = self._nd
        self.in_channels = check_positive_int(in_channels, "in_channels")
        self.out_channels = check_positive_int(out_channels, "out_channels")
        self.groups = check_positive_int(groups, "groups")
        for name, value in (("in_channels", self.in_channels),
                            ("out_channels", self.out_channels)):
            if value % self.groups:
                raise ValueError(f"{name} must be divisible by groups, got {name}="
                                 f"{value} and groups={self.groups}")
        self.kernel_size = _ints(kernel_size, "kernel_size", nd)
        self.stride = _ints(stride, "stride", nd)
        self.dilation = _ints(dilation, "dilation", nd)
        if isinstance(padding, str):
            check_in(padding, "padding", ["valid", "same"])
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"padding='same' is not supported for strided "
                                 f"convolutions (stride={self.stride}), as in PyTorch")
            self.padding = padding
        else:
            self.padding = _ints(padding, "padding", nd, allow_zero=True)
        check_in(padding_mode, "padding_mode", PADDING_MODES)
        self.padding_mode = padding_mode
        check_bool(bias, "bias")
        dtype = check_dtype(dtype)
        gen = as_rng(rng)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.register_parameter("weight", kaiming_uniform(shape, rng=gen, dtype=dtype))
        if bias:
            fan_in = shape[1] * math.prod(self.kernel_size)
            self.register_parameter("bias", uniform((self.out_channels,),
                                                    1 / math.sqrt(fan_in), gen, dtype))

    # -- padding other than zeros: pad first (F.pad), then a convolution without it
    def _explicit_pads(self) -> tuple[int, ...]:
        """F.pad's tuple (last axis first, before/after) for this layer's padding."""
        if self.padding == "valid":
            return (0, 0) * self._nd
        pads = []
        for axis in reversed(range(self._nd)):
            if self.padding == "same":         # PyTorch puts the odd pixel after
                total = self.dilation[axis] * (self.kernel_size[axis] - 1)
                pads += [total // 2, total - total // 2]
            else:
                pads += [self.padding[axis]] * 2
        return tuple(pads)

    def forward(self, x) -> np.ndarray:
        w, b = self.params["weight"], self.params.get("bias")
        pad_cache = None
        padding = self.padding
        if self.padding_mode != "zeros":
            x, pad_cache = F.pad_forward(x, self._explicit_pads(), mode=self.padding_mode)
            padding = 0
        out, cache = type(self)._forward(x, w, b, self.stride, padding, self.dilation,
                                         self.groups)
        self.save_for_backward((cache, pad_cache))
        return out

    def backward(self, dout) -> np.ndarray:
        cache, pad_cache = self.saved()
        mask = (bool(self.needs_input_grad), self.needs_grad("weight"),
                self.needs_grad("bias"))
        dx, dw, db = type(self)._backward(dout, cache, output_mask=mask)
        self.accumulate("weight", dw)
        self.accumulate("bias", db)
        if pad_cache is not None and dx is not None:
            dx = F.pad_backward(dx, pad_cache)
        return dx

    def extra_repr(self) -> str:
        # torch.nn.Conv2d's own format, so that both models print alike
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
                f", stride={self.stride}")
        if self.padding != (0,) * self._nd:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if "bias" not in self.params:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class Conv2d(_ConvNd):
    r"""2-D convolution layer, as ``torch.nn.Conv2d``:

    .. math:: \mathrm{out}[n, f] = b_f + \sum_{c} w[f, c] * x[n, c]

    (``*`` the 2-D cross-correlation of chapter 5, with stride, padding and dilation).

    Arguments as PyTorch's: ``in_channels``, ``out_channels``, ``kernel_size`` (int or
    (kh, kw)), ``stride=1``, ``padding=0`` (int, pair, ``'valid'`` or ``'same'``),
    ``dilation=1``, ``groups=1``, ``bias=True``, ``padding_mode='zeros'`` (or
    ``'reflect'``, ``'replicate'``, ``'circular'``); plus ``rng`` (the initial
    weights) and ``dtype`` (float64 by default; float32 to train fast).

    forward: x (N, in_channels, H, W) or unbatched (in_channels, H, W) ->
    (N, out_channels, OH, OW), ``OH = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1``.
    Explained in chapter 7.
    """


class Conv1d(_ConvNd):
    r"""1-D convolution layer, as ``torch.nn.Conv1d``: the same as :class:`Conv2d` on
    signals of shape (N, in_channels, L) (or unbatched (in_channels, L)), with weight
    (out_channels, in_channels / groups, k). Explained in chapter 4 (the operation) and
    chapter 7 (the layer)."""

    _nd = 1
    _forward = staticmethod(F.conv1d_forward)
    _backward = staticmethod(F.conv1d_backward)
