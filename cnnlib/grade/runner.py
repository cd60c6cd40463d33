"""Grading a folder: find the notebooks, read them all, grade each in a worker, collect.

The grader's own process never runs a student's code and never takes a verdict from a
kernel. It reads every submitted file *before* the first kernel starts (a notebook that
overwrites a classmate's file changes nothing), gives each notebook to a worker process
of its own (``worker.py``: a new session, killed with everything below it when the
notebook is done or its time is up), keeps the verdicts each worker reports as soon as
it has them, and sweeps up any process that a kernel detached (the grader is a
subreaper, so orphans come back to it). Results stay in memory; the caller writes the
grade files once every student process is gone.

A notebook whose run may have been disturbed by another one running at the same time
(its kernel killed by a signal, stopped from outside, its worker lost) is graded again
on its own at the end.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnlib.checks import chapter_of_notebook, exercises_for_notebook
from cnnlib.grade import procs
from cnnlib.grade.results import ExerciseResult, NotebookResult, Submission

__all__ = ["find_submissions", "grade", "GradeRun", "MAX_NOTEBOOK_BYTES"]

#: Larger files are not run (a notebook of exercises is well under a megabyte).
MAX_NOTEBOOK_BYTES = 50 << 20
#: Seconds a worker may take beyond the notebook's time limit (its kernel's start-up,
#: tidying up) before the grader kills it.
STARTUP_GRACE = 120.0
END_GRACE = 30.0

# The worker's command: an isolated interpreter (no PYTHON* variables, no user site)
# that takes the grader's import path from the job.
_BOOT = ("import json, sys\n"
         "job = json.loads(sys.stdin.buffer.read())\n"
         "sys.path[:0] = job['path']\n"
         "from cnnlib.grade.worker import main\n"
         "main(job)\n")


@dataclass
class GradeRun:
    """The results of a grading run, its seed, and the executed notebooks by name."""
    results: list[NotebookResult]
    seed: int
    executed: dict[str, str] = field(default_factory=dict)


def find_submissions(root: Path) -> list[Submission]:
    """Every notebook under ``root`` with its student and chapter: ``alice/01_x.ipynb``
    and ``alice_01_x.ipynb`` are both Alice's chapter 1; hidden folders (such as
    ``.ipynb_checkpoints``) are skipped."""
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts):
            continue
        m = re.match(r"^(?P<student>.*?)[_\-.](?P<nn>\d{2})_", path.name)
        if len(rel.parts) > 1:
            student = rel.parts[0]
        elif m and m["student"]:
            student = m["student"]
        else:
            student = path.stem
        found.append(Submission(path, student, chapter_of_notebook(path.name)))
    return found


def _notebook_seed(run_seed: int, notebook: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{run_seed}:{notebook}".encode()).digest()[:8],
                          "big") >> 1


class _Grader:
    def __init__(self, root: Path, timeout: float, jobs: int, package: str,
                 want_executed: bool, progress: bool, user: tuple[int, int] | None,
                 seed: int) -> None:
        self.root, self.timeout, self.jobs, self.package = root, timeout, jobs, package
        self.want_executed, self.progress, self.user, self.seed = \
            want_executed, progress, user, seed
        self.workers: set[int] = set()
        self.before = set(procs.children(os.getpid()))  # not ours to sweep
        self.executed: dict[str, str] = {}
        self.path = [os.path.abspath(p) for p in sys.path if p]
        self.spawning = asyncio.Lock()  # a sweep must not catch a worker being born

    # ------------------------------------------------------------ one notebook
    def _job(self, sub: Submission, rel: str, source: str, workdir: str) -> dict:
        return {"path": self.path, "source": source, "name": sub.path.name,
                "workdir": workdir,
                "notebook": rel, "student": sub.student, "chapter": sub.chapter,
                "package": self.package, "timeout": self.timeout,
                "seed": _notebook_seed(self.seed, rel), "user": self.user,
                "threads": max(1, (os.cpu_count() or 1) // self.jobs),
                "executed": self.want_executed}

    async def _worker(self, job: dict) -> tuple[dict | None, list[dict], str, bool]:
        """Run one worker: (its result, the verdicts it reported, why it was lost,
        whether its time ran out)."""
        err = tempfile.TemporaryFile()
        async with self.spawning:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-I", "-c", _BOOT, stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=err, start_new_session=True,
                limit=256 << 20)
            self.workers.add(proc.pid)
        streamed: list[dict] = []
        result, kernel, out_of_time = None, None, False
        try:
            proc.stdin.write(json.dumps(job).encode())
            await proc.stdin.drain()
            proc.stdin.close()
            deadline = time.monotonic() + STARTUP_GRACE
            while result is None:
                try:
                    line = await asyncio.wait_for(proc.stdout.readline(),
                                                  max(0.1, deadline - time.monotonic()))
                except asyncio.TimeoutError:
                    out_of_time = True
                    break
                except ValueError:  # a line over the limit: not the worker's
                    break
                if not line:
                    break
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                kind = message.get("kind")
                if kind == "kernel" and kernel is None:
                    kernel = message.get("pid")
                    deadline = time.monotonic() + self.timeout + END_GRACE
                elif kind == "exercise":
                    streamed.append(message)
                elif kind == "result":
                    result = message
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # not waited for yet: still its own
            except (ProcessLookupError, PermissionError):
                pass
            if result is None and isinstance(kernel, int) and kernel > 1:
                procs.kill_group(kernel)  # the worker is gone: its kernel's group too
            await proc.wait()
            self.workers.discard(proc.pid)
            async with self.spawning:
                self.sweep()
            err.seek(0)
            tail = err.read()[-300:].decode("utf-8", "replace").strip()
            err.close()
        why = "" if result else (
            f"the grader stopped its worker after {self.timeout:g} s" if out_of_time else
            f"its worker ended ({procs.exit_text(proc.returncode)})"
            + (f": {tail}" if tail and proc.returncode and proc.returncode > 0 else ""))
        return result, streamed, why, out_of_time

    def sweep(self) -> None:
        """Kill every process re-parented to the grader that is not a running worker."""
        procs.kill_tree(os.getpid(), include_root=False,
                        spare=self.workers | self.before)

    async def grade_one(self, sub: Submission, source: str | None, error: str
                        ) -> NotebookResult:
        rel = sub.path.relative_to(self.root).as_posix()
        res = NotebookResult(sub.student, rel, sub.chapter)
        start = time.monotonic()
        try:
            expected = exercises_for_notebook(sub.path.name, self.package) \
                if sub.chapter is not None else []
        except Exception as exc:
            res.run, res.error = "error", f"cannot load the checks: {exc}"[:500]
            return res
        if sub.chapter is None:
            res.run, res.error = "skipped", "no chapter number (NN_) in the file name"
            return res
        if not expected:
            res.run = "skipped"
            res.error = f"no checks registered for chapter {sub.chapter:02d}"
            return res
        if source is None:
            res.run, res.error = "unreadable", error
            res.exercises = [ExerciseResult(i.id, i.title, "ERROR", error) for i in expected]
            return res
        # The grader owns the kernel's folder: it goes even if the worker is killed.
        workdir = tempfile.mkdtemp(prefix="grade-")
        try:
            result, streamed, why, out_of_time = await self._worker(
                self._job(sub, rel, source, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if result is not None:
            res = NotebookResult.from_dict(result["result"])
            if result.get("executed"):
                self.executed[rel] = result["executed"]
            return res
        # The worker is gone: keep the verdicts it reported, the rest did not happen.
        done = {m["id"]: ExerciseResult(**{k: m[k] for k in ExerciseResult.__dataclass_fields__
                                           if k in m}) for m in streamed}
        res.run = "timeout" if out_of_time else "error"
        res.error = f"the grading of this notebook stopped: {why}"
        res.disturbed = not out_of_time
        res.exercises = [done.get(i.id) or ExerciseResult(
            i.id, i.title, "TIMEOUT" if out_of_time else "ERROR", res.error)
            for i in expected]
        res.seconds = round(time.monotonic() - start, 1)
        return res

    # ------------------------------------------------------------ all of them
    async def run(self, subs: list[Submission], sources: list[tuple[str | None, str]]
                  ) -> list[NotebookResult]:
        limit = asyncio.Semaphore(self.jobs)
        done = 0

        async def one(sub: Submission, source: str | None, error: str) -> NotebookResult:
            nonlocal done
            async with limit:
                res = await self.grade_one(sub, source, error)
            done += 1
            self._show(f"[{done}/{len(subs)}]", res)
            return res

        results = list(await asyncio.gather(*(one(s, *src) for s, src in zip(subs, sources))))
        if self.jobs > 1 and len(subs) > 1:
            for i, res in enumerate(results):
                if res.disturbed:  # perhaps by another notebook: once more, alone
                    again = await self.grade_one(subs[i], *sources[i])
                    again.notes.append("graded again on its own: its first run ended "
                                       "early while other notebooks ran")
                    results[i] = again
                    self._show("[again]", again)
        return results

    def _show(self, prefix: str, res: NotebookResult) -> None:
        if self.progress:
            what = res.score + " passed" if res.exercises else ""
            what = what if res.run == "ok" else f"{res.run} {what}".strip()
            print(f"{prefix} {res.notebook}: {what} ({res.seconds:g} s)",
                  file=sys.stderr, flush=True)


def _read(path: Path) -> tuple[str | None, str]:
    """The file's text, or None and why not."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as exc:
        return None, f"not a readable notebook: {exc}"
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, f"not a readable notebook: larger than {MAX_NOTEBOOK_BYTES >> 20} MB"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        return None, f"not a readable notebook: {exc}"


def grade(root: Path, timeout: float = 120, jobs: int = 1,
          package: str = "cnnlib.checks", want_executed: bool = False,
          progress: bool = True, user: tuple[int, int] | None = None,
          seed: int | None = None) -> GradeRun:
    """Grade every notebook under ``root``, ``jobs`` at a time, each under ``timeout``
    seconds, its kernel run as ``user`` (uid, gid) if given. ``seed`` (default: drawn
    afresh) seeds the checks' random cases."""
    root = Path(root)
    subs = find_submissions(root)
    sources = [_read(s.path) for s in subs]  # all of them before any student code runs
    seed = secrets.randbits(62) if seed is None else int(seed)
    grader = _Grader(root, timeout, max(1, jobs), package, want_executed, progress,
                     user, seed)
    hardened = procs.harden()
    reaping = procs.set_subreaper()
    try:
        results = asyncio.run(grader.run(subs, sources))
    finally:
        grader.sweep()
        if reaping:
            procs.set_subreaper(False)
        if hardened:
            procs.harden(False)
    return GradeRun(results, seed, grader.executed)
