#!/usr/bin/env python3
"""Generate the student notebooks ``exercises/NN_*.ipynb`` from ``solutions/NN_*.ipynb``.

    python tools/make_exercises.py            # (re)write exercises/ (also: make exercises)
    python tools/make_exercises.py --check    # exit 1 and list the stale files, if any

In a solution notebook, each answer lies between a line ``### BEGIN SOLUTION`` and a line
``### END SOLUTION`` (the way nbgrader marks them). The student version replaces each
such region, markers included, by ``raise NotImplementedError("Exercise N.k: ...")`` at
the indentation of the ``BEGIN`` line, so a region inside a function body leaves a valid
function (in a markdown cell the region becomes "*Your answer here.*"). The exercise id
comes from the last markdown heading "Exercise N.k" above the cell.

The student version is stored without outputs, its title says so, and a first cell
tells how to use it. Its code cells are tagged ``raises-exception`` for nbval when they
can raise because of a stub: those holding a stub, and those after the first stub,
except check cells (only imports and calls of ``check_*`` functions with plain names
defined safely earlier as arguments), which never raise and so stay strictly tested.

The output is deterministic (nbformat's JSON: indent 1, sorted keys), so
``--check`` can compare exercises/ with what would be generated.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

MARKER = re.compile(r"^(?P<indent>[ \t]*)### (?P<kind>BEGIN|END) SOLUTION[ \t]*$")
# Anything that looks like a marker but is not exactly one is an error, not a no-op.
LOOSE_MARKER = re.compile(r"^\s*#+.*\b(BEGIN|END)\s+SOLUTION\b", re.IGNORECASE)
EXERCISE_HEADING = re.compile(r"^\s*#+\s*Exercise\s+(\d+\.\d+[a-z]?)\b", re.MULTILINE)
TITLE = re.compile(r"^# (?P<title>.+?)[ \t]*$", re.MULTILINE)
SOLUTIONS_SUFFIX = re.compile(
    r"\s*[-—–:]*\s*[(\[]?\s*(with\s+)?solutions?(\s+notebook)?\s*[)\]]?\s*$",
    re.IGNORECASE)
STUB_TAG = "raises-exception"
MARKDOWN_STUB = "*Your answer here.*"
STUB_MESSAGE = "replace this line with your code"
BANNER_ID = "how-to-use-this-notebook"


class MarkerError(ValueError):
    """A solution region is not properly delimited."""


def stub_line(exercise_id: str | None) -> str:
    what = f"Exercise {exercise_id}: " if exercise_id else ""
    return f'raise NotImplementedError("{what}{STUB_MESSAGE}")'


def clear_solutions(source: str, replacement: str, where: str) -> tuple[str, int]:
    """Replace every BEGIN/END SOLUTION region of ``source`` (markers included) by
    ``replacement`` at the indentation of its BEGIN line. Returns (new source, number of
    regions). Raises MarkerError naming ``where`` and the line for unmatched markers."""
    out: list[str] = []
    opened: int | None = None
    regions = 0
    for number, line in enumerate(source.split("\n"), start=1):
        m = MARKER.match(line)
        if m is None and LOOSE_MARKER.match(line):
            raise MarkerError(f"{where}, line {number}: malformed marker {line.strip()!r} "
                              f"(write '### BEGIN SOLUTION' or '### END SOLUTION' alone "
                              f"on its line)")
        if m is None:
            if opened is None:
                out.append(line)
        elif m["kind"] == "BEGIN":
            if opened is not None:
                raise MarkerError(f"{where}, line {number}: BEGIN SOLUTION inside the "
                                  f"region opened at line {opened} (missing END SOLUTION)")
            opened = number
            regions += 1
            out.append(m["indent"] + replacement)
        else:
            if opened is None:
                raise MarkerError(f"{where}, line {number}: END SOLUTION without a "
                                  f"BEGIN SOLUTION before it")
            opened = None
    if opened is not None:
        raise MarkerError(f"{where}, line {opened}: BEGIN SOLUTION is never closed by "
                          f"END SOLUTION")
    return "\n".join(out), regions


# ----------------------------------------------------------------- which cells can raise
def _parse(source: str) -> ast.Module | None:
    """The cell as Python (IPython magics translated), or None if it does not parse."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        source = TransformerManager().transform_cell(source)
    except ImportError:
        pass
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def _bound_names(node: ast.AST) -> set[str]:
    """Names a top-level statement binds in the notebook's namespace."""
    names: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"}
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
            names.add(child.id)
        elif not isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                    ast.GeneratorExp)):
            names |= _bound_names(child)
    return names


