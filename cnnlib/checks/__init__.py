"""Checks that students run on their exercise solutions.

A check tries the student's code on several cases and prints a specific, friendly
verdict: which case failed, what was expected and what came back, a hint. It never
raises and never shows a traceback from inside the checker. It also leaves a
machine-readable record that ``python -m cnnlib.grade`` collects (see ``_record.py``).

Writing the checks of a chapter
-------------------------------
The checks of chapter N live in ``cnnlib/checks/chNN.py`` (``ch01.py``, ``ch02.py``, ...)
and belong to the notebooks ``solutions/NN_*.ipynb`` and ``exercises/NN_*.ipynb``.
Exercise ids are ``"N.k"``. A check is a function decorated with :func:`exercise`
that returns :func:`check_function` (compare a student's function with reference
values on a list of :class:`Case`) or :func:`verdict` (judge an experiment by a
condition)::

    import numpy as np
    from cnnlib.checks import Case, check_function, exercise, verdict

    @exercise("1.1", "The sigmoid")
    def check_sigmoid(sigmoid):
        from cnnlib.functional import sigmoid as reference   # import the reference here
        rng = np.random.default_rng(0)                       # seeded: same cases each run
        return check_function(sigmoid, [
            Case("z = 0", (np.array(0.0),), expected=0.5),
            Case("random vector", (rng.normal(size=7),), expected=reference),
            Case("large negative z", (np.array([-1000.0, -30.0]),), expected=reference,
                 hint="np.exp(-z) overflows for z = -1000; compute it from exp(z) there"),
        ])

    @exercise("1.4", "Training reaches 90 % accuracy")
    def check_accuracy(model, X_test, y_test):
        acc = float(np.mean(model.predict(X_test) == y_test))
        return verdict(acc >= 0.9, f"test accuracy {acc:.1%} (at least 90 % needed)")

- ``Case.expected`` is a value, or a callable that receives the same arguments and
  returns the reference (a cnnlib or PyTorch call; ``import torch`` inside the check,
  never at the top of the module, so that importing a check module stays light).
  Results are compared with ``np.isclose(got, expected, rtol, atol)`` after checking the
  shape; tuples, lists and dicts are compared item by item; PyTorch tensors are turned
  into arrays. ``expected=None`` only checks that the call succeeds; ``check=`` takes a
  function of the student's result that returns ``None`` or a message saying what is
  wrong. ``allow_warnings=False`` fails a case in which NumPy warns (overflow, ...).
- Every call gets fresh deep copies of the arguments, so a function that changes its
  input in place cannot spoil the next case (a note says that it did).
- To check two functions in one exercise: ``v = check_function(f, cases_f)``, then
  ``return v if not v.passed else check_function(g, cases_g)``.
- Exceptions are sorted for you: ``NotImplementedError`` means "not implemented yet";
  an exception raised in the student's code is shown with the line of their code where
  it happened; an exception anywhere else is reported as a bug in the checker.

Writing the solution notebook
-----------------------------
Each exercise is a markdown cell with the task, a code cell with the answer between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (indented like the code around them),
then a code cell that calls the check::

    ### Exercise 1.1 — The sigmoid            (markdown cell)
    Write `sigmoid(z)` ...

    def sigmoid(z):                            (code cell)
        ### BEGIN SOLUTION
        return 1 / (1 + np.exp(-z))
        ### END SOLUTION

    from cnnlib.checks.ch01 import check_sigmoid   (code cell: only the check call)
    check_sigmoid(sigmoid)

``tools/make_exercises.py`` turns the region into ``raise NotImplementedError(...)`` for
the student version. Keep the check cell to imports and check calls whose arguments
are plain names defined before it (a function, or a variable set before the region),
so it runs cleanly in the student version too.
"""
from __future__ import annotations

import copy
import functools
import importlib
import inspect
import linecache
import os
import re
import sys
import sysconfig
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import numpy as np

from cnnlib.checks._compare import compare, short
from cnnlib.checks._record import MIME, emit

__all__ = ["Case", "Verdict", "CheckResult", "ExerciseInfo", "exercise", "check_function",
           "verdict", "exercises_for_module", "exercises_for_notebook",
           "chapter_of_notebook", "MIME"]

NOT_IMPLEMENTED = ("not implemented yet — replace the `raise NotImplementedError` "
                   "line with your code")


