"""Grade a folder of submitted exercise notebooks.

    python -m cnnlib.grade SUBMISSIONS [--timeout 120] [--jobs N]
                           [--csv grades.csv] [--json grades.json] [--executed DIR]

Every notebook found under SUBMISSIONS is executed top to bottom in a fresh Python
kernel of this environment, in an empty temporary folder, with a wall-clock limit
(``--timeout`` seconds for the whole notebook; a notebook that runs longer is stopped
and its kernel killed). A cell that raises does not stop the run, so the checks below
it still count. The checks called in the notebook leave signed records
(see ``cnnlib/checks/_record.py``); the grader matches them with the exercises that the
notebook's chapter must have (those registered in ``cnnlib.checks.chNN``) and prints a
table, student by exercise:

    PASS     the check passed
    FAIL     the check ran and failed (wrong values, an exception, not implemented)
    MISSING  the notebook finished but never ran this check (a cell failed before it,
             or the check call was deleted)
    TIMEOUT  the notebook hit the time limit before this check ran
    ERROR    the notebook could not be read or run (bad JSON, the kernel died), or the
             check itself has a bug

Naming: the chapter comes from the two digits before the first underscore of the file
name, the student from the folder or from the part of the name before those digits:
``alice/01_logistic_regression.ipynb`` and ``alice_01_logistic_regression.ipynb`` are
both Alice's chapter 1. Notebooks in ``.ipynb_checkpoints`` and hidden folders are
skipped.

Records a notebook prints itself do not count: each run makes a new random key, hands
it to the kernel in an environment variable that ``cnnlib.checks`` reads and removes at
import, and accepts only records signed with it. This stops forged or copied outputs,
not a student determined to dig the key out of the running kernel; reading the
notebooks of surprising results remains the instructor's job. The record also names the
functions that were checked: a note flags a check run on a library function (such as
cnnlib's own) instead of the notebook's.

The exit code is 0 once grading is done, whatever the students scored; 2 for bad
arguments.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cnnlib.checks import ExerciseInfo, chapter_of_notebook, exercises_for_notebook
from cnnlib.checks._record import KEY_ENV, MIME, verify

__all__ = ["Submission", "ExerciseResult", "NotebookResult", "find_submissions",
           "grade", "main"]

#: Outputs kept per notebook (characters); a notebook printing without end is cut here.
OUTPUT_LIMIT = 2_000_000
_LIBRARY_MODULES = re.compile(r"^(cnnlib|torch|numpy|scipy|sklearn)(\.|$)")


@dataclass
class Submission:
    path: Path
    student: str
    chapter: int | None


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: str  # PASS, FAIL, MISSING, TIMEOUT, ERROR
    detail: str = ""
    cases_passed: int | None = None
    cases_total: int | None = None


@dataclass
class NotebookResult:
    student: str
    notebook: str
    chapter: int | None
    run: str = "ok"  # ok, timeout, error, unreadable, skipped
    error: str = ""
    seconds: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)  # "cell 5: NameError: ..."

    @property
    def score(self) -> str:
        return f"{sum(e.status == 'PASS' for e in self.exercises)}/{len(self.exercises)}"


# ---------------------------------------------------------------- finding notebooks
def find_submissions(root: Path) -> list[Submission]:
    """Every notebook under ``root`` with its student and chapter (see the module doc)."""
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue  # .ipynb_checkpoints, hidden folders
        m = re.match(r"^(?P<student>.*?)[_\-.](?P<nn>\d{2})_", path.name)
        if len(rel.parts) > 1:
            student = rel.parts[0]
        elif m and m["student"]:
            student = m["student"]
        else:
            student = path.stem
        found.append(Submission(path, student, chapter_of_notebook(path.name)))
    return found


# ---------------------------------------------------------------- running one notebook
def _kernel_manager():
    import ipykernel.kernelspec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        """Always this environment's Python, whatever the notebook's kernelspec says."""

        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def _client_class():
    from nbclient import NotebookClient

    class GradingClient(NotebookClient):
        """Collects signed check records and errors as they arrive, and stops keeping
        outputs once a notebook has printed more than OUTPUT_LIMIT characters."""

        def setup_grading(self, key: str) -> None:
            self.grading_key = key
            self.records: list[dict[str, Any]] = []
            self.rejected = 0
            self.cell_errors: list[tuple[int, str, str]] = []
            self.kept = self.dropped = 0
            self.current_cell = -1

        def output(self, outs, msg, display_id, cell_index):
            content = msg.get("content", {})
            data = content.get("data") if isinstance(content, dict) else None
            if isinstance(data, dict) and MIME in data:
                if verify(data[MIME], self.grading_key):
                    self.records.append(data[MIME])
                else:
                    self.rejected += 1
            if msg.get("msg_type") == "error":
                self.cell_errors.append((cell_index, str(content.get("ename")),
                                         str(content.get("evalue"))[:300]))
            size = len(str(content))
            if self.kept + size > OUTPUT_LIMIT:
                self.dropped += 1
                return None
            self.kept += size
            return super().output(outs, msg, display_id, cell_index)

    return GradingClient


async def _execute(nb, key: str, timeout: float, env: dict[str, str]):
    """Run ``nb`` in place; returns (client, run status, error text)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    start = time.monotonic()
    client = _client_class()(
        nb, km=_kernel_manager(), allow_errors=True, shutdown_kernel="immediate",
        timeout_func=lambda cell: max(1, int(timeout - (time.monotonic() - start) + 1)),
        startup_timeout=60, record_timing=False, store_widget_state=False,
        interrupt_on_timeout=False, raise_on_iopub_timeout=False)
    client.setup_grading(key)

    def started(cell, cell_index):
        client.current_cell = cell_index

    client.on_cell_start = started
    with tempfile.TemporaryDirectory(prefix="grade-") as workdir, \
            open(os.path.join(workdir, ".kernel-stderr"), "w+") as log:
        try:
            # The kernel's own stderr (not the notebook's, which goes to the outputs)
            # holds start-up chatter; it is shown only if the kernel fails.
            await asyncio.wait_for(client.async_execute(cwd=workdir, env=env, stderr=log),
                                   timeout + 90)
            return client, "ok", ""
        except (CellTimeoutError, asyncio.TimeoutError, TimeoutError):
            return client, "timeout", (f"stopped after {timeout:g} s while cell "
                                       f"{client.current_cell} was running")
        except DeadKernelError:
            return client, "error", f"the kernel died in cell {client.current_cell}"
        except Exception as exc:  # a kernel that does not start, a broken notebook
            log.seek(0)
            tail = log.read()[-300:].strip()
            return client, "error", (f"{type(exc).__name__}: {exc}"[:500]
                                     + (f" (kernel said: {tail})" if tail else ""))
        finally:
            km = client.km
            if km is not None and await _maybe_await(km.is_alive()):
                await _maybe_await(km.shutdown_kernel(now=True))


