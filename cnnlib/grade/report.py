"""The grades as a table, a CSV file and a JSON file. Files are written atomically (a
new file beside the target, then renamed over it), so a reader never sees half a file
and nothing planted at a temporary name is followed."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cnnlib.grade.results import ExerciseResult, NotebookResult

__all__ = ["format_table", "csv_text", "json_text", "write_atomically"]


def format_table(results: list[NotebookResult]) -> str:
    """One table per chapter: a row per notebook, a column per exercise; then notes."""
    lines: list[str] = []
    chapters = sorted({r.chapter for r in results if r.exercises})
    for chapter in chapters:
        rows = [r for r in results if r.chapter == chapter and r.exercises]
        ids = list(dict.fromkeys(e.id for r in rows for e in r.exercises))
        header = ["student", "notebook", *ids, "score"]
        body = [[r.student, r.notebook,
                 *[next((e.status for e in r.exercises if e.id == i), "") for i in ids],
                 r.score] for r in rows]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
        lines.append(f"Chapter {chapter}")
        for row in [header, ["-" * w for w in widths], *body]:
            lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip())
        lines.append("")
    problems = [r for r in results if r.error or r.notes]
    if problems:
        lines.append("Notes")
        for r in problems:
            for text in ([r.error] if r.error else []) + r.notes:
                lines.append(f"  {r.notebook}: {text}")
    return "\n".join(lines).rstrip() + "\n"


def csv_text(results: list[NotebookResult]) -> str:
    """One row per (notebook, exercise); a notebook with no exercises gets one row."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["student", "notebook", "chapter", "exercise", "title", "status",
                "cases_passed", "cases_total", "detail", "seconds"])
    for r in results:
        for e in r.exercises or [ExerciseResult("", "", r.run.upper(), r.error)]:
            w.writerow([r.student, r.notebook, r.chapter or "", e.id, e.title, e.status,
                        "" if e.cases_passed is None else e.cases_passed,
                        "" if e.cases_total is None else e.cases_total,
                        e.detail, r.seconds])
    return buf.getvalue()


def json_text(results: list[NotebookResult], **meta: Any) -> str:
    data = {**meta, "notebooks": [{**asdict(r), "score": r.score} for r in results]}
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def write_atomically(path: Path, text: str) -> str:
    """Write ``text`` to ``path`` in one step; return its SHA-256."""
    path = Path(path)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return hashlib.sha256(data).hexdigest()
