"""Images moved by a few pixels: how much does a classifier care where the digit is?

Explained in chapter 7 (a small CNN, a fully connected network and HoG features tested
on shifted digits) and chapter 8 (LeNet-5 on the same test).
"""
from __future__ import annotations

import numpy as np

from cnnlib._validate import as_float_array, check_in, check_positive_int

__all__ = ["DIRECTIONS", "shift_images", "shifted_test_set"]

DIRECTIONS = ("right", "left", "down", "up")


def shift_images(images, pixels: int, direction: str = "right") -> np.ndarray:
    """``images`` (..., H, W) moved ``pixels`` pixels in ``direction`` ("right",
    "left", "down" or "up"); the pixels that enter are 0 (black) and those pushed
    over the border are lost. Returns a new array of the same shape and dtype."""
    x = as_float_array(images, "images")
    if x.ndim < 2:
        raise ValueError(f"images must have at least 2 dimensions (..., H, W), got shape "
                         f"{x.shape}")
    s = check_positive_int(pixels, "pixels", allow_zero=True)
    check_in(direction, "direction", DIRECTIONS)
    out = np.zeros_like(x)
    if s == 0:
        out[...] = x
    elif direction == "right":
        out[..., s:] = x[..., :-s]
    elif direction == "left":
        out[..., :-s] = x[..., s:]
    elif direction == "down":
        out[..., s:, :] = x[..., :-s, :]
    else:
        out[..., :-s, :] = x[..., s:, :]
    return out


def shifted_test_set(images, pixels: int) -> np.ndarray:
    """Image i of ``images`` (N, ..., H, W) moved ``pixels`` pixels right, left, down or
    up, by i % 4: a quarter of the set in each direction."""
    x = as_float_array(images, "images")
    out = np.empty_like(x)
    for k, direction in enumerate(DIRECTIONS):
        out[k::4] = shift_images(x[k::4], pixels, direction)
    return out