async def _maybe_await(value):
    return await value if asyncio.iscoroutine(value) or asyncio.isfuture(value) else value


def _judge(expected: list[ExerciseInfo], module: str, client, run: str,
           error: str) -> tuple[list[ExerciseResult], list[str]]:
    last: dict[str, dict] = {}
    notes: list[str] = []
    for rec in (client.records if client is not None else []):
        if rec.get("module") == module:
            last[rec.get("exercise")] = rec  # the last record of an exercise counts
            for target in rec.get("targets") or []:
                if _LIBRARY_MODULES.match(str(target)):
                    notes.append(f"exercise {rec.get('exercise')} was checked on "
                                 f"{target}, a library function")
    if client is not None and client.rejected:
        notes.append(f"{client.rejected} check record(s) with a bad signature ignored "
                     f"(printed by the notebook itself?)")
    if client is not None and client.dropped:
        notes.append(f"output cut after {OUTPUT_LIMIT:,} characters")
    first_error = ""
    if client is not None and client.cell_errors:
        cell, ename, evalue = client.cell_errors[0]
        first_error = f"cell {cell} raised {ename}: {evalue}"
    results = []
    for info in expected:
        rec = last.get(info.id)
        stub = next((f"cell {cell} raised NotImplementedError: {evalue}"
                     for cell, ename, evalue in (client.cell_errors if client else [])
                     if ename == "NotImplementedError"
                     and re.match(rf"Exercise {re.escape(info.id)}\b", evalue)), None)
        if rec is None and stub is not None:  # a top-level stub: its check cannot run
            results.append(ExerciseResult(info.id, info.title, "FAIL",
                                          f"not implemented yet ({stub})"))
        elif rec is not None:
            status = {"pass": "PASS", "checker_error": "ERROR"}.get(rec.get("status"),
                                                                    "FAIL")
            text = str(rec.get("text") or rec.get("summary") or "")
            results.append(ExerciseResult(info.id, info.title, status, text[:1000],
                                          rec.get("cases_passed"), rec.get("cases_total")))
        elif run == "timeout":
            results.append(ExerciseResult(info.id, info.title, "TIMEOUT", error))
        elif run == "ok":
            detail = "the check did not run" + (f" (first error: {first_error})"
                                                if first_error else "")
            results.append(ExerciseResult(info.id, info.title, "MISSING", detail))
        else:
            results.append(ExerciseResult(info.id, info.title, "ERROR", error))
    return results, list(dict.fromkeys(notes))


