"""Batch normalisation layers: ``BatchNorm1d`` and ``BatchNorm2d``, as ``torch.nn``.

Explained in chapter 9. The layer holds

* parameters ``weight`` (gamma, ones) and ``bias`` (beta, zeros) when ``affine``;
* buffers ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
  (an int64 scalar, 0) when ``track_running_stats``: they are in ``state_dict`` under
  torch's names, so a trained layer moves to and from its torch twin in one line.

In training mode the layer normalises with the batch's statistics and updates the
running ones (with ``momentum``, or, for ``momentum=None``, a plain average over every
batch seen so far); in evaluation mode (``model.eval()``) it normalises with the running
statistics, unless ``track_running_stats=False``, in which case it always uses the
batch's. The arithmetic is :func:`cnnlib.functional.batch_norm_forward`.
"""
from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_float_array, check_bool, check_number, check_positive_int
from cnnlib.nn.init import check_dtype
from cnnlib.nn.module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """The shared body of BatchNorm1d and BatchNorm2d (they differ only in the input
    ranks they accept)."""

    _ranks: tuple[int, ...] = ()
    _expected = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: type = np.float64) -> None:
        super().__init__()
        self.num_features = check_positive_int(num_features, "num_features")
        self.eps = check_number(eps, "eps", low=0.0)
        self.momentum = None if momentum is None else \
            check_number(momentum, "momentum", low=0.0, high=1.0)
        self.affine = check_bool(affine, "affine")
        self.track_running_stats = check_bool(track_running_stats, "track_running_stats")
        dtype = check_dtype(dtype)
        c = self.num_features
        if self.affine:
            self.register_parameter("weight", np.ones(c, dtype))
            self.register_parameter("bias", np.zeros(c, dtype))
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype))
            self.register_buffer("running_var", np.ones(c, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch tracked (torch's method)."""
        if self.track_running_stats:
            self.buffers["running_mean"][...] = 0
            self.buffers["running_var"][...] = 1
            self.buffers["num_batches_tracked"][...] = 0

    def _check_input(self, x) -> np.ndarray:
        x = as_float_array(x, "input")
        if x.ndim not in self._ranks:
            raise ValueError(f"{type(self).__name__} expects {self._expected}, got a "
                             f"{x.ndim}-D input of shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects "
                             f"{self.num_features} channels on axis 1, got input of shape "
                             f"{x.shape}")
        return x

    def forward(self, x) -> np.ndarray:
        x = self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.buffers["num_batches_tracked"] += 1
            if self.momentum is None:       # cumulative average: 1/1, 1/2, 1/3, ...
                factor = 1.0 / float(self.buffers["num_batches_tracked"])
        # Evaluation mode uses the running statistics, when the layer keeps them.
        use_batch = self.training or not self.track_running_stats
        tracked = self.track_running_stats
        out, cache = F.batch_norm_forward(
            x, self.buffers["running_mean"] if tracked else None,
            self.buffers["running_var"] if tracked else None,
            self.params.get("weight"), self.params.get("bias"), use_batch, factor,
            self.eps)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        dx, dw, db = F.batch_norm_backward(dout, self.saved())
        if self.affine:
            self.accumulate("weight", dw)
            self.accumulate("bias", db)
        return dx

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    r"""Batch normalisation of (N, C) feature vectors or (N, C, L) sequences, per
    feature (channel) C: :math:`\gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`
    (``torch.nn.BatchNorm1d``: same arguments and defaults, buffers and state_dict
    keys). Explained in chapter 9."""
    _ranks = (2, 3)
    _expected = "a 2-D (N, C) or 3-D (N, C, L) input"


class BatchNorm2d(_BatchNorm):
    r"""Batch normalisation of (N, C, H, W) images, per channel over the batch and every
    pixel: :math:`\gamma (x - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta`
    (``torch.nn.BatchNorm2d``: same arguments and defaults, buffers and state_dict
    keys). Explained in chapter 9."""
    _ranks = (4,)
    _expected = "a 4-D (N, C, H, W) input"
