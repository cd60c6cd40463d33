"""cnnlib's docstrings point to the chapter that explains them ("Explained in chapter
5"): every chapter they name exists in book/ or is one of the book's planned chapters."""
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: The book's chapters, 0 (the preface) to 12 (CLIP): the plan on the front page.
PLANNED = set(range(13))
POINTER = re.compile(r"\bchapters?\s+(\d+(?:\s*(?:-|–|,|and)\s*\d+)*)", re.I)


def chapters_named(text: str) -> set[int]:
    found = set()
    for m in POINTER.finditer(text):
        spec = m.group(1)
        for a, b in re.findall(r"(\d+)\s*[-–]\s*(\d+)", spec):
            found.update(range(int(a), int(b) + 1))
        found.update(int(n) for n in re.findall(r"\d+", spec))
    return found


def test_pointer_parser():
    assert chapters_named("Explained in chapter 5 and chapters 1-3, chapters 6 and 9") \
        == {1, 2, 3, 5, 6, 9}


def existing_chapters() -> set[int]:
    return {int(p.name[:2]) for p in (REPO / "book").glob("[0-9][0-9]_*.ipynb")}


@pytest.mark.parametrize("path", sorted((REPO / "cnnlib").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_every_chapter_a_docstring_names_exists_or_is_planned(path):
    named = chapters_named(path.read_text())
    unknown = named - PLANNED
    assert not unknown, f"{path.name} names chapters {sorted(unknown)}, which the book " \
                        f"does not plan (chapters 0-12)"
    assert existing_chapters() <= PLANNED
