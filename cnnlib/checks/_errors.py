"""Telling the student's exceptions from the checker's, and describing them kindly.

Private helpers of :mod:`cnnlib.checks`. An exception raised while a check runs is one of
three things: the student's code is not written yet (``NotImplementedError``), the
student's code raised (show the error and the line of *their* code), or the check itself
is broken (say so: it is not the student's fault).

Under the grader the student's code runs in another process (the notebook's kernel);
what it raised comes back as a :class:`StudentException`, which carries the description
made where the traceback was.
"""
from __future__ import annotations

import linecache
import os
import re
import sys
import sysconfig
import traceback

__all__ = ["StudentException", "describe_exception", "is_student_error",
           "not_implemented_text", "checker_bug_text", "NOT_IMPLEMENTED"]

NOT_IMPLEMENTED = ("not implemented yet — replace the `raise NotImplementedError` "
                   "line with your code")

_CHECKS_DIR = os.path.dirname(os.path.abspath(__file__))
_CNNLIB_DIR = os.path.dirname(_CHECKS_DIR)
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for p in (
    _CNNLIB_DIR, sys.prefix, sys.base_prefix, sys.exec_prefix,
    *(sysconfig.get_paths().get(k, "") or sys.prefix
      for k in ("stdlib", "platstdlib", "purelib", "platlib")))}))

#: Files of the checks running now: never the student's (a check module may live
#: outside cnnlib, like the test suite's examples).
CHECK_FILES: list[str] = []


class StudentException(Exception):
    """Mixed into the exceptions that the student's code raised in another process.

    ``description`` is "Type: message\\n    raised in f(), line 3 of the cell: code",
    made in the process that saw the traceback. The grader builds each one as a subclass
    of the builtin of the same name too, so ``except ValueError`` still catches it.
    """

    description: str = ""


def _is_student_file(filename: str) -> bool:
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    return (not os.path.abspath(filename).startswith(_LIBRARY_DIRS)
            and filename not in CHECK_FILES)


def _where(frame: traceback.FrameSummary) -> str:
    """'line 3 of the cell' for notebook code, 'file.py, line 3' for a module."""
    name = frame.filename
    in_cell = "ipykernel_" in name or name.startswith("<ipython-input")
    place = f"line {frame.lineno} of the cell" if in_cell else \
        f"{os.path.basename(name)}, line {frame.lineno}"
    if frame.name not in ("<module>", "<lambda>"):
        place = f"in {frame.name}(), {place}"
    code = (frame.line or linecache.getline(name, frame.lineno or 0)).strip()
    return f"{place}: {code}" if code else place


def _student_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if _is_student_file(f.filename)]


def is_student_error(exc: BaseException) -> bool:
    """True if ``exc`` was raised in the student's code (here or in their kernel)."""
    return isinstance(exc, StudentException) or bool(_student_frames(exc))


def describe_exception(exc: BaseException) -> str:
    """'ZeroDivisionError: division by zero' and the last line of the student's code on
    the way, 'raised in norm(), line 3 of the cell: return total / 0'."""
    if isinstance(exc, StudentException):
        return exc.description
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = _student_frames(exc)
    if frames:
        text += f"\n    raised {_where(frames[-1])}"
    return text


def not_implemented_text(exc: BaseException, running: str | None) -> str:
    """'not implemented yet', naming the earlier exercise when the stub that raised
    belongs to another one than ``running``."""
    m = re.search(r"Exercise (\d+\.\d+[a-z]?)", str(exc))
    if m and running and m.group(1) != running:
        return (f"not implemented yet — this exercise uses your answer to Exercise "
                f"{m.group(1)}, which still raises NotImplementedError: "
                f"solve that one first")
    return NOT_IMPLEMENTED


def checker_bug_text(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames \
        else ""
    return (f"the checker itself failed{where} with {type(exc).__name__}: {exc}. "
            f"This is a bug in the check, not in your code; please report it.")
