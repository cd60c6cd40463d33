"""Pointers to chapters lead somewhere.

* cnnlib's docstrings point to the chapter that explains them ("Explained in chapter
  5"): every chapter they name exists in book/ or is one of the book's planned chapters.
* The book and the lectures are read by people who have only what exists: every
  "chapter N" and "section N.k" they mention must be a chapter file in book/ (and a
  "## N.k" heading in it). While a chapter is being written, the text says "a later
  chapter"; once book/NN_*.ipynb lands, pointers to it may name it.
"""
import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
#: The book's chapters, 0 (the preface) to 12 (CLIP): the plan on the front page.
PLANNED = set(range(13))
POINTER = re.compile(r"\bchapters?\s+(\d+(?:\s*(?:-|–|,|and|to)\s*\d+)*)", re.I)
SECTION = re.compile(r"\bsections?\s+(\d+)\.(\d+)", re.I)
NOTEBOOK = re.compile(r"^(\d\d)_[A-Za-z0-9_\-]+\.ipynb$")


def chapters_named(text: str) -> set[int]:
    found = set()
    for m in POINTER.finditer(text):
        spec = m.group(1)
        for a, b in re.findall(r"(\d+)\s*(?:-|–|to)\s*(\d+)", spec):
            found.update(range(int(a), int(b) + 1))
        found.update(int(n) for n in re.findall(r"\d+", spec))
    return found


def test_pointer_parser():
    assert chapters_named("Explained in chapter 5 and chapters 1-3, chapters 6 and 9") \
        == {1, 2, 3, 5, 6, 9}
    assert chapters_named("the networks of chapters 4 to 8") == {4, 5, 6, 7, 8}


def existing_chapters() -> dict[int, Path]:
    return {int(p.name[:2]): p for p in (REPO / "book").glob("[0-9][0-9]_*.ipynb")}


@pytest.mark.parametrize("path", sorted((REPO / "cnnlib").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_every_chapter_a_docstring_names_exists_or_is_planned(path):
    named = chapters_named(path.read_text())
    unknown = named - PLANNED
    assert not unknown, f"{path.name} names chapters {sorted(unknown)}, which the book " \
                        f"does not plan (chapters 0-12)"
    assert set(existing_chapters()) <= PLANNED


def _sections(path: Path) -> set[tuple[int, int]]:
    nb = nbformat.read(path, as_version=4)
    return {(int(a), int(b)) for cell in nb.cells if cell.cell_type == "markdown"
            for a, b in re.findall(r"^##\s+(\d+)\.(\d+)\b", cell.source, re.MULTILINE)}


def _notebooks() -> list[Path]:
    return sorted(p for folder in ("book", "lectures") for p in (REPO / folder).iterdir()
                  if NOTEBOOK.match(p.name))


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_book_points_only_to_chapters_and_sections_that_exist(path):
    chapters = existing_chapters()
    nb = nbformat.read(path, as_version=4)
    missing = []
    for k, cell in enumerate(nb.cells):      # markdown, and the strings of code cells
        missing += [f"cell {k}: chapter {n}" for n in sorted(chapters_named(cell.source))
                    if n not in chapters]
        for match in SECTION.finditer(cell.source):
            chapter, section = int(match.group(1)), int(match.group(2))
            if chapter not in chapters or (chapter, section) not in _sections(chapters[chapter]):
                missing.append(f"cell {k}: section {chapter}.{section}")
    assert not missing, ("pointers to chapters or sections that do not exist (write "
                         "'a later chapter' until they do): " + "; ".join(missing))
