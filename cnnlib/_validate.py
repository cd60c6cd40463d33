"""Input checks shared by every public function of cnnlib.

Every public function validates its arguments here, at the boundary, so a reader who
passes the wrong thing gets a message that names the argument and the expected and
received shape or dtype, instead of a NumPy traceback from deep inside. One helper per
kind of check, used everywhere:

* arrays: :func:`as_float_array`, :func:`as_int_array`, :func:`as_float_arrays` (the
  arguments of one op in one precision), :func:`check_ndim`, :func:`check_shape`,
  :func:`check_same_shape`, :func:`check_finite`;
* the upstream gradient of every backward pass: :func:`as_dout`;
* options: :func:`check_bool`, :func:`check_int` (and :func:`is_int`),
  :func:`check_positive_int`, :func:`check_number`, :func:`check_pair`,
  :func:`check_in`, :func:`as_rng`;
* forward caches: :func:`snapshot`, :func:`frozen_rows`.
"""
from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np

__all__ = [
    "as_float_array",
    "as_float_arrays",
    "as_int_array",
    "check_ndim",
    "check_shape",
    "check_same_shape",
    "as_dout",
    "snapshot",
    "frozen_rows",
    "check_finite",
    "is_int",
    "check_bool",
    "check_int",
    "check_positive_int",
    "check_number",
    "check_pair",
    "check_in",
    "as_rng",
]


# ------------------------------------------------------------------------- arrays
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


def _sets_precision(value) -> bool:
    """Whether an argument insists on its floating precision: an array (NumPy's, or
    anything with a floating ``dtype``) does; a Python number, a NumPy scalar, a list
    or an integer/boolean array does not."""
    if isinstance(value, (numbers.Number, np.generic, list, tuple)):
        return False
    dtype = getattr(value, "dtype", None)
    try:
        return dtype is not None and np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:       # a dtype NumPy does not know (a torch dtype, say)
        return False


def as_float_arrays(**arrays) -> tuple[np.ndarray | None, ...]:
    """The array arguments of one op as float arrays of ONE precision, in the order
    given (``None`` passes through as ``None``).

    The rule, PyTorch's where it raises: floating arrays of different precision
    (float32 ``input`` with float64 ``weight``, float64 ``target``, ...) raise a
    ``TypeError`` naming both arguments and their dtypes; cnnlib never promotes one
    silently. Everything else adopts the precision of the floating arrays: Python
    numbers, NumPy scalars, lists and integer or boolean arrays (class labels, 0/1
    masks). With no floating array at all, the op computes in float64. Each argument
    is first checked by :func:`as_float_array`.

    Example: ``x, w, b = as_float_arrays(input=input, weight=weight, bias=bias)``.
    """
    converted = {name: None if value is None else as_float_array(value, name)
                 for name, value in arrays.items()}
    firm = [(name, converted[name].dtype, np.asarray(value).dtype)
            for name, value in arrays.items()
            if value is not None and _sets_precision(value)]
    dtype = firm[0][1] if firm else np.dtype(np.float64)
    for name, dt, original in firm[1:]:
        if dt != dtype:
            first, first_original = firm[0][0], firm[0][2]
            raise TypeError(
                f"{first} is {first_original} but {name} is {original}: cnnlib does not "
                f"mix float precisions in one operation (PyTorch raises for most ops "
                f"too). Convert one of them first, e.g. {name}.astype(np.{dtype}) or "
                f"{first}.astype(np.{dt})")
    return tuple(None if a is None else a.astype(dtype, copy=False)
                 for a in converted.values())


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


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if ``arr`` holds NaN or infinity."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, but {bad} of its {arr.size} values "
                         f"are NaN or infinite")


