#!/usr/bin/env python
"""Execute each notebook once: the executor and cache that `make book` and `make test`
share.

    python tools/execute.py book/03_one_vs_rest.ipynb   # execute it, or reuse its copy
    python tools/execute.py --force lectures/*.ipynb    # execute again, in fresh kernels
    python tools/execute.py --explain book/03_one_vs_rest.ipynb   # what its key holds

Executed copies live in _build/.cache/FOLDER/NAME.KEY.ipynb, where KEY hashes what the
execution depends on (tools/notebook_deps.py): the notebook, the source of the cnnlib
modules it imports (transitively), their data files, the versions of the installed
packages it reaches, Python's version and CACHE_VERSION below. A copy is only stored
after a run in which every code cell ran and none raised (except cells tagged
``raises-exception``, as in the exercise notebooks); it is checked again each time it is
served. The book build and the test suite both go through :func:`run_notebook`, under a
lock per notebook, so a notebook that one of them executed is not executed again by the
other.

Each run is a fresh kernel of this Python (cnnlib._kernel), started in the notebook's
folder, drawing figures inline, with this repository first on its PYTHONPATH; the
kernel's own log goes to _build/.cache/FOLDER/NAME.kernel.log.
"""
from __future__ import annotations

import argparse
import concurrent.futures as futures
import datetime
import json
import multiprocessing
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# This checkout's tools and cnnlib (whose source the cache keys hash), before any other.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from notebook_deps import dependency_key, notebook_dependencies  # noqa: E402

# jsonschema (which nbformat uses to validate notebooks) imports rfc3987_syntax when it is
# installed, which compiles a grammar for seconds at every start; only the "iri" string
# format needs it, and no notebook uses that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / "_build" / ".cache"
# Bump to invalidate every cached execution (after changing how notebooks run).
CACHE_VERSION = "2"
METADATA = "execution_cache"   # the record an executed copy keeps in its metadata
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass
class Outcome:
    """How a notebook got its executed copy."""
    notebook: Path
    executed: Path | None        # the copy in the cache; None when the run failed
    cached: bool                 # served from the cache (checked), not executed now
    seconds: float               # of the execution that made the copy
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        name = f"{self.notebook.parent.name}/{self.notebook.name}"
        if self.error:
            text = f"FAILED   {name} after {self.seconds:.1f} s"
        elif self.cached:
            text = f"cached   {name} (executed earlier in {self.seconds:.1f} s; every code cell ran, no unexpected error)"
        else:
            text = f"executed {name} in {self.seconds:.1f} s"
        return text + "".join(f"\n         note: {note}" for note in self.notes)


def strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def notebook_key(notebook: Path, repo: Path = REPO) -> str:
    return dependency_key(notebook_dependencies(notebook, repo), CACHE_VERSION)


def cache_file(cache: Path, notebook: Path, key: str) -> Path:
    return cache / notebook.parent.name / f"{notebook.stem}.{key[:20]}.ipynb"


def _allows_error(cell) -> bool:
    return "raises-exception" in cell.metadata.get("tags", [])


def _runs(cell) -> bool:
    """Whether nbclient executes this cell (code, not blank, not tagged skip-execution)."""
    return cell.cell_type == "code" and bool(cell.source.strip()) and \
        "skip-execution" not in cell.metadata.get("tags", [])


def problems(nb) -> list[str]:
    """What is wrong with an executed notebook: a code cell that did not run, or raised
    without the ``raises-exception`` tag. Empty when all is well."""
    found, last = [], 0
    for index, cell in enumerate(nb.cells):
        if not _runs(cell):
            continue
        count = cell.get("execution_count")
        if not isinstance(count, int) or count <= last:
            found.append(f"cell {index} did not run (execution count {count!r})")
            continue
        last = count
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and not _allows_error(cell):
                trace = strip_ansi("\n".join(out.get("traceback", [])))
                found.append(f"cell {index} raised {out.get('ename')}: "
                             f"{out.get('evalue')}\n{cell.source}\n{trace}")
    return found


