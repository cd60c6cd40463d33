"""The student's objects as seen from the grader: stand-ins that ask the kernel.

A check that runs in the grader gets, for each object named in the check call, either
its value (when it is data: numbers, arrays, lists of arrays...) or a stand-in:
:class:`RemoteFunction` (callable) or :class:`RemoteObject`. Calling a stand-in, reading
an attribute of it, indexing it, iterating over it (``model.parameters()``: its items
come back at once) or taking its ``len`` sends the arguments to the kernel
(``kernel_side.py`` answers) and returns the result as data, or as a new stand-in.

Everything that comes back is decoded strictly (``wire.py``: JSON and ``.npy`` without
pickles, sizes checked) and then judged here: a kernel can make its own answers wrong
or slow, never a verdict right. What the student's code raised comes back as an
exception that is both a :class:`~cnnlib.checks.StudentException` and the builtin of the
same name. A kernel that dies or a notebook out of time stops the check with
:class:`KernelGone` or :class:`OutOfTime`, which are ``BaseException`` so that no
``except Exception`` in a check can swallow them.
"""
from __future__ import annotations

import builtins
import json
import secrets
import warnings
from typing import Any, Callable

import numpy as np

from cnnlib.checks import StudentException
from cnnlib.grade import wire
from cnnlib.grade.kernel import KernelProcess
from cnnlib.grade.kernel_side import MAX_REPLY, MIME, PROMPT

__all__ = ["Link", "Remote", "RemoteFunction", "RemoteObject", "KernelGone", "OutOfTime",
           "Unbound", "student_exception"]


class KernelGone(BaseException):
    """The kernel exited while the grader was asking it something."""


class OutOfTime(BaseException):
    """The notebook's time limit passed while the grader was asking the kernel."""


class Unbound:
    """A check argument that could not be evaluated in the kernel (``exc`` says why)."""

    def __init__(self, source: str, exc: StudentException) -> None:
        self.source, self.exc = source, exc


_CLASSES: dict[str, type] = {}


def student_exception(raised: Any) -> StudentException:
    """The exception described by a kernel's ``{"type", "message", "description"}``."""
    raised = raised if isinstance(raised, dict) else {}
    name = str(raised.get("type", "Exception"))[:100]
    message = str(raised.get("message", ""))[:2000]
    description = str(raised.get("description", "") or f"{name}: {message}")[:2000]
    if name not in _CLASSES:
        base = getattr(builtins, name, None)
        if not (isinstance(base, type) and issubclass(base, Exception)) or \
                not name.isidentifier():
            base = Exception
        try:
            cls = type(name if name.isidentifier() else "StudentError",
                       (StudentException, base), {"__module__": "student"})
            cls(message)
        except Exception:  # a builtin whose constructor wants more than a message
            cls = type("StudentError", (StudentException,), {"__module__": "student"})
        _CLASSES[name] = cls
    exc = _CLASSES[name](message)
    exc.description = description
    return exc


class Remote:
    """A student's object that stays in the kernel."""

    __slots__ = ("_link", "_id", "_meta")

    def __init__(self, link: "Link", hid: int, meta: dict[str, Any]) -> None:
        object.__setattr__(self, "_link", link)
        object.__setattr__(self, "_id", hid)
        object.__setattr__(self, "_meta", meta)

    def __getattr__(self, name: str) -> Any:
        if name in Remote.__slots__:  # not set yet (never the student's attribute)
            raise AttributeError(name)
        if name.startswith("__") and name.endswith("__"):
            # asked by Python and NumPy themselves: answer here, never from the kernel
            if name in ("__name__", "__qualname__") and self._meta.get(name[2:-2]):
                return self._meta[name[2:-2]]
            raise AttributeError(name)
        return self._link.request({"op": "getattr", "target": self._id, "name": name})

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a student's object cannot be changed from a check")

    def __getitem__(self, key: Any) -> Any:
        return self._link.request({"op": "getitem", "target": self._id,
                                   "key": self._link.encode(key)})

    def __len__(self) -> int:
        n = self._link.request({"op": "len", "target": self._id})
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise student_exception({"type": "TypeError",
                                     "message": f"len() gave {n!r}, not a count"})
        return n

    def __iter__(self) -> Any:
        items = self._link.request({"op": "iter", "target": self._id})
        if not isinstance(items, list):
            raise student_exception({"type": "TypeError", "message": "not iterable"})
        return iter(items)

    def __bool__(self) -> bool:
        raise TypeError("a check cannot take the truth value of a student's object: ask "
                        "for data (call it, read an attribute)")

    def _not_data(self, *args: Any) -> Any:
        message = (f"the check needed a number or an array, and your "
                   f"{self._meta.get('type', 'object')} is neither")
        raise student_exception({"type": "TypeError", "message": message,
                                 "description": f"TypeError: {message}"})

    # Arithmetic, comparisons and conversions need data: a student's object that is not
    # data fails as the student's error (not as a bug of the check).
    __lt__ = __le__ = __gt__ = __ge__ = _not_data
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _not_data
    __truediv__ = __rtruediv__ = __pow__ = __neg__ = __abs__ = _not_data
    __float__ = __int__ = __index__ = __complex__ = __array__ = _not_data

    def __copy__(self) -> "Remote":
        return self

    def __deepcopy__(self, memo: dict) -> "Remote":
        return self

    def __repr__(self) -> str:
        name = self._meta.get("name") or ""
        return f"<your {self._meta.get('type', 'object')} {name}>".replace(" >", ">")

    @property
    def origin(self) -> str:
        """'module.qualname' where the object was defined ('__main__.f' for the
        notebook's own functions)."""
        return f"{self._meta.get('module') or '?'}.{self._meta.get('qualname') or '?'}"


