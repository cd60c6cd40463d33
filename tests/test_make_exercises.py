"""tools/make_exercises.py: solution regions become stubs, cells are tagged for nbval,
markers are validated, and --check finds stale exercise notebooks."""
import ast
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from exercise_fixtures.notebooks import solution_notebook

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_exercises",
                                               ROOT / "tools" / "make_exercises.py")
me = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(me)

STUB = 'raise NotImplementedError("Exercise {}: replace this line with your code")'


@pytest.fixture(scope="module")
def student():
    return me.make_exercise(solution_notebook(), "99_fixture.ipynb")


def tags(cell):
    return cell.metadata.get("tags", [])


def test_regions_become_stubs_with_their_indentation(student):
    by_id = {c.id: c for c in student.cells}
    assert by_id["cell-3"].source == "def double(x):\n    " + STUB.format("99.1")
    assert by_id["cell-6"].source == (
        'def norm(v):\n    """The Euclidean norm of v."""\n'
        "    v = np.asarray(v, dtype=float)\n"
        "    if v.ndim != 1:\n"
        "        " + STUB.format("99.2") + "\n"
        "    " + STUB.format("99.2"))
    assert by_id["cell-9"].source == ("%precision 3\n" + STUB.format("99.3")
                                      + "\nprint(value)")
    for cell in student.cells:
        assert "SOLUTION" not in cell.source
        if cell.cell_type == "code" and not cell.source.startswith("%"):
            ast.parse(cell.source)  # still valid Python


def test_markdown_regions_become_a_placeholder(student):
    cell = next(c for c in student.cells if c.get("id") == "cell-8")
    assert cell.source.endswith("\n\n*Your answer here.*")
    assert "0.8" not in cell.source


def test_nbval_tags(student):
    by_id = {c.id: c for c in student.cells}
    # Stub cells and everything that may fail after the first stub are allowed to raise;
    # the check cells whose arguments exist stay strictly tested (checks never raise).
    assert [i for i, c in by_id.items() if "raises-exception" in tags(c)] == [
        "cell-3", "cell-6", "cell-9", "cell-10", "cell-11"]
    assert "raises-exception" not in tags(by_id["cell-4"])  # check_double(double)
    assert "raises-exception" not in tags(by_id["cell-7"])  # check_norm(norm)
    # check_threshold(value): value is never assigned in the student version
    assert "raises-exception" in tags(by_id["cell-10"])


def test_title_banner_and_clean_outputs(student):
    assert student.cells[0].source == ("# Chapter 99 exercises (student version)\n\n"
                                       "Small exercises.")
    banner = student.cells[1]
    assert banner.id == "how-to-use-this-notebook"
    assert "How to use this notebook" in banner.source
    assert "../solutions/99_fixture.ipynb" in banner.source
    assert len(student.cells) == len(solution_notebook().cells) + 1
    nbformat.validate(student)


def test_outputs_are_stripped_and_metadata_kept():
    nb = solution_notebook()
    nb.cells[4].outputs = [new_output("stream", name="stdout", text="old output")]
    nb.cells[4].execution_count = 7
    nb.cells[4].metadata["tags"] = ["hide-input"]
    nb.cells[4].metadata["execution"] = {"iopub.status.busy": "2024-01-01"}
    nb.metadata["authors"] = ["someone"]
    out = me.make_exercise(nb, "99_fixture.ipynb")
    cell = next(c for c in out.cells if c.get("id") == "cell-4")
    assert cell.outputs == [] and cell.execution_count is None
    assert cell.metadata == {"tags": ["hide-input"]}
    assert out.metadata["authors"] == ["someone"]
    assert out.metadata["kernelspec"]["name"] == "python3"


def code_notebook(*sources):
    nb = new_notebook()
    nb.cells = [new_markdown_cell("# T\n\n### Exercise 3.1 — x")] + \
        [new_code_cell(s) for s in sources]
    return nb


