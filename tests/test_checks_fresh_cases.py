"""Under the grader every run draws the checks' random cases afresh (check_rng). The
answers of the solution notebooks must pass whatever the draw: here each chapter's
answer functions, taken from solutions/NN_*.ipynb itself, are checked under several
grading seeds."""
import functools
import re
from pathlib import Path

import nbformat
import pytest

from cnnlib.checks import exercises_for_notebook, grading_seed, run_check
from cnnlib.grade.plan import CheckStep, plan

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
SEEDS = [1, 2, 3, 2**40 + 7]


@functools.lru_cache(maxsize=None)
def answers(path: Path) -> tuple[dict, list[tuple]]:
    """The notebook's namespace after its first code cell and its function definitions,
    and its check calls on functions: (exercise info, function name)."""
    nb = nbformat.read(path, as_version=4)
    infos = {i.function: i for i in exercises_for_notebook(path)}
    cells = [c for c in nb.cells if c.cell_type == "code"]
    namespace: dict = {}
    setup = "\n".join(line for line in cells[0].source.splitlines()
                      if not line.startswith("%"))
    exec(setup, namespace)
    for cell in cells[1:]:
        if cell.source.startswith("def "):
            exec(cell.source, namespace)
    calls = [(infos[s.function], s.args[0]) for s in plan(nb.cells, set(infos))
             if isinstance(s, CheckStep) and len(s.args) == 1
             and re.fullmatch(r"\w+", s.args[0]) and callable(namespace.get(s.args[0]))]
    return namespace, calls


CASES = [(path, info, name) for path in SOLUTIONS for info, name in answers(path)[1]]


def test_every_function_exercise_is_covered():
    assert len(CASES) >= 20
    assert {info.id for _, info, _ in CASES} >= {"1.1", "2.4", "3.3", "4.6", "5.5"}


@pytest.mark.parametrize("path, info, name", CASES,
                         ids=[f"{info.id}-{name}" for _, info, name in CASES])
def test_the_solution_passes_with_fresh_cases(path, info, name):
    namespace, _ = answers(path)
    for seed in SEEDS:
        with grading_seed(seed):
            v, text = run_check(info, (namespace[name],), {})
        assert v.passed, f"seed {seed}: {text}"
