"""exercises/ must be exactly what tools/make_exercises.py makes of solutions/, and every
registered check must be called by its chapter's solution notebook (or the grader would
report it MISSING for every student)."""
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from cnnlib.checks import exercises_for_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


def test_exercises_are_up_to_date(capsys):
    # The same as `python tools/make_exercises.py --check`, in this process.
    spec = importlib.util.spec_from_file_location("make_exercises",
                                                  ROOT / "tools" / "make_exercises.py")
    make_exercises = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_exercises)
    code = make_exercises.main(["--check"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_solution_notebook_has_regions_and_calls_its_checks(path):
    nb = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "### BEGIN SOLUTION" in code, f"{path.name} has no solution region"
    for info in exercises_for_notebook(path):
        assert re.search(rf"\b{re.escape(info.function)}\s*\(", code), \
            f"{path.name} never calls {info.function} (exercise {info.id})"
        assert re.search(rf"Exercise {re.escape(info.id)}\b", markdown), \
            f"{path.name} has no heading for exercise {info.id}"