async def grade_one(sub: Submission, root: Path, timeout: float, key: str,
                    env: dict[str, str], package: str,
                    executed: Path | None = None) -> NotebookResult:
    """Execute one submission and judge it; never raises."""
    import nbformat

    result = NotebookResult(sub.student, sub.path.relative_to(root).as_posix(), sub.chapter)
    start = time.monotonic()
    try:
        if sub.chapter is None:
            result.run, result.error = "skipped", "no chapter number (NN_) in the file name"
            return result
        try:
            expected = exercises_for_notebook(sub.path.name, package)
        except Exception as exc:
            result.run, result.error = "error", f"cannot load the checks: {exc}"
            return result
        if not expected:
            result.run = "skipped"
            result.error = f"no checks registered for chapter {sub.chapter:02d}"
            return result
        module = expected[0].module
        try:
            nb = nbformat.read(sub.path, as_version=4)
            for cell in nb.cells:
                if cell.get("cell_type") == "code":
                    cell.outputs, cell.execution_count = [], None
        except Exception as exc:
            result.run = "unreadable"
            result.error = f"not a readable notebook: {type(exc).__name__}: {exc}"[:500]
            result.exercises, _ = _judge(expected, module, None, "error", result.error)
            return result
        client, result.run, result.error = await _execute(nb, key, timeout, env)
        result.exercises, result.notes = _judge(expected, module, client, result.run,
                                                result.error)
        result.cell_errors = [f"cell {c}: {n}: {v}" for c, n, v in client.cell_errors[:20]]
        if executed is not None:
            out = executed / result.notebook
            out.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, out)
        return result
    except Exception as exc:  # a bug here must not stop the other notebooks
        result.run, result.error = "error", f"grader error: {type(exc).__name__}: {exc}"
        return result
    finally:
        result.seconds = round(time.monotonic() - start, 1)


def _kernel_env(key: str, jobs: int) -> dict[str, str]:
    env = dict(os.environ)
    env[KEY_ENV] = key
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(var, threads)  # parallel kernels should not fight over cores
    return env


