"""Reading a notebook as the grader runs it: the student's code, and the check calls.

Every code cell is the student's code and runs in their kernel, except the check calls:
statements of their own, at the top level of a cell, that call one of the chapter's
checks by its name (``check_sigmoid(sigmoid)``). The grader runs those itself, at the
same point of the notebook, on the values of their arguments in the kernel. A cell that
mixes both is split around its check calls (line numbers kept); a cell that is not valid
Python, even after IPython's ``%magic`` syntax is translated, runs as it is.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

__all__ = ["CodeStep", "CheckStep", "plan"]


@dataclass
class CodeStep:
    """Code of cell ``cell`` to run in the kernel."""
    cell: int
    source: str


@dataclass
class CheckStep:
    """``function(*args, **kwargs)`` in cell ``cell``; the sources of the arguments."""
    cell: int
    function: str
    args: list[str] = field(default_factory=list)
    kwargs: dict[str, str] = field(default_factory=dict)


def _python(source: str) -> tuple[str, ast.Module] | None:
    """The cell as Python and its syntax tree, or None."""
    try:
        return source, ast.parse(source)
    except (SyntaxError, ValueError):
        pass
    if "%" not in source and "!" not in source:
        return None
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        python = TransformerManager().transform_cell(source)
        return python, ast.parse(python)
    except Exception:
        return None


def _check_call(stmt: ast.stmt, names: set[str]) -> ast.Call | None:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        call = stmt.value
        if isinstance(call.func, ast.Name) and call.func.id in names and \
                not any(isinstance(a, ast.Starred) for a in call.args) and \
                all(k.arg is not None for k in call.keywords):
            return call
    return None


def _offsets(text: str) -> list[int]:
    starts, pos = [0], 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def _position(text: str, starts: list[int], lineno: int, col_bytes: int) -> int:
    line_start = starts[lineno - 1]
    line = text[line_start:starts[lineno] if lineno < len(starts) else len(text)]
    return line_start + len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))


def plan(cells: list[dict], check_names: set[str]) -> list[CodeStep | CheckStep]:
    """The steps of a notebook (``cells``: nbformat cells) in order."""
    steps: list[CodeStep | CheckStep] = []
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        parsed = _python(source)
        if parsed is None or not any(_check_call(s, check_names) for s in parsed[1].body):
            steps.append(CodeStep(index, source))
            continue
        text, tree = parsed
        starts = _offsets(text)
        pending: list[ast.stmt] = []

        def flush() -> None:
            if not pending:
                return
            first, last = pending[0], pending[-1]
            line = min([first.lineno, *(d.lineno for d in
                                        getattr(first, "decorator_list", []))])
            begin = _position(text, starts, line, 0 if line < first.lineno
                              else first.col_offset)
            end = _position(text, starts, last.end_lineno, last.end_col_offset)
            # blank lines in front keep the line numbers of tracebacks those of the cell
            steps.append(CodeStep(index, "\n" * (line - 1) + text[begin:end]))
            pending.clear()

        for stmt in tree.body:
            call = _check_call(stmt, check_names)
            if call is None:
                pending.append(stmt)
                continue
            flush()
            steps.append(CheckStep(
                index, call.func.id,
                [ast.get_source_segment(text, a) or "" for a in call.args],
                {k.arg: ast.get_source_segment(text, k.value) or "" for k in call.keywords}))
        flush()
    return steps
