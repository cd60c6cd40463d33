"""Comparing a student's result with the expected one, and showing values briefly.

Private helpers of :mod:`cnnlib.checks`. ``compare`` returns ``None`` when the values
agree and otherwise a sentence a student can act on ("wrong shape: expected (3, 4), got
(4, 3)", "3 of 10 values differ, the largest by 0.25 at index (2,)"), with the likely
mistake when one explains the difference (a sign, a factor, an off-by-one, a transpose,
a dtype: see ``_mistakes.py``). Small arrays are shown by value.
"""
from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from cnnlib.checks._mistakes import diagnose_shape, diagnose_values

__all__ = ["compare", "show", "short", "to_numpy_if_tensor"]

# How arrays are printed in verdicts: short enough to read in a notebook output.
_PRINT = dict(precision=5, threshold=24, edgeitems=3, linewidth=78, suppress=False)
#: Arrays up to this many values are shown by value in a call's arguments.
SMALL = 20


def to_numpy_if_tensor(x: Any) -> Any:
    """A PyTorch tensor becomes a NumPy array; anything else is returned unchanged.

    Duck-typed so that this module never imports torch.
    """
    if type(x).__module__.startswith("torch") and hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return x


def _is_numeric(x: Any) -> bool:
    x = to_numpy_if_tensor(x)
    if isinstance(x, (Number, np.number, np.bool_)):
        return True
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "biufc"
    return False


def show(x: Any, indent: int = 0) -> str:
    """A value as a student would like to read it: arrays without ``array(...)``,
    shortened to a few lines; continuation lines indented by ``indent`` spaces."""
    x = to_numpy_if_tensor(x)
    if isinstance(x, np.ndarray) and x.ndim == 0:
        text = repr(x.item())
    elif isinstance(x, np.ndarray):
        with np.printoptions(**_PRINT):
            text = np.array2string(x, separator=" ")
        text += f"  (shape {x.shape}, {x.dtype})"
    elif isinstance(x, (np.number, np.bool_)):
        text = f"{x.item()!r}  ({x.dtype})"
    else:
        text = repr(x)
        if len(text) > 300:
            text = text[:300] + " ..."
    return text.replace("\n", "\n" + " " * indent)


def short(x: Any) -> str:
    """A one-line summary used when listing a call's arguments: small arrays (up to
    ``SMALL`` values) by value, larger ones by shape and dtype."""
    x = to_numpy_if_tensor(x)
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return repr(x.item())
        if x.size <= SMALL:
            # one line, no padding to align columns: "[[0.5, -1.25], [2, 3]]"
            text = np.array2string(x, separator=", ", threshold=SMALL, max_line_width=10**6,
                                   formatter={"float_kind": lambda v: repr(float(f"{v:.5g}"))}
                                   ).replace("\n", "").replace(",  ", ", ")
            return text if x.dtype.kind in "bif" and x.dtype.itemsize == 8 or \
                x.dtype.kind == "b" else f"{text} ({x.dtype})"
        return f"<array of shape {x.shape}, {x.dtype}>"
    if callable(x):
        return getattr(x, "__name__", type(x).__name__)
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _compare_arrays(got: Any, expected: Any, rtol: float, atol: float,
                    where: str) -> str | None:
    exp = np.asarray(expected)
    if got is None:
        return (f"{where}your function returned None: did you forget a `return` "
                f"statement? Expected {show(exp)}")
    if not _is_numeric(got):
        try:  # lists of numbers are fine
            got_arr = np.asarray(got)
        except Exception:
            got_arr = None
        if got_arr is None or got_arr.dtype.kind not in "biufc":
            return (f"{where}expected a number or a NumPy array, got a "
                    f"{type(got).__name__}: {show(got)}")
    got_arr = np.asarray(to_numpy_if_tensor(got))
    if got_arr.shape != exp.shape:
        msg = f"{where}wrong shape: expected shape {exp.shape}, got shape {got_arr.shape}"
        msg += diagnose_shape(got_arr, exp, rtol, atol)
        return msg + f"\n    expected: {show(exp, 14)}\n    got:      {show(got_arr, 14)}"
    bad = ~np.isclose(got_arr, exp, rtol=rtol, atol=atol, equal_nan=True)
    if not bad.any():
        return None
    lines = [f"{where}wrong values"]
    n_bad = int(bad.sum())
    if exp.ndim:
        lines[0] += f": {n_bad} of {exp.size} values differ"
    if not np.all(np.isfinite(got_arr[bad])) and np.all(np.isfinite(exp[bad])):
        lines[0] += " (your result contains nan or inf: an overflow, or 0/0?)"
    else:
        kind = np.complex128 if "c" in (got_arr.dtype.kind, exp.dtype.kind) else np.float64
        diff = np.where(bad, np.abs(got_arr.astype(kind) - exp.astype(kind)), 0.0)
        idx = np.unravel_index(int(np.argmax(diff)), exp.shape) if exp.ndim else ()
        lines[0] += f", the largest difference is {float(diff[idx]):.3g}"
        if exp.ndim:
            lines[0] += (f" at index {tuple(int(i) for i in idx)} "
                         f"(expected {exp[idx].item()!r}, got {got_arr[idx].item()!r})")
    lines.append(f"    expected: {show(exp, 14)}")
    lines.append(f"    got:      {show(got_arr, 14)}")
    cause = diagnose_values(got_arr, exp, rtol, atol, bad)
    if cause:
        lines.append(f"    Likely cause: {cause}")
    return "\n".join(lines)


def compare(got: Any, expected: Any, rtol: float, atol: float,
            where: str = "") -> str | None:
    """``None`` if ``got`` matches ``expected``, else a message saying how it differs.

    Numbers and arrays (NumPy or PyTorch) are compared with ``np.isclose(got, expected,
    rtol, atol)`` after checking the shape; tuples and lists element by element; dicts
    key by key; anything else with ``==``. ``where`` prefixes the message ("output[1]: ").
    """
    expected = to_numpy_if_tensor(expected)
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)):
            return (f"{where}expected a {type(expected).__name__} of {len(expected)} "
                    f"values, got a {type(got).__name__}: {show(got)}")
        if len(got) != len(expected):
            return (f"{where}expected {len(expected)} values, got {len(got)}")
        for i, (g, e) in enumerate(zip(got, expected)):
            msg = compare(g, e, rtol, atol, f"{where}item [{i}]: ")
            if msg:
                return msg
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"{where}expected a dict, got a {type(got).__name__}: {show(got)}"
        if set(got) != set(expected):
            return (f"{where}expected the keys {sorted(map(str, expected))}, "
                    f"got {sorted(map(str, got))}")
        for key in expected:
            msg = compare(got[key], expected[key], rtol, atol, f"{where}[{key!r}]: ")
            if msg:
                return msg
        return None
    if _is_numeric(expected):
        return _compare_arrays(got, expected, rtol, atol, where)
    try:
        equal = bool(got == expected)
    except Exception:
        equal = False
    if equal:
        return None
    return f"{where}expected {show(expected)}, got {show(got)}"