@dataclass
class Case:
    """One trial of a student's function: ``student_fn(*args, **kwargs)`` against
    ``expected`` (a value, or a callable taking the same arguments)."""
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expected: Any = None
    hint: str = ""
    rtol: float = 1e-6
    atol: float = 1e-8
    check: Callable[[Any], str | None] | None = None
    allow_warnings: bool = True


@dataclass
class Verdict:
    """What a check found. ``status`` is one of ``pass``, ``fail``, ``not_implemented``,
    ``error`` (the student's code raised) or ``checker_error`` (a bug in the check)."""
    status: str
    detail: str = ""
    cases_passed: int | None = None
    cases_total: int | None = None

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def __bool__(self) -> bool:
        return self.passed


class CheckResult(int):
    """What a check returns: 1 (passed) or 0, shown as ``True``/``False``.

    It behaves like a bool (``assert check_x(f)``, ``check_x(f) == True``) but, as the
    last line of a cell, does not add an ``Out[n]: False`` under the verdict.
    """

    def __repr__(self) -> str:
        return repr(bool(self))

    __str__ = __repr__

    def _ipython_display_(self) -> None:
        pass  # the verdict has been shown already


class ExerciseInfo(NamedTuple):
    id: str
    title: str
    module: str
    function: str


#: Every decorated check: (module name, exercise id) -> ExerciseInfo.
_REGISTRY: dict[tuple[str, str], ExerciseInfo] = {}

# ---------------------------------------------------------------- student's frames
_CHECKS_DIR = os.path.dirname(os.path.abspath(__file__))
_CNNLIB_DIR = os.path.dirname(_CHECKS_DIR)
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) + os.sep for p in (
    _CNNLIB_DIR, sys.prefix, sys.base_prefix, sys.exec_prefix,
    *(sysconfig.get_paths().get(k, "") or sys.prefix
      for k in ("stdlib", "platstdlib", "purelib", "platlib")))}))


#: Files of the checks running now: never the student's (a check module may live
#: outside cnnlib, like the test suite's examples).
_CHECK_FILES: list[str] = []
#: Ids of the exercises whose checks are running now (innermost last).
_RUNNING: list[str] = []


def _is_student_file(filename: str) -> bool:
    if filename.startswith("<"):
        return not filename.startswith("<frozen")
    return (not os.path.abspath(filename).startswith(_LIBRARY_DIRS)
            and filename not in _CHECK_FILES)


def _where(frame: traceback.FrameSummary) -> str:
    """'line 3 of your cell' for notebook code, 'file.py, line 3' for a module."""
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