def _cannot_raise(stmt: ast.stmt) -> bool:
    """Statements that run cleanly even when the code above them is unfinished."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Import,
                         ast.ImportFrom)):
        return not getattr(stmt, "decorator_list", [])
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return all(isinstance(t, ast.Name) for t in targets) and _is_literal(stmt.value)
    return isinstance(stmt, ast.Pass)


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _contains_stub(stmt: ast.stmt) -> bool:
    return STUB_MESSAGE in ast.unparse(stmt)


def _safe_argument(node: ast.expr, safe: set[str]) -> bool:
    if isinstance(node, ast.Constant) or isinstance(node, ast.Lambda):
        return True
    if isinstance(node, ast.Name):
        return node.id in safe
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_safe_argument(e, safe) for e in node.elts)
    return False


def _is_check_cell(tree: ast.Module, safe: set[str]) -> bool:
    """Only imports and calls ``check_*(name, ...)`` whose names are all defined."""
    local = set(safe)
    calls = 0
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            local |= _bound_names(stmt)
            continue
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            return False
        call = stmt.value
        func = call.func
        name = func.id if isinstance(func, ast.Name) else \
            func.attr if isinstance(func, ast.Attribute) else ""
        root = func
        while isinstance(root, ast.Attribute):
            root = root.value
        if not (name.startswith("check") and isinstance(root, ast.Name)
                and root.id in local):
            return False
        if not all(_safe_argument(a, local) for a in
                   [*call.args, *(k.value for k in call.keywords)]):
            return False
        calls += 1
    return calls > 0


# ----------------------------------------------------------------- the notebook
def _title_and_banner(nb: nbformat.NotebookNode, solution_name: str) -> None:
    cells = nb.cells
    at = 0
    if cells and cells[0].cell_type == "markdown":
        source = cells[0].source
        m = TITLE.search(source)
        if m:
            title = SOLUTIONS_SUFFIX.sub("", m["title"]) + " (student version)"
            cells[0].source = source[:m.start()] + "# " + title + source[m.end():]
            at = 1
    banner = nbformat.v4.new_markdown_cell(
        f"<!-- Generated from solutions/{solution_name} by tools/make_exercises.py "
        f"(make exercises): edit that notebook, not this one. -->\n"
        f"> **How to use this notebook.** This is the student version: each exercise has "
        f"a code cell with a line `raise NotImplementedError(...)`. Replace that line with "
        f"your code, run the cell, then run the check cell below it. The check tries your "
        f"code on several cases and prints ✅ when they all pass, ❌ with the case that "
        f"failed (what was expected, what your code gave, a hint), or ⏳ while the "
        f"exercise is not done yet.\n>\n"
        f"> Run the cells from top to bottom: later exercises may use earlier answers, and "
        f"cells that use an unfinished answer stop with `NotImplementedError` until you "
        f"write it. *Kernel → Restart & Run All* shows where you stand.\n>\n"
        f"> Stuck? The solved notebook is "
        f"[`../solutions/{solution_name}`](../solutions/{solution_name}): try first, "
        f"peek later.")
    if nb.nbformat_minor >= 5 and all(c.get("id") != BANNER_ID for c in cells):
        banner["id"] = BANNER_ID
    else:
        banner.pop("id", None)
    cells.insert(at, banner)


def _tag(cell: nbformat.NotebookNode) -> None:
    tags = cell.metadata.setdefault("tags", [])
    if STUB_TAG not in tags:
        tags.append(STUB_TAG)


def make_exercise(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """The student version of solution notebook ``nb`` (read with nbformat, file name
    ``name`` used in messages and links). Raises MarkerError for bad markers."""
    nb = nbformat.from_dict(nb)  # a deep copy
    exercise_id: str | None = None
    safe = set(dir(builtins))
    stubbed = False  # has a stub appeared yet (in notebook order)?
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        if cell.cell_type == "markdown":
            cell.source, _ = clear_solutions(cell.source, MARKDOWN_STUB, where)
            ids = EXERCISE_HEADING.findall(cell.source)
            exercise_id = ids[-1] if ids else exercise_id
            continue
        if cell.cell_type != "code":
            continue
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        stub = stub_line(exercise_id)
        new_source, regions = clear_solutions(cell.source, stub, where)
        tree = _parse(new_source)
        if tree is None and _parse(cell.source) is not None:
            raise MarkerError(f"{where}: the cell is no longer valid Python once its "
                              f"solution is replaced by a stub; check the indentation of "
                              f"the BEGIN SOLUTION line")
        cell.source = new_source
        if not stubbed and not regions:
            safe |= set().union(*(_bound_names(s) for s in tree.body)) if tree else set()
            continue
        if not regions and tree is not None and _is_check_cell(tree, safe):
            safe |= set().union(*(_bound_names(s) for s in tree.body))
            continue
        _tag(cell)
        for stmt in (tree.body if tree else []):
            if not stubbed and not _contains_stub(stmt):
                safe |= _bound_names(stmt)  # runs exactly as in the solution
                continue
            if not stubbed:
                stubbed = True
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        not stmt.decorator_list:
                    safe |= _bound_names(stmt)  # the stub is in the body: def still runs
                    continue
                break
            if not _cannot_raise(stmt):
                break
            safe |= _bound_names(stmt)
        stubbed = stubbed or bool(regions)
    _title_and_banner(nb, name)
    nbformat.validate(nb)
    return nb


def render(solution: Path) -> str:
    """The exercise notebook's file content for ``solution``."""
    nb = nbformat.read(solution, as_version=4)
    return nbformat.writes(make_exercise(nb, solution.name)) + "\n"


