"""The grader's helper inside a student's kernel: it answers questions about the
student's objects with data.

The grader sends code that calls :func:`serve` with a JSON request; the answer goes back
as one ``display_data`` output of type :data:`MIME`. Requests:

* ``bind``: evaluate the arguments of a check call (``["sigmoid"]``) in the notebook's
  namespace; data comes back as data, anything else (a function, a model) stays here
  and comes back as a ``remote`` handle;
* ``call`` / ``getattr`` / ``getitem`` / ``len`` / ``iter`` (all its items, as a list)
  on a handle: the result as data (or a new handle), NumPy warnings, the arrays the
  call changed in place, or what it raised;
* ``release``: forget the handles.

When the student's code calls one of the grader's functions (a ``local`` value in the
arguments), the stand-in here asks the grader through ``input()`` (the Jupyter stdin
channel) and returns its answer.

Nothing here is trusted: the grader judges only the data that comes back, as data (see
``wire.py``). A notebook that changes this module only changes its own answers.
"""
from __future__ import annotations

import builtins
import json
import warnings
from typing import Any

import numpy as np

from cnnlib.grade.wire import WireError, decode, encode

__all__ = ["serve", "MIME", "PROMPT", "MAX_REPLY"]

MIME = "application/x-cnnlib-grader-answer+json"
PROMPT = "cnnlib-grader-callback:"
MAX_REPLY = 64 << 20

_HANDLES: dict[int, Any] = {}


def _text(get: Any) -> str | None:
    try:
        value = get()
    except Exception:
        return None
    return value[:200] if isinstance(value, str) else None


def _remote(x: Any) -> dict:
    hid = len(_HANDLES) + 1
    _HANDLES[hid] = x
    return {"remote": {"id": hid, "callable": callable(x), "type": type(x).__name__[:100],
                       "module": _text(lambda: x.__module__),
                       "qualname": _text(lambda: x.__qualname__),
                       "name": _text(lambda: x.__name__)}}


def _handle(h: dict) -> Any:
    try:
        return _HANDLES[h["id"]]
    except (KeyError, TypeError):
        raise WireError("unknown handle") from None


def _raised(exc: BaseException) -> dict:
    try:
        from cnnlib.checks._errors import describe_exception
        description = describe_exception(exc)
    except Exception:
        description = f"{type(exc).__name__}: {exc}"
    return {"type": type(exc).__name__, "message": str(exc)[:2000],
            "description": description[:2000]}


class _GraderFunction:
    """Stands for one of the grader's functions: calling it asks the grader."""

    def __init__(self, cid: int) -> None:
        self.cid = cid
        self.__name__ = self.__qualname__ = f"f{cid}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from IPython import get_ipython
        request = json.dumps({"cb": self.cid, "args": encode(list(args), _remote),
                              "kwargs": encode(kwargs, _remote)}, allow_nan=True)
        answer = json.loads(get_ipython().kernel.raw_input(PROMPT + request))
        if "raised" in answer:
            kind = getattr(builtins, str(answer["raised"].get("type")), None)
            if not (isinstance(kind, type) and issubclass(kind, Exception)):
                kind = RuntimeError
            raise kind(answer["raised"].get("message", ""))
        return decode(answer.get("value"), on_remote=_handle)


def _arrays(x: Any, path: list, found: list, depth: int = 0) -> None:
    """Every array inside the arguments, with its path and a copy."""
    if depth > 8:
        return
    if isinstance(x, np.ndarray):
        found.append((path, x, x.copy()))
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            _arrays(v, path + [i], found, depth + 1)
    elif isinstance(x, dict):
        for k, v in x.items():
            if isinstance(k, str):
                _arrays(v, path + [k], found, depth + 1)


def _call(req: dict) -> dict:
    fn = _handle({"id": req.get("target")})
    args = decode(req.get("args"), on_remote=_handle, on_local=_GraderFunction)
    kwargs = decode(req.get("kwargs"), on_remote=_handle, on_local=_GraderFunction)
    before: list = []
    _arrays(args, ["a"], before)
    _arrays(kwargs, ["k"], before)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # the student's code: everything is an answer
            return {"raised": _raised(exc)}
    changed = [[path, encode(arr)] for path, arr, copy in before
               if arr.shape != copy.shape or
               not np.array_equal(arr, copy, equal_nan=arr.dtype.kind in "fc")]
    return {"value": encode(result, _remote), "changed": changed,
            "warnings": [{"runtime": issubclass(w.category, RuntimeWarning),
                          "message": str(w.message)[:500]} for w in caught[:20]]}


def _answer(req: dict) -> dict:
    op = req.get("op")
    if op == "bind":
        from IPython import get_ipython
        namespace = get_ipython().user_ns
        out = []
        for source in req.get("args", []) + list(req.get("kwargs", {}).values()):
            try:
                out.append({"value": encode(eval(source, namespace), _remote)})
            except BaseException as exc:
                out.append({"raised": _raised(exc)})
        return {"values": out}
    if op == "call":
        return _call(req)
    if op in ("getattr", "getitem", "len", "iter"):
        obj = _handle({"id": req.get("target")})
        try:
            if op == "getattr":
                value = getattr(obj, str(req.get("name")))
            elif op == "getitem":
                value = obj[decode(req.get("key"), on_remote=_handle)]
            elif op == "iter":
                value = list(obj)
            else:
                value = len(obj)
        except BaseException as exc:
            return {"raised": _raised(exc)}
        return {"value": encode(value, _remote)}
    if op == "release":
        _HANDLES.clear()
        return {}
    raise ValueError(f"unknown request {op!r}")


def serve(text: str) -> None:
    """Answer one request of the grader (a JSON text) with one display_data output."""
    nonce = None
    try:
        req = json.loads(text)
        nonce = req.get("nonce")
        answer = _answer(req)
    except BaseException as exc:
        answer = {"raised": _raised(exc)}
    answer["nonce"] = nonce
    try:
        out = json.dumps(answer, allow_nan=True)
    except (TypeError, ValueError) as exc:
        out = json.dumps({"nonce": nonce, "raised": _raised(exc)})
    if len(out) > MAX_REPLY:
        out = json.dumps({"nonce": nonce, "raised": {
            "type": "ValueError", "message": "result too large",
            "description": f"ValueError: the result is too large to send to the grader "
                           f"({len(out) / 2**20:.0f} MB, at most {MAX_REPLY >> 20} MB)"}})
    from IPython import get_ipython
    get_ipython().display_pub.publish(data={MIME: out}, metadata={})