def kernel_env(repo: Path, threads: int | None) -> dict[str, str]:
    env = dict(os.environ)
    # Figures inline even when the caller draws off-screen (the test suite sets Agg).
    env.pop("MPLBACKEND", None)
    # The kernel imports the cnnlib whose source the key hashed.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), env.get("PYTHONPATH")) if p)
    if threads:  # kernels side by side should not each claim every core
        for var in THREAD_VARIABLES:
            env.setdefault(var, str(threads))
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiets debugpy at start-up
    return env


def _describe(exc: BaseException, log: Path) -> str:
    """The error of a run, for a person: which cell, what it said (nbclient includes the
    cell's source and traceback), and the kernel's log when the kernel itself failed."""
    where = getattr(exc, "cell_index", None)
    head = f"cell {where}: " if where is not None and where >= 0 else ""
    text = strip_ansi(str(exc)).strip()
    name = type(exc).__name__
    if name not in ("CellExecutionError", "CellTimeoutError", "KernelStallError"):
        tail = log.read_text(errors="replace")[-1500:].strip() if log.is_file() else ""
        if tail:
            text += f"\n--- the kernel's log ({log.name}) ends with:\n{tail}"
    return f"{head}{name}: {text}"


def _execute(notebook: Path, repo: Path, timeout: float, threads: int | None,
             log: Path, notes: list[str]):
    """One notebook in a fresh kernel: (executed nb or None, error text or None).
    A stalled kernel (cnnlib._kernel.KernelStallError) gets one more try."""
    import nbformat

    from cnnlib._kernel import KernelStallError, execute_notebook

    for attempt in (1, 2):
        nb = nbformat.read(notebook, as_version=4)
        log.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(log, "w") as kernel_log:
                client = execute_notebook(nb, cwd=notebook.parent, timeout=timeout,
                                          env=kernel_env(repo, threads),
                                          kernel_log=kernel_log, store_widget_state=True)
        except KernelStallError as exc:
            notes.append(f"attempt {attempt}: the kernel stalled ({exc})")
            if attempt == 1:
                continue
            return None, _describe(exc, log)
        except Exception as exc:  # a cell that raised or ran too long, a dead kernel
            return None, _describe(exc, log)
        if client.late_finds:
            notes.append(f"{client.late_finds} kernel message(s) arrived without waking "
                         "the client (recovered within a second each)")
        return nb, None
    raise AssertionError("unreachable")


def run_notebook(notebook: Path, cache: Path = DEFAULT_CACHE, repo: Path = REPO,
                 timeout: float = 180, force: bool = False,
                 threads: int | None = None) -> Outcome:
    """The executed copy of ``notebook``: from the cache when an identical execution
    succeeded before (checked again now), else executed in a fresh kernel and stored."""
    import nbformat
    from filelock import FileLock

    notebook, cache = Path(notebook).resolve(), Path(cache)
    key = notebook_key(notebook, repo)
    target = cache_file(cache, notebook, key)
    target.parent.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    # One run per notebook at a time, across processes (make book beside a test run).
    with FileLock(str(target.parent / f"{notebook.stem}.lock")):
        if target.is_file() and not force:
            nb = nbformat.read(target, as_version=4)
            record = nb.metadata.get(METADATA, {})
            wrong = problems(nb) or ([] if record.get("key") == key else ["its key differs"])
            if not wrong:
                return Outcome(notebook, target, True, record.get("seconds", 0.0))
            notes.append("the cached copy failed its check and was executed again: "
                         + wrong[0].splitlines()[0])
        start = time.perf_counter()
        nb, error = _execute(notebook, repo, timeout, threads,
                             target.parent / f"{notebook.stem}.kernel.log", notes)
        seconds = time.perf_counter() - start
        if error is None and (wrong := problems(nb)):
            error = "the run left problems:\n" + "\n".join(wrong)
        if error is not None:
            return Outcome(notebook, None, False, seconds, error, notes)
        nb.metadata[METADATA] = {"key": key, "seconds": round(seconds, 1),
                                 "date": datetime.datetime.now().isoformat(timespec="seconds")}
        tmp = target.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(target)
        for old in target.parent.glob(f"{notebook.stem}.*.ipynb"):  # older versions
            if old != target:
                old.unlink(missing_ok=True)
        return Outcome(notebook, target, False, seconds, None, notes)


