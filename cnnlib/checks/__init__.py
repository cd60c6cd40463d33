"""Checks that students run on their exercise solutions, and that the grader runs again.

A check tries the student's code on several cases and prints a specific, friendly
verdict: which case failed, what was expected and what came back, the likely mistake, a
hint. It never raises and never shows a traceback from inside the checker.

The same check runs in two places. In the student's notebook it gets the student's own
objects and prints its verdict at once. Under the grader (``python -m cnnlib.grade``)
it runs in the grader's process, never in the student's kernel: the objects named in
the check call are *remote*, calling them runs the student's code in the kernel and
returns the result as plain data, and the grader draws the random cases afresh for each
grading run (see :func:`check_rng`). So a notebook cannot change a verdict; it can only
answer the questions it is asked.

Writing the checks of a chapter
-------------------------------
The checks of chapter N live in ``cnnlib/checks/chNN.py`` (``ch01.py``, ``ch02.py``, ...)
and belong to the notebooks ``solutions/NN_*.ipynb`` and ``exercises/NN_*.ipynb``.
Exercise ids are ``"N.k"``. A check is a function decorated with :func:`exercise`
that returns :func:`check_function` (compare a student's function with reference
values on a list of :class:`Case`) or :func:`verdict` (judge an experiment by a
condition)::

    import numpy as np
    from cnnlib.checks import Case, check_function, check_rng, exercise, verdict

    @exercise("1.1", "The sigmoid")
    def check_sigmoid(sigmoid):
        from cnnlib.functional import sigmoid as reference   # import the reference here
        rng = check_rng(0)               # the same cases in the notebook, fresh ones when graded
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

Rules for check authors (so that the grader can run the check)
---------------------------------------------------------------
1. Draw random inputs from ``check_rng(seed)``, not ``np.random.default_rng(seed)``: in
   the notebook it is ``default_rng(seed)`` (the student sees the same cases every
   time); under the grader it mixes in a seed drawn for the grading run, so answers
   cannot be looked up from the cases in this source.
2. Treat the student's objects as black boxes that you call, index (``obj[i]``,
   ``len(obj)``), iterate over (``for p in model.parameters()``) or read attributes of
   (``model.predict(X)``, ``model.state_dict()``). Under the grader what
   comes back is plain data: ``None``, bools, numbers, strings, NumPy arrays and
   scalars, PyTorch tensors (detached, on the CPU) and tuples, lists and dicts of these;
   anything else comes back as another remote object. Do not ask ``isinstance``,
   ``type`` or ``inspect`` about a student's *function or object* (it is a stand-in),
   do not rely on its identity, and do not expect autograd to flow back into it. An
   argument that is itself data (a number, an array, a list of arrays) arrives as data,
   so ``isinstance`` checks on it are fine.
3. Arguments you pass to the student's code must be data as above, the student's own
   objects, or functions of yours (``f`` in ``numerical_gradient(f, theta)``): these
   run in the grader when the student's code calls them, and must not call the
   student's code themselves. Arrays that the student's code changes in place are
   changed in your copy too, so "the input must be left unchanged" can be checked.
4. Keep every check deterministic given ``check_rng`` and fast (the whole notebook,
   checks included, runs under one time limit when graded).

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
so it runs cleanly in the student version too. The grader recognises a check call as a
statement of its own at the top level of a cell, calling the check by its own name
(``check_sigmoid(...)``, not an alias); it evaluates the arguments in the student's
kernel at that point of the notebook.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from cnnlib.checks._compare import compare, short
from cnnlib.checks._errors import (CHECK_FILES, StudentException, checker_bug_text,
                                   describe_exception, is_student_error,
                                   not_implemented_text)
from cnnlib.checks._registry import (_CHECKS, ExerciseInfo, chapter_of_notebook,
                                     exercises_for_module, exercises_for_notebook,
                                     register, validate_id)

__all__ = ["Case", "Verdict", "CheckResult", "ExerciseInfo", "exercise", "check_function",
           "verdict", "check_rng", "exercises_for_module", "exercises_for_notebook",
           "chapter_of_notebook", "run_check", "grading_seed", "StudentException"]


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


#: Ids of the exercises whose checks are running now (innermost last).
_RUNNING: list[str] = []


# ---------------------------------------------------------------- random cases
_RUN_SEED: int | None = None


def check_rng(seed: int) -> np.random.Generator:
    """The random generator a check draws its cases from.

    In a notebook: ``np.random.default_rng(seed)``, so a student sees the same cases
    every time they run the check. Under the grader: a generator seeded by ``seed`` and
    the grading run's own seed, so every grading run draws fresh cases.
    """
    if _RUN_SEED is None:
        return np.random.default_rng(seed)
    return np.random.default_rng([_RUN_SEED, seed])


@contextlib.contextmanager
def grading_seed(seed: int | None) -> Iterator[None]:
    """Within this block :func:`check_rng` mixes ``seed`` into every generator (the
    grader draws ``seed`` afresh for each run)."""
    global _RUN_SEED
    old, _RUN_SEED = _RUN_SEED, seed
    try:
        yield
    finally:
        _RUN_SEED = old


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
    the likely mistake, the hint) and names the other failing ones.
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
                return Verdict("not_implemented",
                               not_implemented_text(exc, _RUNNING[-1] if _RUNNING else None),
                               0, len(cases))
            status, msg, notes = "error", f"it raised {describe_exception(exc)}", []
        except Exception as exc:  # the reference, the comparison or a Case is broken
            return Verdict("checker_error", checker_bug_text(exc))
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
def _headline(exercise_id: str, title: str, v: Verdict) -> str:
    icon = {"pass": "✅", "fail": "❌", "error": "❌", "not_implemented": "⏳",
            "checker_error": "⚠️"}[v.status]
    return f"{icon} Exercise {exercise_id} ({title}): {v.detail}".rstrip(": ")


def _run_check(check: Callable[..., Any], exercise_id: str, args: tuple,
               kwargs: dict) -> Verdict:
    """Run a check body, turning whatever it raises into a Verdict. (BaseExceptions
    that are not SystemExit, such as the grader's own time limit, pass through.)"""
    CHECK_FILES.append(check.__code__.co_filename)
    _RUNNING.append(exercise_id)
    try:
        try:
            inspect.signature(check).bind(*args, **kwargs)
        except TypeError as exc:
            return Verdict("fail", f"call it as {check.__name__}"
                                   f"{inspect.signature(check)}: {exc}")
        v = check(*args, **kwargs)
        if isinstance(v, (bool, np.bool_)):
            v = verdict(bool(v), "")
        if not isinstance(v, Verdict):
            raise TypeError(f"{check.__qualname__} returned {type(v).__name__}, "
                            f"not a Verdict")
        return v
    except (Exception, SystemExit) as exc:
        if isinstance(exc, NotImplementedError):
            return Verdict("not_implemented", not_implemented_text(exc, exercise_id))
        if is_student_error(exc):
            return Verdict("error", f"your code raised {describe_exception(exc)}")
        return Verdict("checker_error", checker_bug_text(exc))
    finally:
        CHECK_FILES.pop()
        _RUNNING.pop()


def run_check(info: ExerciseInfo, args: tuple, kwargs: dict) -> tuple[Verdict, str]:
    """Run the check of ``info`` on ``args``/``kwargs`` without printing: the verdict and
    the text a student reads. Used by the grader; never raises an ``Exception``."""
    check = _CHECKS[(info.module, info.id)]
    v = _run_check(check, info.id, args, kwargs)
    return v, _headline(info.id, info.title, v)


def exercise(exercise_id: str, title: str
             ) -> Callable[[Callable[..., Any]], Callable[..., CheckResult]]:
    """Register a check for exercise ``exercise_id`` ("N.k"); the wrapped check prints
    its verdict and returns a :class:`CheckResult`, true when the exercise passed. It
    never raises."""
    validate_id(exercise_id)

    def decorate(check: Callable[..., Any]) -> Callable[..., CheckResult]:
        register(exercise_id, title, check)

        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> CheckResult:
            v = _run_check(check, exercise_id, args, kwargs)
            print(_headline(exercise_id, title, v), flush=True)
            return CheckResult(v.passed)

        run.exercise_id = exercise_id  # type: ignore[attr-defined]
        run.title = title  # type: ignore[attr-defined]
        return run

    return decorate
