"""The grader on the book's own exercise notebooks: every solution notebook gets full
marks, every exercise notebook (the answers removed) gets none. One run of the command
grades them all (two at a time)."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnlib.checks import exercises_for_notebook

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted(p.name for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    subs = tmp_path_factory.mktemp("submissions")
    for folder in ("solutions", "exercises"):
        (subs / folder).mkdir()
        for name in CHAPTERS:
            shutil.copy(ROOT / folder / name, subs / folder / name)
    out = tmp_path_factory.mktemp("report") / "grades.json"
    proc = subprocess.run([sys.executable, "-m", "cnnlib.grade", str(subs), "--jobs", "2",
                           "--timeout", "300", "--json", str(out)],
                          env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr
    return {nb["notebook"]: nb for nb in json.loads(out.read_text())["notebooks"]}


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_solutions_get_full_marks(grades, name):
    result = grades[f"solutions/{name}"]
    expected = [info.id for info in exercises_for_notebook(name)]
    assert [e["id"] for e in result["exercises"]] == expected
    failed = [f"{e['id']}: {e['detail']}" for e in result["exercises"] if e["status"] != "PASS"]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_exercises_get_no_marks(grades, name):
    result = grades[f"exercises/{name}"]
    assert result["run"] == "ok", result["error"]
    assert result["exercises"] and all(e["status"] == "FAIL" for e in result["exercises"])
