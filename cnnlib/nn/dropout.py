"""The dropout layer, as ``torch.nn.Dropout``.

Explained in chapter 9. In training mode each unit is zeroed with probability ``p`` and
the others are scaled by 1/(1-p); in evaluation mode (``model.eval()``) the layer is the
identity. The masks are drawn from the layer's own generator, seeded by ``rng``, so a
seeded model drops the same units on every run.
"""
from __future__ import annotations

import numpy as np

from cnnlib import functional as F
from cnnlib._validate import as_rng, check_bool, check_number
from cnnlib.nn.module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    r"""Zero each input unit with probability ``p`` in training and scale the rest by
    :math:`1/(1-p)`; the identity in evaluation mode. Any input shape.
    Explained in chapter 9."""

    def __init__(self, p: float = 0.5, inplace: bool = False,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_number(p, "p", low=0.0, high=1.0)
        self.inplace = check_bool(inplace, "inplace")
        self.rng = as_rng(rng)

    def forward(self, x) -> np.ndarray:
        out, cache = F.dropout_forward(x, self.p, self.training, self.inplace,
                                       rng=self.rng)
        self.save_for_backward(cache)
        return out

    def backward(self, dout) -> np.ndarray:
        return F.dropout_backward(dout, self.saved())

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