async def grade(root: Path, timeout: float = 120, jobs: int = 1,
                package: str = "cnnlib.checks", executed: Path | None = None,
                progress: bool = True) -> list[NotebookResult]:
    """Grade every notebook under ``root``, ``jobs`` at a time."""
    subs = find_submissions(root)
    key = secrets.token_hex(32)
    env = _kernel_env(key, jobs)
    limit = asyncio.Semaphore(max(1, jobs))
    done = 0

    async def one(sub: Submission) -> NotebookResult:
        nonlocal done
        async with limit:
            res = await grade_one(sub, root, timeout, key, env, package, executed)
        done += 1
        if progress:
            what = res.score + " passed" if res.exercises else ""
            what = what if res.run == "ok" else f"{res.run} {what}".strip()
            print(f"[{done}/{len(subs)}] {res.notebook}: {what} ({res.seconds:g} s)",
                  file=sys.stderr, flush=True)
        return res

    return list(await asyncio.gather(*(one(s) for s in subs)))


# ---------------------------------------------------------------- reporting
def format_table(results: list[NotebookResult]) -> str:
    """One table per chapter: a row per notebook, a column per exercise."""
    lines: list[str] = []
    chapters = sorted({r.chapter for r in results if r.exercises})
    for chapter in chapters:
        rows = [r for r in results if r.chapter == chapter and r.exercises]
        ids = list(dict.fromkeys(e.id for r in rows for e in r.exercises))
        header = ["student", "notebook", *ids, "score"]
        body = [[r.student, r.notebook,
                 *[next((e.status for e in r.exercises if e.id == i), "") for i in ids],
                 r.score] for r in rows]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
        lines.append(f"Chapter {chapter}")
        for row in [header, ["-" * w for w in widths], *body]:
            lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
        lines.append("")
    problems = [r for r in results if r.error or r.notes]
    if problems:
        lines.append("Notes")
        for r in problems:
            for text in ([r.error] if r.error else []) + r.notes:
                lines.append(f"  {r.notebook}: {text}")
    return "\n".join(lines).rstrip() + "\n"


def write_csv(results: list[NotebookResult], path: Path) -> None:
    """One row per (notebook, exercise); a notebook with no exercises gets one row."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", "notebook", "chapter", "exercise", "title", "status",
                    "cases_passed", "cases_total", "detail", "seconds"])
        for r in results:
            for e in r.exercises or [ExerciseResult("", "", r.run.upper(), r.error)]:
                w.writerow([r.student, r.notebook, r.chapter or "", e.id, e.title, e.status,
                            "" if e.cases_passed is None else e.cases_passed,
                            "" if e.cases_total is None else e.cases_total,
                            e.detail, r.seconds])


def write_json(results: list[NotebookResult], path: Path, timeout: float) -> None:
    data = {"timeout": timeout,
            "notebooks": [{**asdict(r), "score": r.score} for r in results]}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnnlib.grade",
        description="Run every submitted notebook under SUBMISSIONS and report, per "
                    "student and exercise, PASS / FAIL / MISSING / TIMEOUT / ERROR.")
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="folder of notebooks named STUDENT/NN_name.ipynb or "
                             "STUDENT_NN_name.ipynb (NN: the chapter)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="seconds allowed for each whole notebook (default 120)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks run at once (default: the number of CPUs)")
    parser.add_argument("--csv", type=Path, help="write one row per student and exercise")
    parser.add_argument("--json", type=Path, help="write everything as JSON")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="also save the executed notebooks under DIR")
    parser.add_argument("--checks-package", default="cnnlib.checks",
                        help="where the chNN check modules live (default cnnlib.checks)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.timeout <= 0 or args.jobs < 1:
        parser.error("--timeout must be positive and --jobs at least 1")
    results = asyncio.run(grade(args.submissions, args.timeout, args.jobs,
                                args.checks_package, args.executed))
    if not results:
        print(f"no notebooks found under {args.submissions}")
    else:
        print(format_table(results), end="")
    if args.csv:
        write_csv(results, args.csv)
    if args.json:
        write_json(results, args.json, args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
