"""One notebook, graded in a process of its own: the *worker*.

The grader starts one worker per notebook (``python -I -c ...``, fed a job as JSON on
stdin) in a session of its own. The worker

1. reads the notebook from the job (the grader read every file before any student code
   ran) and finds its steps: the student's code and the check calls (``plan.py``);
2. starts a kernel in a private folder (``kernel.py``), which is the worker's child, and
   from then on counts one time limit for the whole notebook;
3. runs the student's code in the kernel, cell after cell, and each check itself, here,
   with the values or stand-ins of the check's arguments (``remote.py``) and cases drawn
   from this run's seed;
4. kills the kernel, its process group and anything it left behind (the worker is a
   subreaper: detached processes come back to it), then reports.

It reports on its original stdout, one JSON line at a time: ``{"kind": "kernel"}`` once
the kernel is up, ``{"kind": "exercise", ...}`` as soon as a verdict is known (so a worker
killed half-way still leaves the verdicts it reached), and ``{"kind": "result", ...}``.
Anything else printed goes to stderr. The worker makes itself non-dumpable, so a kernel
of the same (non-root) user cannot read or write its memory or file descriptors.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict
from typing import Any, Callable

from cnnlib.checks import (ExerciseInfo, StudentException, exercises_for_notebook,
                           grading_seed, run_check)
from cnnlib.grade import procs
from cnnlib.grade.kernel import KernelProcess, KernelStartError, kernel_env
from cnnlib.grade.plan import CheckStep, plan
from cnnlib.grade.remote import KernelGone, Link, OutOfTime, Remote, Unbound
from cnnlib.grade.results import ExerciseResult, NotebookResult

__all__ = ["grade_notebook", "main", "OUTPUT_LIMIT"]

#: Output kept per notebook (characters); a notebook printing without end is cut here.
OUTPUT_LIMIT = 2_000_000
_LIBRARY_MODULES = re.compile(r"^(cnnlib|torch|numpy|scipy|sklearn)(\.|$)")
_STATUS = {"pass": "PASS", "checker_error": "ERROR"}  # everything else: FAIL


def _read_notebook(text: str) -> dict:
    """A version 4 notebook as a dict, its code cells' outputs cleared. (Plain JSON: the
    grader does not need nbformat's schema validation, which takes seconds to import.)"""
    nb = json.loads(text)
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or \
            not isinstance(nb.get("cells"), list):
        raise ValueError("not a version 4 notebook")
    for cell in nb["cells"]:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise ValueError("a cell that is not a cell")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            raise ValueError("a cell whose source is not text")
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return nb


def _output(msg: dict) -> dict | None:
    """The notebook output of an IOPub message (as nbformat writes it)."""
    kind, content = msg.get("msg_type"), msg.get("content") or {}
    if kind == "stream":
        return {"output_type": "stream", "name": str(content.get("name", "stdout")),
                "text": str(content.get("text", ""))}
    if kind in ("display_data", "execute_result") and isinstance(content.get("data"), dict):
        out = {"output_type": kind, "data": content["data"],
               "metadata": content.get("metadata") or {}}
        if kind == "execute_result":
            out["execution_count"] = content.get("execution_count")
        return out
    if kind == "error":
        return {"output_type": "error", "ename": str(content.get("ename", "")),
                "evalue": str(content.get("evalue", "")),
                "traceback": [str(t) for t in content.get("traceback") or []]}
    return None


class _Outputs:
    """Outputs of the student's cells, for the executed copy, up to OUTPUT_LIMIT."""

    def __init__(self, cells: list) -> None:
        self.cells, self.kept, self.dropped, self.forged = cells, 0, 0, 0

    def collector(self, index: int) -> Callable[[dict], None]:
        def keep(msg: dict) -> None:
            out = _output(msg)
            if out is None:
                return
            data, text = out.get("data", {}), out.get("text", "")
            if any(str(k).startswith("application/vnd.cnnlib") for k in data) or \
                    "cnnlib-check-record" in text:
                self.forged += 1
            size = len(json.dumps(out, default=str))
            if self.kept + size > OUTPUT_LIMIT:
                self.dropped += 1
                return
            self.kept += size
            self.cells[index]["outputs"].append(out)
        return keep

    def verdict(self, index: int, text: str) -> None:
        self.cells[index]["outputs"].append(
            {"output_type": "display_data", "data": {"text/plain": text}, "metadata": {}})