def test_check_cells_are_tagged_only_when_their_arguments_may_be_missing():
    nb = code_notebook(
        "from cnnlib.checks.ch03 import check_a",
        "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3",
        "check_a(a)", "check_a(b)", "check_a(c)", "check_a(a, b=lambda z: z)",
        "check_a(len(a))", "check_a(a)\nprint(a)", "d = 4\nimport os", "check_a(d, os)")
    out = me.make_exercise(nb, "03_x.ipynb")
    tagged = ["raises-exception" in tags(c) for c in out.cells[2:]]
    assert tagged == [False, True, False, True, True, False, True, True, True, False]


def test_clear_solutions_handles_several_regions_and_tabs():
    src = "def f():\n\t### BEGIN SOLUTION\n\treturn 1\n\t### END SOLUTION\n" \
          "x = 1\n### BEGIN SOLUTION\ny = 2\n### END SOLUTION"
    out, n = me.clear_solutions(src, "STUB", "nb, cell 0")
    assert n == 2
    assert out == "def f():\n\tSTUB\nx = 1\nSTUB"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "line 1: BEGIN SOLUTION is never closed"),
    ("x = 1\n### END SOLUTION", "line 2: END SOLUTION without a BEGIN SOLUTION"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
     "line 2: BEGIN SOLUTION inside the region opened at line 1"),
    ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION", "line 1: malformed marker"),
    ("if True:\n### BEGIN SOLUTION\n    x = 1\n### END SOLUTION",
     "no longer valid Python"),
])
def test_marker_errors_name_the_notebook_and_cell(source, message):
    nb = code_notebook("import numpy", source)
    with pytest.raises(me.MarkerError) as info:
        me.make_exercise(nb, "03_bad.ipynb")
    assert str(info.value).startswith("03_bad.ipynb, cell 2")
    assert message in str(info.value)


def write_solution(folder: Path, name="99_fixture.ipynb", nb=None):
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb or solution_notebook(), folder / name)


def test_write_then_check_then_stale(tmp_path, capsys):
    sol, exe = tmp_path / "solutions", tmp_path / "exercises"
    write_solution(sol)
    args = ["--solutions", str(sol), "--exercises", str(exe)]
    assert me.main(["--check", *args]) == 1  # not generated yet
    assert "stale:  99_fixture.ipynb" in capsys.readouterr().err
    assert me.main(args) == 0
    first = (exe / "99_fixture.ipynb").read_bytes()
    assert me.main(["--check", *args]) == 0
    assert me.main(args) == 0  # deterministic: nothing to rewrite
    assert "0 rewritten" in capsys.readouterr().out
    assert (exe / "99_fixture.ipynb").read_bytes() == first
    assert first.startswith(b'{\n "cells": [\n  {\n') and first.endswith(b"}\n")

    nb = solution_notebook()
    nb.cells[3].source = nb.cells[3].source.replace("2 * x", "x + x")
    write_solution(sol, nb=nb)  # changes only the solution region: same student version
    assert me.main(["--check", *args]) == 0
    nb.cells[2].source += " Use `*`."
    write_solution(sol, nb=nb)
    assert me.main(["--check", *args]) == 1
    assert "stale:  99_fixture.ipynb" in capsys.readouterr().err

    me.main(args)
    nbformat.write(solution_notebook(), exe / "98_gone.ipynb")
    assert me.main(["--check", *args]) == 1
    assert "orphan: 98_gone.ipynb" in capsys.readouterr().err
    me.main(args)
    assert not (exe / "98_gone.ipynb").exists()
    assert me.main(["--check", *args]) == 0


def test_check_passes_with_no_solutions(tmp_path):
    assert me.main(["--check", "--solutions", str(tmp_path / "solutions"),
                    "--exercises", str(tmp_path / "exercises")]) == 0


def test_marker_error_exits_2_with_a_message(tmp_path, capsys):
    write_solution(tmp_path / "s", "03_bad.ipynb", code_notebook("### END SOLUTION"))
    assert me.main(["--solutions", str(tmp_path / "s"),
                    "--exercises", str(tmp_path / "e")]) == 2
    assert "error: 03_bad.ipynb, cell 1, line 1: END SOLUTION" in capsys.readouterr().err
