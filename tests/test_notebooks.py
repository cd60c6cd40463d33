"""Every notebook (book/, lectures/, solutions/, exercises/) runs top to bottom in a fresh
kernel: every code cell runs, and none raises except cells tagged ``raises-exception``
(the exercise stubs and the cells after them). A failure shows the cell, its source and
its traceback.

The notebooks are run by tools/execute.py, the executor of the book build: a notebook
whose identical execution (same notebook, same cnnlib modules it imports, same package
versions) already succeeded is served from the build's cache, _build/.cache, after
checking that copy again; the summary at the end says which notebooks were executed and
which were served from the cache. `--fresh-notebooks` executes every one again.
Without a cache (a fresh clone) every notebook is executed here. For a cell-by-cell
report of one notebook, nbval still works:
`pytest --nbval-lax --nbval-current-env book/03_one_vs_rest.ipynb`.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import execute  # noqa: E402

FOLDERS = ("book", "lectures", "solutions", "exercises")
NOTEBOOKS = sorted(p for folder in FOLDERS for p in (REPO / folder).glob("[0-9][0-9]_*.ipynb"))
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]
# Markers nbval honours that the executor would not: keep them out of the notebooks.
NBVAL_ONLY = re.compile(r"^\s*#\s*(NBVAL_SKIP|NBVAL_RAISES_EXCEPTION|NBVAL_CHECK_OUTPUT)\b",
                        re.MULTILINE)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_runs_without_unexpected_errors(notebook, request, record_property):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    outcome = execute.run_notebook(
        notebook, timeout=180, force=request.config.getoption("fresh_notebooks"),
        threads=max(1, (os.cpu_count() or 2) // workers))
    record_property("notebook", outcome.summary())
    print(outcome.summary())
    if outcome.error:
        pytest.fail(f"{IDS[NOTEBOOKS.index(notebook)]}, {outcome.error}", pytrace=False)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=IDS)
def test_notebook_uses_only_markers_the_executor_honours(notebook):
    nb = nbformat.read(notebook, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        assert not tags & {"nbval-skip", "nbval-raises-exception", "nbval-check-output"}, (
            f"cell {index}: nbval-only tag; use raises-exception (honoured by the executor "
            "and by nbval) or skip-execution")
        assert not NBVAL_ONLY.search(cell.source), (
            f"cell {index}: an NBVAL_ comment marker; use a cell tag instead")