class RemoteObject(Remote):
    __slots__ = ()


class RemoteFunction(Remote):
    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._link.call(self._id, args, kwargs)


class Link:
    """Questions to one kernel, answered before ``deadline`` (``time.monotonic()``)."""

    def __init__(self, kernel: KernelProcess, deadline: float) -> None:
        self.kernel, self.deadline = kernel, deadline
        self._local: dict[int, Callable] = {}
        self._busy = False
        self.calls = 0

    # ------------------------------------------------------------ values both ways
    def _remote(self, h: dict) -> Remote:
        hid = h.get("id")
        if isinstance(hid, bool) or not isinstance(hid, int):
            raise wire.WireError("bad handle")
        meta = {k: str(h[k])[:200] for k in ("type", "module", "qualname", "name")
                if isinstance(h.get(k), str)}
        return (RemoteFunction if h.get("callable") is True else RemoteObject)(
            self, hid, meta)

    def _fallback(self, x: Any) -> dict:
        if isinstance(x, Remote):
            if x._link is not self:
                raise wire.WireError("an object of another notebook")
            return {"remote": {"id": x._id}}
        if callable(x):
            cid = len(self._local) + 1
            self._local[cid] = x
            return {"local": cid}
        raise wire.WireError(f"a check cannot pass a {type(x).__name__} to the "
                             f"student's code (only data, functions and their objects)")

    def encode(self, x: Any) -> Any:
        return wire.encode(x, self._fallback)

    def decode(self, data: Any) -> Any:
        return wire.decode(data, on_remote=self._remote, max_bytes=MAX_REPLY)

    # ------------------------------------------------------------ the exchange
    def _answer_callback(self, prompt: str) -> str:
        """The kernel asks to run one of the check's own functions."""
        if not prompt.startswith(PROMPT) or len(prompt) > MAX_REPLY:
            return ""
        try:
            req = json.loads(prompt[len(PROMPT):])
            fn = self._local[req["cb"]]
            args = self.decode(req.get("args"))
            kwargs = self.decode(req.get("kwargs"))
            if not isinstance(args, list) or not isinstance(kwargs, dict) or \
                    not all(isinstance(k, str) for k in kwargs):
                raise wire.WireError("bad arguments")
        except Exception as exc:
            return json.dumps({"raised": {"type": "ValueError",
                                          "message": f"bad call of a check's function: "
                                                     f"{exc}"[:300]}})
        try:
            value = fn(*args, **kwargs)
            return json.dumps({"value": wire.encode(value, self._fallback)},
                              allow_nan=True)
        except Exception as exc:  # e.g. the student passed it a wrongly shaped array
            return json.dumps({"raised": {"type": type(exc).__name__,
                                          "message": str(exc)[:2000]}})

    def request(self, req: dict) -> Any:
        """Send ``req`` and return the decoded ``value`` of the answer (or raise what
        the student's code raised)."""
        return self._value(self._exchange(req))

    def _value(self, answer: dict) -> Any:
        try:
            return self.decode(answer.get("value"))
        except wire.WireError as exc:
            raise student_exception({
                "type": "ValueError", "message": str(exc),
                "description": f"ValueError: your code returned a value that the grader "
                               f"cannot read back ({exc})"}) from None

    def _exchange(self, req: dict) -> dict:
        if self._busy:
            raise RuntimeError("a check's own function called the student's code; checks "
                               "must not do that (see the rules in cnnlib.checks)")
        nonce = secrets.token_hex(8)
        code = (f"__import__('cnnlib.grade.kernel_side', fromlist=['serve'])"
                f".serve({json.dumps({**req, 'nonce': nonce}, allow_nan=True)!r})")
        answers: list[str] = []

        def keep(msg: dict) -> None:
            data = msg.get("content", {}).get("data")
            if msg.get("msg_type") == "display_data" and isinstance(data, dict) and \
                    isinstance(data.get(MIME), str):
                answers.append(data[MIME])

        self._busy = True
        self.calls += 1
        try:
            run = self.kernel.execute(code, self.deadline, silent=True, allow_stdin=True,
                                      on_input=self._answer_callback, on_output=keep)
        finally:
            self._busy = False
            self._local.clear()
        if run.status == "timeout":
            raise OutOfTime()
        if run.status == "died":
            raise KernelGone()
        for text in reversed(answers):
            try:
                answer = json.loads(text) if len(text) <= MAX_REPLY else None
            except ValueError:
                continue
            if isinstance(answer, dict) and answer.get("nonce") == nonce:
                break
        else:
            why = f": {run.error[0]}: {run.error[1]}" if run.error else ""
            raise student_exception({
                "type": "RuntimeError", "message": "no answer",
                "description": f"RuntimeError: the kernel did not answer the grader{why} "
                               f"(did the notebook change Python or IPython itself?)"})
        if "raised" in answer:
            raise student_exception(answer["raised"])
        return answer

    # ------------------------------------------------------------ the questions
    def bind(self, args: list[str], kwargs: dict[str, str]) -> tuple[list, dict]:
        """Evaluate the sources of a check call's arguments in the kernel: values,
        stand-ins, or :class:`Unbound` for those that raised."""
        answer = self._exchange({"op": "bind", "args": args, "kwargs": kwargs})
        values = answer.get("values")
        sources = [*args, *kwargs.values()]
        if not isinstance(values, list) or len(values) != len(sources):
            raise student_exception({"type": "RuntimeError", "message": "bad answer",
                                     "description": "RuntimeError: the kernel answered "
                                                    "the grader with nonsense"})
        out = []
        for source, item in zip(sources, values):
            item = item if isinstance(item, dict) else {}
            if "raised" in item:
                out.append(Unbound(source, student_exception(item["raised"])))
                continue
            try:
                out.append(self.decode(item.get("value")))
            except wire.WireError as exc:
                out.append(Unbound(source, student_exception({
                    "type": "ValueError", "message": str(exc),
                    "description": f"ValueError: {source} cannot be read by the grader "
                                   f"({exc})"})))
        return out[:len(args)], dict(zip(kwargs, out[len(args):]))

    def call(self, target: int, args: tuple, kwargs: dict) -> Any:
        """Call a remote function; write in-place changes back into ``args``."""
        answer = self._exchange({"op": "call", "target": target,
                                 "args": self.encode(list(args)),
                                 "kwargs": self.encode(dict(kwargs))})
        for w in (answer.get("warnings") or [])[:20]:
            if isinstance(w, dict):
                warnings.warn(str(w.get("message"))[:500],
                              RuntimeWarning if w.get("runtime") is True else UserWarning,
                              stacklevel=2)
        for item in (answer.get("changed") or [])[:1000]:
            try:
                path, value = item
                _write_back(args, kwargs, path, self.decode(value))
            except (TypeError, ValueError, KeyError, IndexError):
                continue  # a malformed change: the copies simply stay as they were
        return self._value(answer)

    def release(self) -> None:
        self._exchange({"op": "release"})


def _write_back(args: tuple, kwargs: dict, path: list, value: Any) -> None:
    """Copy an array that the student's code changed in place into the check's copy."""
    if not isinstance(path, list) or not path or path[0] not in ("a", "k"):
        raise ValueError("bad path")
    target: Any = args if path[0] == "a" else kwargs
    for step in path[1:]:
        if isinstance(target, (list, tuple)) and isinstance(step, int) and \
                not isinstance(step, bool):
            target = target[step]
        elif isinstance(target, dict) and isinstance(step, str):
            target = target[step]
        else:
            raise ValueError("bad path")
    if isinstance(target, np.ndarray) and isinstance(value, np.ndarray) and \
            target.shape == value.shape and target.flags.writeable:
        np.copyto(target, value, casting="unsafe")
