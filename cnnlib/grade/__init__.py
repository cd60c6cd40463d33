"""Grade a folder of submitted exercise notebooks.

    python -m cnnlib.grade SUBMISSIONS [--timeout 120] [--jobs N] [--csv grades.csv]
                           [--json grades.json] [--executed DIR] [--seed N] [--user NAME]
                           [--checks-package cnnlib.checks]

Every notebook found under SUBMISSIONS is run top to bottom in a fresh Python kernel of
this environment, and its chapter's checks (those registered in ``cnnlib.checks.chNN``)
are run where the notebook calls them. Prints a table, student by exercise:

    PASS     the check passed
    FAIL     the check ran and failed (wrong values, an exception, not implemented)
    MISSING  the check never ran (a cell failed before it, an argument was undefined,
             or the check call was deleted)
    TIMEOUT  the notebook ran out of time before this check was done
    ERROR    the notebook could not be read or run (bad JSON, the kernel died), or the
             check itself has a bug

Naming: the chapter comes from the two digits before the first underscore of the file
name, the student from the folder or from the part of the name before those digits:
``alice/01_logistic_regression.ipynb`` and ``alice_01_logistic_regression.ipynb`` are
both Alice's chapter 1. Notebooks in hidden folders (``.ipynb_checkpoints``) are skipped.

How a notebook cannot fool it
-----------------------------
* Verdicts are computed in the grader's processes, never in the student's kernel. The
  check calls of a notebook (``check_sigmoid(sigmoid)``) are not run in the kernel: the
  grader evaluates their arguments there, then runs its own copy of the check with the
  values (data) or stand-ins (functions, objects) of those arguments. Calling a
  stand-in runs the student's code in the kernel and returns its result as plain data
  (JSON and ``.npy`` without pickles, sizes checked), which the grader compares with the
  references it computes itself. Random cases are drawn from a seed made afresh for
  every run (``--seed`` repeats one). Whatever a notebook prints, redefines or patches
  in its kernel changes only its own answers.
* Every file is read before the first kernel starts; each notebook runs from that
  private copy, in an empty temporary folder with its own home, a small environment and
  its own process group and session, under one time limit for the whole notebook (its
  cells and its checks), driven by a worker process of its own (``worker.py``).
* When a notebook is done, or out of time, its kernel's process group and every process
  below its worker is killed; the workers and the grader are subreapers, so processes a
  kernel detached (double fork, ``setsid``) come back to them and are killed too.
* Results are kept in memory; the CSV and JSON files are written once, atomically,
  after every student process is gone. A kernel that kills its parent kills only its
  own worker: the grader keeps the verdicts that worker had reported, and every other
  notebook's. A notebook whose run may have been disturbed by another running at the
  same time is graded again on its own.
* On Linux the grader and its workers are non-dumpable: code running as the same
  (non-root) user cannot read their memory, environment or file descriptors.

What remains without ``--user``: the students' code runs as the same Unix user as the
grader, so it can read and change any file that user can (the installed library and
its checks included, and the other submissions), and can signal (kill) any of that
user's processes, the grader included, if it looks for them. With ``--user NAME``
(the grader runs as root) every kernel runs as NAME instead: keep the submissions
folder, the output files and the Python installation not writable by NAME (and the
submissions not readable). Kernels still share that user with each other; ``--jobs 1``
runs one at a time. For a hard boundary run the whole grader in a container or virtual
machine (see the README).

The exit code is 0 once grading is done, whatever the students scored; 2 for bad
arguments.
"""
from __future__ import annotations

from typing import Any

__all__ = ["main", "grade", "find_submissions", "GradeRun", "Submission",
           "ExerciseResult", "NotebookResult", "format_table"]

_WHERE = {"grade": "runner", "find_submissions": "runner", "GradeRun": "runner",
          "Submission": "results", "ExerciseResult": "results",
          "NotebookResult": "results", "format_table": "report"}


def main(argv: list[str] | None = None) -> int:
    """The command line; see the module doc."""
    from cnnlib.grade.cli import main as cli_main
    return cli_main(argv)


def __getattr__(name: str) -> Any:
    # Lazy, so that the kernel-side helper (cnnlib.grade.kernel_side) imports nothing
    # of the grader's.
    if name in _WHERE:
        import importlib
        return getattr(importlib.import_module(f"cnnlib.grade.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'cnnlib.grade' has no attribute {name!r}")
