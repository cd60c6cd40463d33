"""Recognising the common mistakes behind a wrong result, to give a specific hint.

Private helpers of :mod:`cnnlib.checks._compare`. When a student's array differs from
the expected one, these functions test a few transformations of it against the expected
array and name the one that explains the difference:

* the sign: the result is the negative of the expected one (``y - h`` for ``h - y``);
* a factor: the result is a constant times the expected one (the ``1/m`` of a mean
  forgotten, a sum where a mean was wanted);
* transposed: rows and columns swapped;
* reversed along an axis (a filter flipped) or shifted by one position (an index
  ``i + j + 1`` for ``i + j``);
* an off-by-one in a loop: every value right but the last (or the first), or one value
  too many or too few;
* the dtype: integers where fractions were expected (``//``, or an integer array filled
  with floats), or float32 precision where float64 was needed.

Each function returns a sentence, or ``None`` when no single mistake explains the
difference.
"""
from __future__ import annotations

import numpy as np

__all__ = ["diagnose_values", "diagnose_shape"]


def _close(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.isclose(a, b, rtol=rtol, atol=atol,
                                                          equal_nan=False)))


def _whole(x: float, largest: int = 10_000) -> int | None:
    """``round(x)`` if ``x`` is a whole number between 2 and ``largest``, else None."""
    k = round(x)
    return k if 2 <= k <= largest and abs(x - k) <= 1e-6 * k else None


def _axis_name(axis: int, ndim: int) -> str:
    if ndim == 1:
        return ""
    if ndim == 2:
        return " along the rows (axis 0)" if axis == 0 else " along the columns (axis 1)"
    return f" along axis {axis}"