def _final(expected: list[ExerciseInfo], outcome: dict[str, Any],
           cell_errors: list[tuple[int, str, str]], run: str, error: str
           ) -> list[ExerciseResult]:
    """Every exercise the chapter has, from what happened to its check."""
    first_error = (f"cell {cell_errors[0][0]} raised {cell_errors[0][1]}: "
                   f"{cell_errors[0][2]}" if cell_errors else "")
    results = []
    for info in expected:
        got = outcome.get(info.id)
        if isinstance(got, ExerciseResult):
            results.append(got)
            continue
        stub = next((f"cell {cell} raised NotImplementedError: {evalue}"
                     for cell, ename, evalue in cell_errors
                     if ename == "NotImplementedError"
                     and re.match(rf"Exercise {re.escape(info.id)}\b", evalue)), None)
        if stub is not None:  # a top-level stub: its check had nothing to check
            results.append(ExerciseResult(info.id, info.title, "FAIL",
                                          f"not implemented yet ({stub})"))
        elif isinstance(got, str):  # the check was reached, an argument was undefined
            results.append(ExerciseResult(info.id, info.title, "MISSING",
                                          f"the check could not run: {got}"))
        elif run == "timeout":
            results.append(ExerciseResult(info.id, info.title, "TIMEOUT", error))
        elif run == "ok":
            detail = "the check did not run" + (f" (first error: {first_error})"
                                                if first_error else "")
            results.append(ExerciseResult(info.id, info.title, "MISSING", detail))
        else:
            results.append(ExerciseResult(info.id, info.title, "ERROR", error))
    return results


def _check(info: ExerciseInfo, step: CheckStep, link: Link, seed: int,
           notes: list[str]) -> ExerciseResult | str:
    """Run the check of ``step`` here, on the values of its arguments in the kernel:
    its result, or a sentence saying which argument could not be evaluated."""
    try:
        args, kwargs = link.bind(step.args, step.kwargs)
    except StudentException as exc:  # the kernel would not answer
        return ExerciseResult(info.id, info.title, "FAIL",
                              f"❌ Exercise {info.id} ({info.title}): {exc.description}")
    values = [*args, *kwargs.values()]
    missing = [a for a in values if isinstance(a, Unbound)]
    if missing:
        return f"{missing[0].source}: {missing[0].exc.description}"
    with grading_seed(seed):
        v, text = run_check(info, tuple(args), kwargs)
    try:
        link.release()
    except StudentException:
        pass
    for a in values:
        if isinstance(a, Remote) and _LIBRARY_MODULES.match(a.origin):
            notes.append(f"exercise {info.id} was checked on {a.origin}, a library "
                         f"function")
    return ExerciseResult(info.id, info.title, _STATUS.get(v.status, "FAIL"), text[:1000],
                          v.cases_passed, v.cases_total)