def plan(solutions: Path, exercises: Path) -> tuple[dict[Path, str], list[Path]]:
    """(what to write: exercise path -> content, exercise notebooks with no solution)."""
    wanted = {exercises / s.name: render(s) for s in sorted(solutions.glob(NOTEBOOK_GLOB))}
    orphans = sorted(p for p in exercises.glob(NOTEBOOK_GLOB) if p not in wanted)
    return wanted, orphans


def _same(path: Path, content: str) -> bool:
    if not path.exists():
        return False
    try:
        return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4) == \
            nbformat.reads(content, as_version=4)
    except Exception:  # unreadable: stale
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if exercises/ is out of date")
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions")
    parser.add_argument("--exercises", type=Path, default=ROOT / "exercises")
    args = parser.parse_args(argv)
    try:
        wanted, orphans = plan(args.solutions, args.exercises)
    except MarkerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stale = [p for p, content in wanted.items() if not _same(p, content)]
    if args.check:
        if stale or orphans:
            print("exercises/ is out of date; run `python tools/make_exercises.py` "
                  "(or `make exercises`):", file=sys.stderr)
            for p in stale:
                print(f"  stale:  {p.name}", file=sys.stderr)
            for p in orphans:
                print(f"  orphan: {p.name} (no solutions/{p.name})", file=sys.stderr)
            return 1
        print(f"exercises/ is up to date ({len(wanted)} notebooks)")
        return 0
    args.exercises.mkdir(parents=True, exist_ok=True)
    for p in stale:
        p.write_text(wanted[p], encoding="utf-8")
        print(f"wrote {p.name}")
    for p in orphans:
        p.unlink()
        print(f"removed {p.name} (no solutions/{p.name})")
    print(f"{len(wanted)} exercise notebooks, {len(stale)} rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
