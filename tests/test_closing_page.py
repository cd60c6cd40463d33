"""The book's closing page (book/closing.md): listed after the chapters in the table of
contents, unnumbered, and mapping every topic of the course to its chapter."""
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import build_book  # noqa: E402


def test_closing_page_comes_last_and_unnumbered():
    toc = yaml.safe_load(build_book.make_toc(["00_preface", "01_a"], back=["closing"]))
    assert [p["caption"] for p in toc["parts"]] == ["Front matter", "Chapters", "Closing"]
    closing = toc["parts"][-1]
    assert closing["chapters"] == [{"file": "closing"}] and not closing.get("numbered")
    assert "closing.md" in build_book.BACK_MATTER
    assert build_book.back_matter(REPO / "book") == ["closing"]


def test_closing_page_maps_the_course_topics_to_chapters():
    text = (REPO / "book/closing.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    topics = [r.split("|")[1].strip() for r in rows[1:]]
    assert topics == ["a single logistic unit", "neural networks", "one-vs-rest",
                      "from fully connected to convolution", "convolution of images",
                      "ReLU and pooling", "hand-crafted features", "learned features",
                      "LeNet", "the tricks of real networks", "transfer learning",
                      "contrastive learning: SimCLR", "CLIP"]
    chapters = [int(re.match(r"\s*(\d+)\.", r.split("|")[3]).group(1)) for r in rows[1:]]
    assert chapters == sorted(chapters) and set(chapters) == set(range(1, 13))
    for where in ("d2l.ai", "CS231n", "fast.ai", "PyTorch tutorials"):
        assert where in text
    assert "notes" not in text.lower() and "seed" not in text.lower()