# ------------------------------------------------------------ backward and caches
def as_dout(dout, shape: Sequence[int], dtype=None, what: str = "the forward output"
            ) -> np.ndarray:
    """The upstream gradient of a backward pass: a float array of exactly ``shape``
    (the shape of ``what``, usually the forward output; ``()`` for a reduced loss),
    returned in ``dtype``, the precision of the forward computation (every op passes
    it; ``None`` keeps dout's own float dtype).

    As PyTorch's autograd does with ``out.backward(gradient)``, the shape must match
    exactly (no broadcasting) and the values are cast to the forward's dtype, so the
    gradients always have the dtype of the arrays they belong to (``backward(1.0,
    cache)`` of a float32 loss is float32; so is a float64 ``dout``).
    """
    d = as_float_array(dout, "dout")
    shape = tuple(shape)
    if d.shape != shape:
        if shape == ():
            raise ValueError(f"dout must be a scalar (the shape of {what}), got an "
                             f"array of shape {d.shape}")
        raise ValueError(f"dout must have the shape of {what}, {shape}, got "
                         f"dout.shape={d.shape}")
    return d if dtype is None else d.astype(dtype, copy=False)


def snapshot(arr: np.ndarray, source) -> np.ndarray:
    """What a forward cache keeps of an argument: ``arr`` (the validated form of the
    caller's ``source``) when it cannot change behind the cache's back, a copy when
    it might: when it is the caller's own array (``arr is source``) or a view.

    Kept without a copy: a fresh array made by the validation (a list or integers
    converted to floats), and a read-only array that owns its memory, which nobody
    can change in place (see :func:`frozen_rows`). So the backward computes with the
    values the arrays had at forward time, even if the caller changes an input or a
    weight in place in between (PyTorch raises in that situation; cnnlib's caches
    simply keep their own values).
    """
    if not arr.flags.owndata or (arr is source and arr.flags.writeable):
        return arr.copy()
    return arr


def frozen_rows(a: np.ndarray, rows) -> np.ndarray:
    """The mini-batch ``a[rows]``, read-only when indexing made a new array (``rows``
    an index array), so that forward caches keep it without copying it (see
    :func:`snapshot`); a view, as usual, for a slice. For training loops that make
    their own batches."""
    batch = a[rows]
    if batch.flags.owndata:        # a new array that no one else holds
        batch.flags.writeable = False
    return batch


# ----------------------------------------------------------------------- options
def is_int(value) -> bool:
    """Whether ``value`` is an integer: a Python int or a NumPy integer, and not a
    bool (``True`` is an int to Python, never a size or an index here)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_bool(value, name: str) -> bool:
    """Return ``value`` as a bool; raise ``TypeError`` unless it is True or False
    (a NumPy bool too). Strings such as ``"no"`` and numbers are refused: ``"no"``
    would otherwise count as True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} "
                        f"({value!r})")
    return bool(value)


def check_int(value, name: str, *, low: int | None = None) -> int:
    """Return ``value`` as an int; ``TypeError`` unless :func:`is_int`, ``ValueError``
    when it is below ``low``."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def check_positive_int(value, name: str, *, allow_zero: bool = False) -> int:
    """Return ``value`` as an int, raising if it is not a (non-negative) integer."""
    return check_int(value, name, low=0 if allow_zero else 1)


def check_number(value, name: str, *, low: float | None = None,
                 high: float | None = None, low_open: bool = False,
                 high_open: bool = False, finite: bool = True) -> float:
    """Return ``value`` as a float; ``TypeError`` unless it is a real number (Python
    or NumPy, not a bool), ``ValueError`` when it is NaN or infinite (unless
    ``finite=False``) or outside the interval from ``low`` to ``high`` (closed ends,
    open with ``low_open``/``high_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} "
                        f"({value!r})")
    v = float(value)
    if finite and not np.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    too_low = low is not None and (v <= low if low_open else v < low)
    too_high = high is not None and (v >= high if high_open else v > high)
    if too_low or too_high:
        if low is not None and high is not None:
            want = (f"in {'(' if low_open else '['}{low:g}, {high:g}"
                    f"{')' if high_open else ']'}")
        elif low is not None:
            want = f"{'>' if low_open else '>='} {low:g}"
        else:
            want = f"{'<' if high_open else '<='} {high:g}"
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"{name} must be {kind} {want}, got {value!r}")
    return v


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
    if rng is None or is_int(rng):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got "
                    f"{type(rng).__name__}")