def _run_in_worker(notebook: str, cache: str, repo: str, timeout: float, force: bool,
                   threads: int | None) -> Outcome:
    return run_notebook(Path(notebook), Path(cache), Path(repo), timeout, force, threads)


def execute_all(notebooks: list[Path], cache: Path, repo: Path = REPO, jobs: int = 2,
                timeout: float = 180, force: bool = False) -> dict[Path, Path]:
    """The executed copy of every notebook, ``jobs`` at a time, each in a fresh worker
    process (a forked one would share this process's ZeroMQ state). Raises the build's
    BuildError listing every notebook that failed."""
    from offline_assets import BuildError, say

    threads = max(1, (os.cpu_count() or 2) // jobs)
    say(f"Executing {len(notebooks)} notebook(s), {jobs} at a time, each unless an "
        "identical execution is cached ...")
    outcomes: list[Outcome] = []
    context = multiprocessing.get_context("spawn")
    with futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        runs = [pool.submit(_run_in_worker, str(nb), str(cache), str(repo), timeout, force,
                            threads) for nb in notebooks]
        try:
            for run in futures.as_completed(runs):
                outcome = run.result()
                outcomes.append(outcome)
                say(f"  {outcome.summary()}")
        except KeyboardInterrupt:  # Ctrl-C: start no further notebook
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    executed = sum(1 for o in outcomes if not o.cached and not o.error)
    say(f"{executed} notebook(s) executed, {sum(o.cached for o in outcomes)} from the cache")
    failures = [o for o in outcomes if o.error]
    if failures:
        report = "\n\n".join(f"--- {o.notebook.parent.name}/{o.notebook.name} ---\n{o.error}"
                             for o in failures)
        raise BuildError(f"{len(failures)} notebook(s) failed to execute:\n\n{report}")
    return {o.notebook: o.executed for o in outcomes}


def explain(notebook: Path, repo: Path = REPO) -> str:
    parts = notebook_dependencies(notebook.resolve(), repo)
    lines = [f"{notebook}: key {dependency_key(parts, CACHE_VERSION)[:20]}",
             f"  cnnlib modules ({len(parts['modules'])}): " + ", ".join(parts["modules"]),
             f"  data files: {', '.join(parts['data']) or 'none'}",
             f"  package versions: {len(parts['packages'])} distributions, e.g. " +
             ", ".join(f"{k} {v}" for k, v in list(parts["packages"].items())[:6])]
    if parts["unresolved_dynamic_imports"]:
        lines.append("  not followed: " + "; ".join(parts["unresolved_dynamic_imports"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="cache folder (default: _build/.cache, the book's)")
    parser.add_argument("--timeout", type=float, default=180, help="seconds per cell")
    parser.add_argument("--force", action="store_true", help="execute even when cached")
    parser.add_argument("--explain", action="store_true",
                        help="print what each notebook's cache key is made of; run nothing")
    args = parser.parse_args(argv)
    if args.explain:
        print("\n".join(explain(nb) for nb in args.notebooks))
        return 0
    status = 0
    for nb in args.notebooks:
        outcome = run_notebook(nb, args.cache, timeout=args.timeout, force=args.force)
        print(outcome.summary() + (f"\n{outcome.error}" if outcome.error else ""), flush=True)
        status |= outcome.error is not None
    return status


if __name__ == "__main__":
    sys.exit(main())
