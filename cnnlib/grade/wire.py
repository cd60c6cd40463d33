"""Values as JSON, between the grader and a student's kernel.

What crosses is plain data: ``None``, bools, ints, floats (``nan`` and ``inf``
included), strings, bytes, complex numbers, NumPy arrays and scalars (written with
``np.save(..., allow_pickle=False)``), PyTorch tensors (sent as arrays), and tuples,
lists and dicts of these. Every value other than a JSON scalar is a one-key object
naming its kind, so nothing is ambiguous::

    {"nd": "<base64 .npy>"}   {"np": "<base64 .npy of shape ()>"}   {"tensor": ...}
    {"list": [...]}  {"tuple": [...]}  {"dict": [[key, value], ...]}
    {"complex": [re, im]}  {"bytes": "<base64>"}
    {"remote": {...}}    an object that stays in the kernel (a function, a model)
    {"local": id}        a function of the grader's that the kernel may call back

:func:`encode` takes a ``fallback`` for anything else (the kernel turns it into a
``remote`` handle, the grader into a ``local`` callback). :func:`decode` is strict: it
is what the grader applies to whatever a kernel sends, so it never unpickles, checks
every tag, array header and size, and raises :class:`WireError` for anything else.
"""
from __future__ import annotations

import base64
import io
import json
import math
from typing import Any, Callable

import numpy as np

__all__ = ["WireError", "encode", "decode", "dumps", "loads", "MAX_DEPTH"]

MAX_DEPTH = 32          # nesting of lists/dicts
MAX_ITEMS = 1_000_000   # values in one message


class WireError(ValueError):
    """A value that cannot be sent, or a message that is not valid."""


def _npy(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _is_tensor(x: Any) -> bool:
    # duck-typed, so that neither side imports torch to ask
    return type(x).__module__.startswith("torch") and hasattr(x, "detach") and \
        hasattr(x, "numpy")


def encode(x: Any, fallback: Callable[[Any], dict] | None = None, _depth: int = 0) -> Any:
    """``x`` as a JSON-ready structure (see the module doc)."""
    if _depth > MAX_DEPTH:
        raise WireError(f"nested more than {MAX_DEPTH} levels deep")
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        return float(x)
    if isinstance(x, complex):
        return {"complex": [x.real, x.imag]}
    if isinstance(x, bytes):
        return {"bytes": base64.b64encode(x).decode("ascii")}
    if isinstance(x, np.ndarray) and not x.dtype.hasobject:
        return {"nd": _npy(x)}  # (np.ascontiguousarray would make a 0-d array 1-d)
    if isinstance(x, np.generic) and not isinstance(x, np.object_):
        return {"np": _npy(np.asarray(x))}
    if _is_tensor(x):
        return {"tensor": _npy(x.detach().cpu().numpy())}
    if isinstance(x, (list, tuple)):
        items = [encode(v, fallback, _depth + 1) for v in x]
        return {"tuple" if isinstance(x, tuple) else "list": items}
    if isinstance(x, dict):
        return {"dict": [[encode(k, fallback, _depth + 1), encode(v, fallback, _depth + 1)]
                         for k, v in x.items()]}
    if fallback is not None:
        return fallback(x)
    raise WireError(f"a {type(x).__name__} cannot be sent as data")


def dumps(x: Any, fallback: Callable[[Any], dict] | None = None) -> str:
    return json.dumps(encode(x, fallback), allow_nan=True, separators=(",", ":"))


# ---------------------------------------------------------------- decoding (strict)
def _array(text: Any, limit: list[int]) -> np.ndarray:
    if not isinstance(text, str):
        raise WireError("an array must be a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise WireError(f"bad base64: {exc}") from None
    limit[0] -= len(raw)
    if limit[0] < 0:
        raise WireError("the message is too large")
    buf = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(buf)
        if version not in ((1, 0), (2, 0), (3, 0)):
            raise WireError(f"unknown .npy version {version}")
        shape, fortran, dtype = (np.lib.format.read_array_header_1_0(buf) if version ==
                                 (1, 0) else np.lib.format.read_array_header_2_0(buf))
        if dtype.hasobject:
            raise WireError("arrays of Python objects are not data")
        if math.prod(shape) * dtype.itemsize != len(raw) - buf.tell():
            raise WireError("the array's size does not match its header")
        buf.seek(0)
        return np.load(buf, allow_pickle=False)
    except WireError:
        raise
    except Exception as exc:  # a malformed header
        raise WireError(f"not a valid array: {type(exc).__name__}: {exc}") from None


def decode(data: Any, on_remote: Callable[[dict], Any] | None = None,
           on_local: Callable[[int], Any] | None = None, *,
           max_bytes: int = 1 << 30) -> Any:
    """The value that :func:`encode` made ``data`` from. ``on_remote`` turns a remote
    handle into a stand-in, ``on_local`` a callback id into the grader's function;
    without them these tags are refused."""
    budget = [max_bytes]
    count = [0]

    def walk(d: Any, depth: int) -> Any:
        count[0] += 1
        if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
            raise WireError("the message is too large or too deeply nested")
        if d is None or isinstance(d, (bool, int, float)):
            return d
        if isinstance(d, str):
            budget[0] -= len(d)
            if budget[0] < 0:
                raise WireError("the message is too large")
            return d
        if not isinstance(d, dict) or len(d) != 1:
            raise WireError(f"unexpected {type(d).__name__} in a message")
        (tag, v), = d.items()
        if tag in ("list", "tuple"):
            if not isinstance(v, list):
                raise WireError(f"bad {tag}")
            items = [walk(i, depth + 1) for i in v]
            return items if tag == "list" else tuple(items)
        if tag == "dict":
            if not isinstance(v, list) or not all(isinstance(p, list) and len(p) == 2
                                                  for p in v):
                raise WireError("bad dict")
            out = {}
            for k, val in v:
                key = walk(k, depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise WireError("a dict key that cannot be hashed") from None
                out[key] = walk(val, depth + 1)
            return out
        if tag == "nd":
            return _array(v, budget)
        if tag == "np":
            arr = _array(v, budget)
            if arr.shape != ():
                raise WireError("a NumPy scalar must have shape ()")
            return arr[()]
        if tag == "tensor":
            import torch  # only when a tensor actually arrives
            return torch.from_numpy(_array(v, budget))
        if tag == "complex":
            if not (isinstance(v, list) and len(v) == 2 and
                    all(isinstance(p, (int, float)) for p in v)):
                raise WireError("bad complex number")
            return complex(v[0], v[1])
        if tag == "bytes":
            if not isinstance(v, str):
                raise WireError("bad bytes")
            budget[0] -= len(v)
            try:
                return base64.b64decode(v.encode("ascii"), validate=True)
            except (ValueError, UnicodeEncodeError):
                raise WireError("bad bytes") from None
        if tag == "remote" and on_remote is not None and isinstance(v, dict):
            return on_remote(v)
        if tag == "local" and on_local is not None and isinstance(v, int):
            return on_local(v)
        raise WireError(f"unknown kind {tag!r} in a message")

    try:
        return walk(data, 0)
    except RecursionError:
        raise WireError("the message is nested too deeply") from None


def loads(text: str | bytes, max_bytes: int = 1 << 30, **kwargs: Any) -> Any:
    """Parse a JSON message (at most ``max_bytes``) and :func:`decode` it."""
    if len(text) > max_bytes:
        raise WireError(f"the message is larger than {max_bytes:,} bytes")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise WireError(f"not JSON: {exc}"[:200]) from None
    return decode(data, max_bytes=max_bytes, **kwargs)