def _describe_exception(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frames = _student_frames(exc)
    if frames:
        text += f"\n    raised {_where(frames[-1])}"
    return text


def _not_implemented(exc: BaseException) -> str:
    # A stub of another exercise that this one builds on: say which.
    m = re.search(r"Exercise (\d+\.\d+[a-z]?)", str(exc))
    if m and _RUNNING and m.group(1) != _RUNNING[-1]:
        return (f"not implemented yet — this exercise uses your answer to Exercise "
                f"{m.group(1)}, which still raises NotImplementedError: "
                f"solve that one first")
    return NOT_IMPLEMENTED


def _checker_bug(exc: BaseException) -> Verdict:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {os.path.basename(frames[-1].filename)}:{frames[-1].lineno}" if frames \
        else ""
    return Verdict("checker_error",
                   f"the checker itself failed{where} with {type(exc).__name__}: {exc}. "
                   f"This is a bug in the check, not in your code; please report it.")


# ---------------------------------------------------------------- check_function
def _call_text(fn: Callable, case: Case) -> str:
    parts = [short(a) for a in case.args]
    parts += [f"{k}={short(v)}" for k, v in case.kwargs.items()]
    return f"{getattr(fn, '__name__', 'f')}({', '.join(parts)})"


def _mutated(before: Any, after: Any) -> bool:
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        return before.shape != after.shape or \
            not np.array_equal(before, after, equal_nan=before.dtype.kind in "fc")
    if isinstance(before, (tuple, list)) and isinstance(after, (tuple, list)):
        return any(_mutated(b, a) for b, a in zip(before, after))
    return False


class _StudentError(Exception):
    """Wraps an exception raised by the student's function inside check_function."""


def _run_case(student_fn: Callable, case: Case) -> tuple[str | None, list[str]]:
    """(None, notes) if the case passes, else (message, notes). Raises _StudentError
    (the student's code raised) or any other exception (the checker is broken)."""
    expected = case.expected
    if callable(expected):
        expected = expected(*copy.deepcopy(case.args), **copy.deepcopy(case.kwargs))
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = student_fn(*args, **kwargs)
        except Exception as exc:
            raise _StudentError() from exc
    notes = []
    numpy_warnings = sorted({str(w.message) for w in caught
                             if issubclass(w.category, RuntimeWarning)})
    if numpy_warnings:
        if not case.allow_warnings:
            return f"NumPy warned: {'; '.join(numpy_warnings)}", notes
        notes.append(f"note: NumPy warned: {'; '.join(numpy_warnings)}")
    if _mutated(case.args, args) or _mutated(list(case.kwargs.values()),
                                             list(kwargs.values())):
        notes.append("note: your function changed its input array in place")
    msg = compare(got, expected, case.rtol, case.atol) if case.expected is not None \
        else None
    if msg is None and case.check is not None:
        msg = case.check(got)
    return msg, notes


def check_function(student_fn: Callable, cases: list[Case]) -> Verdict:
    """Run ``student_fn`` on every case and compare with the expected values.

    The verdict details the first failing case (its name, the call, expected and got,
    the hint) and names the other failing ones.
    """
    if not callable(student_fn):
        return Verdict("fail", f"this check wants your function itself (its name "
                               f"without parentheses), not the value "
                               f"{short(student_fn)} of type {type(student_fn).__name__}")
    first, failed, all_notes, passed = None, [], [], 0
    for case in cases:
        status = "fail"
        try:
            msg, notes = _run_case(student_fn, case)
        except _StudentError as wrapped:
            exc = wrapped.__cause__
            if isinstance(exc, NotImplementedError):
                return Verdict("not_implemented", _not_implemented(exc), 0, len(cases))
            status, msg, notes = "error", f"it raised {_describe_exception(exc)}", []
        except Exception as exc:  # the reference, the comparison or a Case is broken
            return _checker_bug(exc)
        if msg is None:
            passed += 1
            all_notes += [f"{n} (case '{case.name}')" for n in notes]
            continue
        failed.append(case.name)
        if first is None:
            first = (case, status, "\n".join([msg, *notes]))
    if first is None:
        detail = f"all {len(cases)} cases passed" if len(cases) != 1 else "the case passed"
        return Verdict("pass", "\n".join([detail, *all_notes]), passed, len(cases))
    case, status, msg = first
    lines = [f"case '{case.name}' failed ({passed} of {len(cases)} cases passed)",
             f"    call: {_call_text(student_fn, case)}",
             "    " + msg.replace("\n", "\n    ")]
    if case.hint:
        lines.append(f"    Hint: {case.hint}")
    if len(failed) > 1:
        lines.append("    Also failing: " + ", ".join(f"'{n}'" for n in failed[1:]))
    return Verdict(status, "\n".join(lines), passed, len(cases))


def verdict(passed: bool, detail: str = "") -> Verdict:
    """The verdict of an experiment judged by a condition (``passed``), with a sentence
    that says what was measured against what was needed."""
    return Verdict("pass" if passed else "fail", detail)


# ---------------------------------------------------------------- the decorator
_ID = re.compile(r"^(\d+)\.(\d+)[a-z]?$")


def _id_key(exercise_id: str) -> tuple:
    m = _ID.match(exercise_id)
    return (int(m.group(1)), int(m.group(2)), exercise_id) if m else (10**9, 0, exercise_id)


def _headline(exercise_id: str, title: str, v: Verdict) -> str:
    icon = {"pass": "✅", "fail": "❌", "error": "❌", "not_implemented": "⏳",
            "checker_error": "⚠️"}[v.status]
    return f"{icon} Exercise {exercise_id} ({title}): {v.detail}".rstrip(": ")


def _targets(args: tuple, kwargs: dict) -> list[str]:
    """Where the functions handed to a check were defined ('__main__.sigmoid' for a
    notebook's own), so the grader can flag library functions passed off as answers."""
    out = []
    for a in [*args, *kwargs.values()]:
        if callable(a) and hasattr(a, "__name__"):
            out.append(f"{getattr(a, '__module__', None) or '?'}.{a.__qualname__}"
                       if hasattr(a, "__qualname__") else str(a.__name__))
    return out


def exercise(exercise_id: str, title: str
             ) -> Callable[[Callable[..., Any]], Callable[..., CheckResult]]:
    """Register a check for exercise ``exercise_id`` ("N.k"); the wrapped check prints
    its verdict, leaves a record for the grader and returns a :class:`CheckResult`,
    true when the exercise passed. It never raises."""
    if not isinstance(exercise_id, str) or not _ID.match(exercise_id):
        raise ValueError(f"exercise_id must look like '1.2', got {exercise_id!r}")

    def decorate(check: Callable[..., Any]) -> Callable[..., CheckResult]:
        module = check.__module__
        m = re.search(r"(?:^|\.)ch(\d+)$", module)
        if m and int(m.group(1)) != int(exercise_id.split(".")[0]):
            raise ValueError(f"exercise {exercise_id} is registered in {module}, which "
                             f"belongs to chapter {int(m.group(1))}")
        key = (module, exercise_id)
        old = _REGISTRY.get(key)
        if old is not None and old.function != check.__qualname__:
            raise ValueError(f"exercise {exercise_id} is registered twice in {module}: "
                             f"{old.function} and {check.__qualname__}")
        _REGISTRY[key] = ExerciseInfo(exercise_id, title, module, check.__qualname__)

        signature = inspect.signature(check)

        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            _CHECK_FILES.append(check.__code__.co_filename)
            _RUNNING.append(exercise_id)
            try:
                signature.bind(*args, **kwargs)
            except TypeError as exc:
                v = Verdict("fail", f"call it as {check.__name__}{signature}: {exc}")
            else:
                v = _run_check(check, args, kwargs)
            finally:
                _CHECK_FILES.pop()
                _RUNNING.pop()
            text = _headline(exercise_id, title, v)
            record = {"v": 1, "exercise": exercise_id, "title": title, "module": module,
                      "status": v.status, "cases_passed": v.cases_passed,
                      "cases_total": v.cases_total, "summary": text.splitlines()[0][:300],
                      "text": text[:2000], "targets": _targets(args, kwargs)}
            try:
                emit(text, record)
            except Exception:  # printing must not fail a student's cell either
                print(text)
            return CheckResult(v.passed)

        run.exercise_id = exercise_id  # type: ignore[attr-defined]
        run.title = title  # type: ignore[attr-defined]
        return run

    return decorate


def _run_check(check: Callable[..., Any], args: tuple, kwargs: dict) -> Verdict:
    """Run a check body, turning whatever it raises into a Verdict."""
    try:
        v = check(*args, **kwargs)
        if isinstance(v, (bool, np.bool_)):
            v = verdict(bool(v), "")
        if not isinstance(v, Verdict):
            raise TypeError(f"{check.__qualname__} returned {type(v).__name__}, "
                            f"not a Verdict")
        return v
    except (Exception, SystemExit) as exc:
        if isinstance(exc, NotImplementedError):
            return Verdict("not_implemented", _not_implemented(exc))
        if _student_frames(exc):
            return Verdict("error", f"your code raised {_describe_exception(exc)}")
        return _checker_bug(exc)


# ---------------------------------------------------------------- the registry
def exercises_for_module(module: str) -> list[ExerciseInfo]:
    """The exercises registered by ``module`` (imported here), in id order."""
    importlib.import_module(module)
    found = [info for (mod, _), info in _REGISTRY.items() if mod == module]
    return sorted(found, key=lambda info: _id_key(info.id))


def chapter_of_notebook(path: str | os.PathLike) -> int | None:
    """The chapter number from a notebook's name: ``01_logistic.ipynb`` -> 1; also
    with a student's prefix, ``alice_01_logistic.ipynb`` -> 1. None if there is none."""
    m = re.match(r"^(?:.*?[_\-.])?(\d{2})_.*\.ipynb$", os.path.basename(os.fspath(path)))
    return int(m.group(1)) if m else None


def exercises_for_notebook(path: str | os.PathLike,
                           package: str = "cnnlib.checks") -> list[ExerciseInfo]:
    """The exercises a notebook ``NN_*.ipynb`` must pass: those of ``package.chNN``.
    Empty when the name has no chapter number or the chapter has no check module."""
    chapter = chapter_of_notebook(path)
    if chapter is None:
        return []
    module = f"{package}.ch{chapter:02d}"
    try:
        return exercises_for_module(module)
    except ModuleNotFoundError as exc:
        if exc.name in (module, package):
            return []
        raise

