"""Input checks shared by every public function of cnnlib.

Every public function validates its arguments here, at the boundary, so a reader who
passes the wrong thing gets a message that names the argument and the expected and
received shape or dtype, instead of a NumPy traceback from deep inside.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "as_float_array",
    "as_int_array",
    "check_ndim",
    "check_shape",
    "check_same_shape",
    "as_dout",
    "check_finite",
    "check_positive_int",
    "check_pair",
    "check_in",
    "as_rng",
    "check_bool",
    "check_number",
    "check_int",
]


def as_float_array(x, name: str, *, ndim: int | Sequence[int] | None = None,
                   finite: bool = False) -> np.ndarray:
    """Return ``x`` as a floating-point ndarray (float32 stays float32, anything else
    numeric becomes float64), checking its rank and, if asked, that it is finite.

    Raises ``TypeError`` for non-numeric input (strings, objects, booleans are allowed
    and become 0/1) and ``ValueError`` for a wrong rank or non-finite values.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be convertible to a numeric array ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {arr.dtype}")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if ndim is not None:
        check_ndim(arr, name, ndim)
    if finite:
        check_finite(arr, name)
    return arr


def as_int_array(x, name: str, *, ndim: int | Sequence[int] | None = None) -> np.ndarray:
    """Return ``x`` as an int64 ndarray of class indices; floats that are whole numbers
    are accepted (labels often arrive as floats from CSV files)."""
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be convertible to an integer array ({exc})") from None
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    elif np.issubdtype(arr.dtype, np.floating):
        if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr))):
            raise TypeError(f"{name} must hold integer class indices, got non-integer "
                            f"values of dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    else:
        raise TypeError(f"{name} must be an integer array, got dtype {arr.dtype}")
    if ndim is not None:
        check_ndim(arr, name, ndim)
    return arr


def check_ndim(arr: np.ndarray, name: str, ndim: int | Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``arr.ndim`` is ``ndim`` (or one of them)."""
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{name} must be {want}, got a {arr.ndim}-D array of shape "
                         f"{arr.shape}")


def check_shape(arr: np.ndarray, name: str, shape: Sequence[int | None]) -> None:
    """Raise ``ValueError`` unless ``arr.shape`` matches ``shape`` (``None`` = any)."""
    shape = tuple(shape)
    ok = arr.ndim == len(shape) and all(s is None or s == a
                                        for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + \
               ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")


def check_same_shape(a: np.ndarray, a_name: str, b: np.ndarray, b_name: str) -> None:
    """Raise ``ValueError`` unless two arrays have exactly the same shape (no
    broadcasting: a silent broadcast of (n,) against (n, 1) is a classic bug)."""
    if a.shape != b.shape:
        raise ValueError(f"{a_name} and {b_name} must have the same shape, got "
                         f"{a_name}.shape={a.shape} and {b_name}.shape={b.shape}")


def as_dout(dout, shape: Sequence[int], what: str = "the forward output") -> np.ndarray:
    """Validate the upstream gradient of a backward pass: a float array of exactly
    ``shape`` (the shape of ``what``, usually the forward output)."""
    d = as_float_array(dout, "dout")
    if d.shape != tuple(shape):
        raise ValueError(f"dout must have the shape of {what}, {tuple(shape)}, got "
                         f"dout.shape={d.shape}")
    return d


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, but {bad} of its {arr.size} values "
                         f"are NaN or infinite")


def check_positive_int(value, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, raising if it is not a (non-negative) integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    lo = 0 if allow_zero else 1
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    return int(value)


def check_pair(value, name: str, *, allow_zero: bool = False) -> tuple[int, int]:
    """Accept an int or a pair of ints (PyTorch's convention for kernel size, stride,
    padding) and return a pair."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return (check_positive_int(value[0], f"{name}[0]", allow_zero=allow_zero),
                check_positive_int(value[1], f"{name}[1]", allow_zero=allow_zero))
    v = check_positive_int(value, name, allow_zero=allow_zero)
    return (v, v)


def check_in(value, name: str, options: Sequence) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, a seed or None) into a ``np.random.Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got "
                    f"{type(rng).__name__}")


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a bool, raising ``TypeError`` unless it is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_number(value, name: str, *, low: float | None = None,
                 high: float | None = None) -> float:
    """Return ``value`` as a finite float in [low, high], raising ``TypeError`` for a
    non-number (booleans included) and ``ValueError`` outside the range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    v = float(value)
    if not np.isfinite(v) or (low is not None and v < low) or (high is not None and v > high):
        bounds = (f" >= {low}" if low is not None else "") + \
                 (" and" if low is not None and high is not None else "") + \
                 (f" <= {high}" if high is not None else "")
        raise ValueError(f"{name} must be a finite number{bounds}, got {value}")
    return v


def check_int(value, name: str) -> int:
    """Return ``value`` as an int, raising ``TypeError`` unless it is an integer (booleans
    are not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    return int(value)
