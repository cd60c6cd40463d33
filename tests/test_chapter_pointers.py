"""Every "chapter N" that the book and the lectures point to exists.

A reader who meets "chapter 7 explains it" must find a chapter 7. While a chapter is
being written, the text says "a later chapter"; once book/07_*.ipynb lands, pointers to
it may name it. The same for "section N.k" (a heading "## N.k" in chapter N).
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = re.compile(r"^(\d\d)_[A-Za-z0-9_\-]+\.ipynb$")
# "chapter 7", "Chapter 7", "chapters 4 to 8", "chapters 7 and 8", "chapters 4-8"
CHAPTERS = re.compile(r"\b[Cc]hapters?\s+(\d+)((?:\s*(?:,|and|to|-|–)\s*\d+)*)")
SECTION = re.compile(r"\b[Ss]ections?\s+(\d+)\.(\d+)")


def _numbers(match: re.Match) -> list[int]:
    first, rest = int(match.group(1)), match.group(2)
    numbers = [first] + [int(n) for n in re.findall(r"\d+", rest)]
    if re.search(r"\bto\b|-|–", rest):              # a range: every chapter in it
        numbers = list(range(min(numbers), max(numbers) + 1))
    return numbers


def _existing_chapters() -> dict[int, Path]:
    return {int(m.group(1)): p for p in (REPO / "book").iterdir()
            if (m := NOTEBOOK.match(p.name))}


def _sections(path: Path) -> set[tuple[int, int]]:
    nb = nbformat.read(path, as_version=4)
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found |= {(int(a), int(b)) for a, b in
                      re.findall(r"^##\s+(\d+)\.(\d+)\b", cell.source, re.MULTILINE)}
    return found


def _notebooks() -> list[Path]:
    return sorted(p for folder in ("book", "lectures") for p in (REPO / folder).iterdir()
                  if NOTEBOOK.match(p.name))


def test_the_pattern_reads_ranges_and_lists():
    assert [_numbers(m) for m in CHAPTERS.finditer(
        "chapters 4 to 8, chapter 2, Chapters 7 and 8, chapters 1-3")] == [
        [4, 5, 6, 7, 8], [2], [7, 8], [1, 2, 3]]


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pointers_name_chapters_and_sections_that_exist(path):
    chapters = _existing_chapters()
    nb = nbformat.read(path, as_version=4)
    missing = []
    for k, cell in enumerate(nb.cells):
        # markdown, and the strings of code cells (figure titles, printed text)
        for match in CHAPTERS.finditer(cell.source):
            missing += [f"cell {k}: chapter {n} ({match.group(0)!r})"
                        for n in _numbers(match) if n not in chapters]
        for match in SECTION.finditer(cell.source):
            chapter, section = int(match.group(1)), int(match.group(2))
            if chapter not in chapters or (chapter, section) not in _sections(chapters[chapter]):
                missing.append(f"cell {k}: section {chapter}.{section}")
    assert not missing, ("pointers to chapters or sections that do not exist (write "
                         "'a later chapter' until they do): " + "; ".join(missing))