def _dtype(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str | None:
    if exp.dtype.kind != "f":
        return None
    e = exp.astype(np.float64)
    if got.dtype.kind in "biu":
        g = got.astype(np.float64)
        if np.any(np.abs(e - np.round(e)) > atol) and \
                any(np.array_equal(g, f(e)) for f in (np.trunc, np.floor, np.round)):
            return (f"your result holds whole numbers (dtype {got.dtype}) where the "
                    f"expected values have fractions: integer arithmetic cut them off "
                    f"(// instead of /, or an integer array, such as np.zeros_like of an "
                    f"int input, that floats were written into)")
    elif (got.dtype.kind == "f" and got.dtype.itemsize < 8 and exp.dtype.itemsize >= 8
          and _close(got.astype(np.float64), e, max(rtol, 1e-5), max(atol, 1e-6))):
        return (f"your result is {got.dtype} and agrees only to about "
                f"{np.finfo(got.dtype).precision} digits: compute in float64 (a float32 "
                f"array or np.float32 constant turned the whole computation into float32)")
    return None


def _factor(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str | None:
    big = np.abs(exp) > max(atol, 1e-12)
    if not big.any() or exp.dtype.kind == "c" or got.dtype.kind == "c":
        return None
    ratios = got[big].astype(np.float64) / exp[big].astype(np.float64)
    if not np.all(np.isfinite(ratios)):
        return None
    c = float(np.median(ratios))
    if abs(c) < 1e-12 or abs(abs(c) - 1) <= 1e-6 or \
            not _close(got.astype(np.float64), c * exp.astype(np.float64), rtol, atol):
        return None
    sign = "the negative of " if c < 0 else ""
    k, inv = _whole(abs(c)), _whole(1 / abs(c))
    if k:
        return (f"your result is {sign}{k} times the expected one: a division by {k} is "
                f"missing (the 1/{k} of a mean over {k} values?)")
    if inv:
        return (f"your result is {sign}1/{inv} of the expected one: a division by {inv} too "
                f"many (a mean where a sum was wanted, or 1/m applied twice?)")
    if int(big.sum()) < 2:  # one number: any factor "explains" it
        return None
    return (f"your result is the expected one times {c:.4g} everywhere: a constant factor "
            f"(a scale, a step size, a normalisation) is wrong")


def _rearranged(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str | None:
    if exp.ndim == 2 and exp.shape[0] == exp.shape[1] and exp.shape[0] > 1 \
            and _close(got, exp.T, rtol, atol):
        return ("your result is the transpose of the expected one (rows and columns "
                "swapped): check which index is the row")
    for axis, n in enumerate(exp.shape):
        if n < 2:
            continue
        where = _axis_name(axis, exp.ndim)
        if _close(got, np.flip(exp, axis), rtol, atol):
            return (f"your result is the expected one reversed{where}: a filter flipped "
                    f"(or an index counted from the wrong end)?")
        if n >= 3:
            head, tail = [slice(None)] * exp.ndim, [slice(None)] * exp.ndim
            head[axis], tail[axis] = slice(None, -1), slice(1, None)
            head, tail = tuple(head), tuple(tail)
            if _close(got[tail], exp[head], rtol, atol):
                return (f"your values are shifted one place towards the end{where} "
                        f"(your [i + 1] is the expected [i]): an index off by one?")
            if _close(got[head], exp[tail], rtol, atol):
                return (f"your values are shifted one place towards the start{where} "
                        f"(your [i] is the expected [i + 1]): an index off by one?")
    return None


def _edge_only(bad: np.ndarray) -> str | None:
    """Every wrong value lies in the last (or first) slice along one axis."""
    for axis, n in enumerate(bad.shape):
        if n < 2:
            continue
        where = _axis_name(axis, bad.ndim)
        rest = np.delete(bad, n - 1, axis=axis)
        if not rest.any():
            return (f"every value is right except the last{where}: does a loop stop one "
                    f"step early (range(n - 1) for range(n))?")
        rest = np.delete(bad, 0, axis=axis)
        if not rest.any():
            return f"every value is right except the first{where}: a loop that starts at 1?"
    return None


def diagnose_values(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float,
                    bad: np.ndarray) -> str | None:
    """A hint for two arrays of the same shape whose values differ (``bad`` marks the
    entries that differ), or None."""
    if got.dtype.kind not in "biufc" or exp.dtype.kind not in "biufc" or \
            not np.all(np.isfinite(got)) or not np.all(np.isfinite(exp)):
        return None
    exp_f = exp.astype(np.complex128 if exp.dtype.kind == "c" else np.float64)
    got_f = got.astype(np.complex128 if got.dtype.kind == "c" else np.float64)
    found = _dtype(got, exp, rtol, atol)
    if found:
        return found
    if np.any(np.abs(exp_f) > atol) and _close(-got_f, exp_f, rtol, atol):
        return ("every value has the wrong sign: your result is the negative of the "
                "expected one (a minus sign too many or too few, e.g. y - h for h - y?)")
    return (_factor(got_f, exp_f, rtol, atol) or _rearranged(got_f, exp_f, rtol, atol)
            or (_edge_only(bad) if exp.ndim and bad.size > 2 else None))


def diagnose_shape(got: np.ndarray, exp: np.ndarray, rtol: float, atol: float) -> str:
    """A short explanation, in parentheses, of why the shapes differ ('' if none)."""
    if got.ndim >= 2 and got.shape[::-1] == exp.shape:
        if got.dtype.kind in "biufc" and _close(got.T.astype(np.float64),
                                                 exp.astype(np.float64), rtol, atol):
            return " (it is the transpose of the expected result: swap the axes, or .T)"
        return " (transposed?)"
    if got.ndim == exp.ndim and got.ndim >= 1:
        diff = [a for a, (g, e) in enumerate(zip(got.shape, exp.shape)) if g != e]
        if len(diff) == 1 and abs(got.shape[diff[0]] - exp.shape[diff[0]]) == 1:
            axis = diff[0]
            n_got, n_exp = got.shape[axis], exp.shape[axis]
            what = "one value too many" if n_got > n_exp else "one value too few"
            text = f" ({what}{_axis_name(axis, exp.ndim)}: an off-by-one in a range or a size"
            text += ", e.g. n - m for n - m + 1?" if n_got < n_exp else \
                ", e.g. n - m + 2 for n - m + 1?"
            if got.dtype.kind in "biufc":
                common = min(n_got, n_exp)
                g_head = np.take(got, range(common), axis=axis).astype(np.float64)
                g_tail = np.take(got, range(n_got - common, n_got), axis=axis).astype(
                    np.float64)
                e_head = np.take(exp, range(common), axis=axis).astype(np.float64)
                e_tail = np.take(exp, range(n_exp - common, n_exp), axis=axis).astype(
                    np.float64)
                if _close(g_head, e_head, rtol, atol):
                    text += (" The values you have are right; the last one is missing"
                             if n_got < n_exp else
                             " The first values are right; the last one is extra")
                elif _close(g_tail, e_tail, rtol, atol):
                    text += (" The values you have are right; the first one is missing"
                             if n_got < n_exp else
                             " The last values are right; the first one is extra")
            return text + ")"
    if got.size == exp.size and got.size > 1:
        return " (same number of values: a reshape or a missing/extra axis?)"
    return ""