def grade_notebook(job: dict, send: Callable[[dict], None]
                   ) -> tuple[NotebookResult, str | None]:
    """Grade the notebook of ``job``; ``send`` passes reports to the grader. Returns the
    result and, if the job asks for it, the executed notebook (with the grader's
    verdicts as the outputs of the check cells)."""
    start = time.monotonic()
    res = NotebookResult(job["student"], job["notebook"], job["chapter"])
    expected = exercises_for_notebook(job["name"], job["package"])
    if not expected:
        res.run = "skipped"
        res.error = f"no checks registered for chapter {job['chapter']:02d}"
        return res, None
    try:
        nb = _read_notebook(job["source"])
        steps = plan(nb["cells"], {info.function for info in expected})
    except Exception as exc:
        res.run = "unreadable"
        res.error = f"not a readable notebook: {type(exc).__name__}: {exc}"[:500]
        res.exercises = _final(expected, {}, [], "error", res.error)
        return res, None
    checks = {info.function: info for info in expected}
    outputs = _Outputs(nb["cells"])
    outcome: dict[str, Any] = {}
    cell_errors: list[tuple[int, str, str]] = []
    workdir = job["workdir"]  # made (and removed) by the grader
    kernel = KernelProcess(workdir, kernel_env(workdir, job.get("threads", 1)),
                           tuple(job["user"]) if job.get("user") else None)
    timeout = float(job["timeout"])
    try:
        try:
            kernel.start()
        except KernelStartError as exc:
            res.run, res.error = "error", f"the kernel did not start: {exc}"[:600]
            res.exercises = _final(expected, {}, [], res.run, res.error)
            return res, None
        send({"kind": "kernel", "pid": kernel.pid})
        deadline = time.monotonic() + timeout
        link = Link(kernel, deadline)
        for step in steps:
            if isinstance(step, CheckStep):
                info = checks[step.function]
                try:
                    found = _check(info, step, link, job["seed"], res.notes)
                except OutOfTime:
                    res.run = "timeout"
                    res.error = (f"stopped after {timeout:g} s while the check in cell "
                                 f"{step.cell} was running")
                    break
                except KernelGone:
                    res.run = "error"
                    res.error = f"the kernel died in cell {step.cell} (during the check)"
                    break
                outcome[info.id] = found
                if isinstance(found, ExerciseResult):
                    outputs.verdict(step.cell, found.detail)
                    send({"kind": "exercise", **asdict(found)})
                else:
                    outputs.verdict(step.cell, f"Exercise {info.id}: the check could not "
                                               f"run: {found}")
                continue
            run = kernel.execute(step.source, deadline, on_output=outputs.collector(step.cell))
            if run.error is not None:
                cell_errors.append((step.cell, *run.error))
            if run.status == "timeout":
                res.run = "timeout"
                res.error = f"stopped after {timeout:g} s while cell {step.cell} was running"
                break
            if run.status == "died":
                res.run = "error"
                res.error = f"the kernel died in cell {step.cell}"
                break
    except Exception as exc:  # a bug of the grader's: this notebook's run is an error
        res.run, res.error = "error", f"grader error: {type(exc).__name__}: {exc}"[:500]
    finally:
        code = kernel.exited()
        kernel.kill()
        procs.kill_tree(os.getpid(), include_root=False)  # whatever it detached
        res.seconds = round(time.monotonic() - start, 1)
    # Signs that another process disturbed the run: the grader may run it again alone.
    res.disturbed = (res.run == "error" and code is not None and code < 0) or \
        bool(kernel.resumed)
    if res.run == "error" and code is not None and code < 0:
        res.notes.append(f"the kernel was {procs.exit_text(code)}")
    if kernel.resumed:
        res.notes.append(f"the kernel was stopped from outside {kernel.resumed} time(s) "
                         f"and continued")
    if outputs.forged:
        res.notes.append(f"the notebook showed {outputs.forged} check result(s) of its own; "
                         f"only the grader's own verdicts count")
    if outputs.dropped:
        res.notes.append(f"output cut after {OUTPUT_LIMIT:,} characters")
    res.exercises = _final(expected, outcome, cell_errors, res.run, res.error)
    res.cell_errors = [f"cell {c}: {n}: {v}" for c, n, v in cell_errors[:20]]
    res.notes = list(dict.fromkeys(res.notes))
    executed = json.dumps(nb, indent=1, ensure_ascii=False) + "\n" \
        if job.get("executed") else None
    return res, executed


def main(job: dict) -> None:
    """Grade ``job`` (see the grader's runner) and report on the original stdout."""
    report = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # anything else printed must not mix with the reports
    procs.harden()
    procs.set_subreaper()

    def send(message: dict) -> None:
        report.write(json.dumps(message, ensure_ascii=True) + "\n")
        report.flush()

    try:
        res, executed = grade_notebook(job, send)
    except BaseException as exc:  # a bug here: report it rather than vanish
        res = NotebookResult(job.get("student", "?"), job.get("notebook", "?"),
                             job.get("chapter"), run="error",
                             error=f"grader error: {type(exc).__name__}: {exc}"[:500])
        executed = None
    send({"kind": "result", "result": asdict(res), "executed": executed})
    report.close()
