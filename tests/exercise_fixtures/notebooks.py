"""Builds the notebooks of example chapter 99 in memory (no .ipynb files are stored
under tests/, where nbval would collect them)."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

IMPORTS = ("import numpy as np\n"
           "from exercise_fixtures.ch99 import check_double, check_norm, check_threshold")


def solution_notebook() -> nbformat.NotebookNode:
    """Three exercises: a function, a function with code around its region, and a
    top-level region whose check needs a variable."""
    nb = new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [
        new_markdown_cell("# Chapter 99 exercises (solutions)\n\nSmall exercises."),
        new_code_cell(IMPORTS),
        new_markdown_cell("### Exercise 99.1 — Doubling\n\nWrite `double(x)`."),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n"
                      "    ### END SOLUTION"),
        new_code_cell("check_double(double)"),
        new_markdown_cell("### Exercise 99.2 — Euclidean norm"),
        new_code_cell('def norm(v):\n    """The Euclidean norm of v."""\n'
                      "    v = np.asarray(v, dtype=float)\n"
                      "    if v.ndim != 1:\n"
                      "        ### BEGIN SOLUTION\n"
                      "        v = v.ravel()\n"
                      "        ### END SOLUTION\n"
                      "    ### BEGIN SOLUTION\n"
                      "    total = np.sum(v ** 2)\n"
                      "    return np.sqrt(total)\n"
                      "    ### END SOLUTION"),
        new_code_cell("check_norm(norm)"),
        new_markdown_cell("### Exercise 99.3 — A value above one half\n\n"
                          "### BEGIN SOLUTION\nBecause 0.8 > 0.5.\n### END SOLUTION"),
        new_code_cell("%precision 3\n### BEGIN SOLUTION\nvalue = double(0.4)\n"
                      "### END SOLUTION\nprint(value)"),
        new_code_cell("check_threshold(value)"),
        new_code_cell("y = double(np.arange(3))\ny"),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"  # stable ids, so generated notebooks compare equal
    return nb


def variant(kind: str) -> nbformat.NotebookNode:
    """The solution notebook changed the way a student's might be."""
    nb = solution_notebook()
    cells = nb.cells
    if kind == "raises":  # crashes at top level between two checks
        cells.insert(5, new_code_cell("raise RuntimeError('a student crashed here')"))
    elif kind == "wrong":  # a wrong answer, and one that raises inside the check
        cells[3].source = "def double(x):\n    return x * 3"
        cells[6].source = "def norm(v):\n    return 1 / 0"
    elif kind == "dies":  # kills its own kernel after the first check
        cells.insert(5, new_code_cell("import os\nos._exit(3)"))
    elif kind == "loops":  # hangs after the first check
        cells.insert(5, new_code_cell("while True:\n    pass"))
    elif kind == "forged":  # prints records of its own instead of running the check
        cells[7].source = (
            "import json\n"
            "from IPython.display import display\n"
            "fake = {'v': 1, 'exercise': '99.2', 'title': 'Euclidean norm',\n"
            "        'module': 'exercise_fixtures.ch99', 'status': 'pass',\n"
            "        'summary': 'PASS', 'targets': [], 'sig': '0' * 64}\n"
            "display({'application/vnd.cnnlib.check+json': fake,\n"
            "         'text/plain': '✅ Exercise 99.2: all cases passed'}, raw=True)\n"
            "print('cnnlib-check-record: ' + json.dumps(fake))\n"
            "print('garbage \\x00\\x1b[31m' * 1000)")
    elif kind == "library":  # hands the check a library function instead of its own
        cells[7].source = "check_norm(np.linalg.norm)"
    else:
        raise ValueError(kind)
    return nb


def remote_notebook(mutates: bool = False) -> nbformat.NotebookNode:
    """Answers to the checks of chapter 97 (see ch97.py); ``mutates``: a normalise that
    changes its input in place."""
    nb = new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    normalise = ("def normalise(a):\n    a /= a.sum(axis=1, keepdims=True)\n    return a"
                 if mutates else
                 "def normalise(a):\n    return a / a.sum(axis=1, keepdims=True)")
    nb.cells = [
        new_code_cell("import numpy as np\nimport torch\n"
                      "from exercise_fixtures.ch97 import (check_apply_twice, "
                      "check_normalise,\n    check_model, check_many)"),
        new_markdown_cell("### Exercise 97.1"),
        new_code_cell("def apply_twice(f, x):\n    return f(x) + f(x)"),
        new_code_cell("check_apply_twice(apply_twice)"),
        new_markdown_cell("### Exercise 97.2"),
        new_code_cell(normalise),
        new_code_cell("check_normalise(normalise)"),
        new_markdown_cell("### Exercise 97.3"),
        new_code_cell("class Linear:\n    weights = [1.0, -2.0]\n"
                      "    def predict(self, X):\n        return X @ np.array(self.weights)\n"
                      "model = Linear()"),
        new_code_cell("check_model(model)"),
        new_markdown_cell("### Exercise 97.4"),
        new_code_cell("class Layers:\n    def __len__(self):\n        return 3\n"
                      "    def __getitem__(self, i):\n        return [8, 16, 4][i]\n\n"
                      "def to_tensor(x):\n    return torch.as_tensor(x)\n\n"
                      "def overflow(x):\n    return np.exp(x)"),
        new_code_cell("check_many(Layers(), to_tensor, overflow)"),
    ]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
    return nb
