"""The book build (tools/build_book.py): table of contents, links, offline pages.

The last tests build a two-chapter sample book into a temporary folder (about 20 s);
tests/test_browser.py builds the real book and opens it in Chromium.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
import build_book  # noqa: E402
import build_slides  # noqa: E402
import offline_assets  # noqa: E402


# ----------------------------------------------------------------- table of contents

def test_toc_lists_chapters_in_order_preface_unnumbered():
    toc = yaml.safe_load(build_book.make_toc(["00_preface", "01_logistic", "02_networks"]))
    assert toc["format"] == "jb-book" and toc["root"] == "index"
    front, main = toc["parts"]
    assert [c["file"] for c in front["chapters"]] == ["00_preface"]
    assert not front.get("numbered")
    assert [c["file"] for c in main["chapters"]] == ["01_logistic", "02_networks"]
    assert main["numbered"] is True


def test_toc_without_preface_or_chapters():
    toc = yaml.safe_load(build_book.make_toc(["01_a"]))
    assert [p["caption"] for p in toc["parts"]] == ["Chapters"]
    assert "parts" not in yaml.safe_load(build_book.make_toc([]))


def test_chapters_are_found_in_file_name_order(tmp_path):
    for name in ["10_late.ipynb", "02_b.ipynb", "01_a.ipynb", "notes.ipynb", "1_bad.ipynb",
                 "03_c.md"]:
        (tmp_path / name).write_text("{}")
    assert [p.name for p in build_book.numbered_notebooks(tmp_path)] == [
        "01_a.ipynb", "02_b.ipynb", "10_late.ipynb"]
    assert build_book.numbered_notebooks(tmp_path / "missing") == []


def test_numbering_gaps_are_reported():
    assert build_book.check_numbering(["00_preface", "01_a", "02_b"]) == []
    warnings = build_book.check_numbering(["01_a", "03_c"])
    assert len(warnings) == 1 and "03_c.ipynb is shown as chapter 2" in warnings[0]


# ----------------------------------------------------------------- links

@pytest.fixture
def project(tmp_path):
    for folder in ("book", "exercises", "solutions", "lectures"):
        (tmp_path / folder).mkdir()
    for folder in ("exercises", "solutions"):
        (tmp_path / folder / "01_a.ipynb").write_text("{}")
    (tmp_path / "src").mkdir()
    return tmp_path


def test_links_to_exercises_become_downloads(project):
    src = project / "src"
    text = ("See [the exercises](../exercises/01_a.ipynb), [the lecture](../lectures/01_a.ipynb)"
            ", [chapter 2](../book/02_b.ipynb#sec), [missing](../exercises/09_z.ipynb) "
            "and [the web](https://example.org).")
    out = build_book.rewrite_links(text, project, src)
    assert "[the exercises](path:../exercises/01_a.ipynb)" in out
    assert "[the lecture](site:slides/01_a.slides.html)" in out
    assert "[chapter 2](02_b.ipynb#sec)" in out
    assert "[missing](../exercises/09_z.ipynb)" in out  # left for Sphinx to report
    assert "(https://example.org)" in out


def test_links_in_slides_point_at_pages(project):
    text = "[chapter 1](../book/01_a.ipynb) [next](../lectures/02_b.ipynb) [ex](../exercises/01_a.ipynb)"
    out = build_book.rewrite_links(text, project, project / "html/slides", for_slides=True)
    assert out == "[chapter 1](../01_a.html) [next](02_b.slides.html) [ex](../exercises/01_a.ipynb)"


def _notebook(*markdown: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(m) for m in markdown]
    return nb


def test_chapter_without_exercise_link_gets_one_and_title_loses_its_number(project):
    path = project / "executed.ipynb"
    nbformat.write(_notebook("# Chapter 1: A single node\n\nText.", "## Summary"), path)
    text, title = build_book.prepare_chapter(path, "01_a", project, project / "src")
    nb = nbformat.reads(text, as_version=4)
    assert title == "A single node"
    assert nb.cells[0].source.startswith("# A single node\n")
    assert "{admonition} Exercises" in nb.cells[-1].source
    assert "(path:../exercises/01_a.ipynb)" in nb.cells[-1].source
    assert "(path:../solutions/01_a.ipynb)" in nb.cells[-1].source


def test_chapter_with_exercise_link_is_left_alone(project):
    path = project / "executed.ipynb"
    nbformat.write(_notebook("# 1. A single node", "Do [these](../exercises/01_a.ipynb)."), path)
    text, title = build_book.prepare_chapter(path, "01_a", project, project / "src")
    nb = nbformat.reads(text, as_version=4)
    assert title == "A single node" and len(nb.cells) == 2
    assert "(path:../exercises/01_a.ipynb)" in nb.cells[1].source


def test_typed_heading_numbers_are_dropped_outside_code():
    source = ("# 2. Networks\n## 2.3 Backpropagation\n### 2.3.1. Detail\n## 784 pixels\n"
              "```\n## 1.1 in a fence\n```\n# Chapter 4: Convolution")
    assert build_book.unnumber_headings(source) == (
        "# Networks\n## Backpropagation\n### Detail\n## 784 pixels\n"
        "```\n## 1.1 in a fence\n```\n# Convolution")


def test_preface_keeps_its_headings(project):
    path = project / "executed.ipynb"
    nbformat.write(_notebook("# Preface\n\n## 0.1 How to read"), path)
    text, title = build_book.prepare_chapter(path, "00_preface", project, project / "src")
    assert "## 0.1 How to read" in nbformat.reads(text, as_version=4).cells[0].source
    assert title == "Preface"


# ----------------------------------------------------------------- offline configuration

def test_offline_scanner_finds_what_a_page_would_load(tmp_path):
    (tmp_path / "a.html").write_text(
        '<link rel="stylesheet" href="https://cdn.example/x.css">'
        '<link rel="next" href="https://example.org/next.html">'
        '<script src="//cdn.example/y.js"></script><script src="_static/local.js"></script>'
        '<img src="_images/fig.png"><a href="https://example.org">a link is fine</a>'
        '<style>/* url(https://in.comment) */ @import "https://fonts.example/f.css";</style>')
    (tmp_path / "s.css").write_text("/* https://x */ a { background: url('http://img/x.png') }")
    found = offline_assets.external_resources(tmp_path)
    assert sorted(found) == sorted([
        "a.html: <link> https://cdn.example/x.css", "a.html: <script> //cdn.example/y.js",
        "a.html: <style> https://fonts.example/f.css", "s.css: http://img/x.png"])


def test_book_config_points_at_local_copies():
    config = yaml.safe_load((REPO / "book/_config.yml").read_text())
    sphinx = config["sphinx"]["config"]
    assert config["execute"]["execute_notebooks"] == "off"
    assert sphinx["html_static_path"] == [offline_assets.OFFLINE_DIR] != ["_static"]
    assert "sphinx_thebe" not in sphinx["extensions"]
    copied = {target.split("/")[0] for _, target, _ in offline_assets.BOOK_ASSETS}
    for url in [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]:
        assert "//" not in url, url
        assert url.split("/")[0] in copied or url == offline_assets.WIDGETS_SETUP, url
    assert list(sphinx["nb_ipywidgets_js"]) == [  # order matters: require.js first
        "requirejs/require.js", offline_assets.WIDGETS_SETUP, "html-manager/embed-amd.js"]
    for key, url in build_slides.SLIDE_OPTIONS.items():
        if key.endswith("_url") or key.endswith("_prefix"):
            assert "//" not in url and url.startswith(offline_assets.SLIDE_VENDOR), (key, url)


def test_javascript_is_pinned_and_not_committed():
    package = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"(npm:[\w.@/-]+@)?\d+\.\d+\.\d+", version), (name, version)
        assert f"node_modules/{name}" in lock["packages"], name
    assert package["dependencies"]["mathjax"].startswith("3.")
    assert package["dependencies"]["mathjax2"].startswith("npm:mathjax@2.")
    ignored = (REPO / ".gitignore").read_text().split()
    assert "node_modules/" in ignored and "_build/" in ignored


def test_slides_template_loads_nothing_from_the_web(tmp_path):
    nb = _notebook("# A deck\n\n$$e^{i\\pi} + 1 = 0$$")
    nb.cells[0].metadata["slideshow"] = {"slide_type": "slide"}
    hidden = nbformat.v4.new_code_cell("secret_setup = 1", metadata={"tags": ["hide-input"]})
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="shown output\n")]
    nb.cells.append(hidden)
    html = build_slides.render_slides(build_slides.slides_exporter(), nb, "deck")
    assert "secret_setup" not in html and "shown output" in html  # hide-input honoured
    assert "In&nbsp;[" not in html and "In [" not in html  # no prompts
    assert "mermaid" not in html
    assert 'src="_vendor/requirejs/require.js"' in html
    assert "_vendor/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe" in html
    assert f'src="_vendor/{offline_assets.WIDGETS_SETUP}"' in html
    (tmp_path / "deck.html").write_text(html)
    assert offline_assets.external_resources(tmp_path) == []


# ----------------------------------------------------------------- a sample build

def _write_sample(root: Path) -> None:
    """Two chapters, a preface, one lecture and exercises; markdown and tiny code only."""
    for folder in ("book", "lectures", "exercises", "solutions"):
        (root / folder).mkdir(parents=True)
    pre = _notebook("# Preface\n\nHow to read the book.")
    one = _notebook("# 1. Logistic regression\n\nThe sigmoid $g(z) = 1/(1+e^{-z})$.")
    one.cells.append(nbformat.v4.new_code_cell("print(6 * 7)"))
    two = _notebook("# Networks\n\n$$a^{(2)} = g(\\Theta^{(1)} x)$$",
                    "Practise with [the exercises](../exercises/02_networks.ipynb) and the "
                    "[slides](../lectures/01_intro.ipynb); back to [chapter 1](01_logistic.ipynb).")
    lecture = _notebook("# Lecture 1\n\n$$h_\\theta(x) = g(\\theta^T x)$$", "## Next slide")
    for cell in lecture.cells:
        cell.metadata["slideshow"] = {"slide_type": "slide"}
    nbformat.write(pre, root / "book/00_preface.ipynb")
    nbformat.write(one, root / "book/01_logistic.ipynb")
    nbformat.write(two, root / "book/02_networks.ipynb")
    nbformat.write(lecture, root / "lectures/01_intro.ipynb")
    for name in ("01_logistic", "02_networks"):
        for folder in ("exercises", "solutions"):
            nbformat.write(_notebook(f"### Exercise in {folder}"), root / folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory):
    if shutil.which("npm") is None and not (REPO / "node_modules").is_dir():
        pytest.skip("npm is not installed: the book build needs Node.js with npm")
    root = tmp_path_factory.mktemp("sample")
    _write_sample(root)
    result = subprocess.run(
        [sys.executable, str(REPO / "tools/build_book.py"), "--root", str(root),
         "--out", str(root / "_build")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Open the book at" in result.stdout and "Done in" in result.stdout
    return root / "_build" / "html"


def test_sample_build_has_numbered_chapters_in_order(sample_site):
    index = (sample_site / "index.html").read_text()
    titles = re.findall(r'toctree-l1[^>]*><a[^>]*href="([^"]+)">([^<]+)<', index)
    assert [(href, title.strip()) for href, title in titles] == [
        ("00_preface.html", "Preface"), ("01_logistic.html", "1. Logistic regression"),
        ("02_networks.html", "2. Networks")]


def test_sample_build_front_page_links_chapters_exercises_and_slides(sample_site):
    index = (sample_site / "index.html").read_text()
    for target in ("01_logistic.html", "02_networks.html", "slides/01_intro.slides.html"):
        assert f'href="{target}"' in index, target
    downloads = re.findall(r'href="(_downloads/[^"]+)"', index)
    names = sorted(Path(d).name for d in downloads)
    assert names == sorted(["01_logistic.ipynb"] * 2 + ["02_networks.ipynb"] * 2
                           + ["01_intro.ipynb"])
    for d in downloads:
        assert (sample_site / d).is_file(), d


def test_sample_build_links_each_chapter_to_its_exercises(sample_site):
    one = (sample_site / "01_logistic.html").read_text()  # admonition added by the build
    assert re.search(r'href="_downloads/\w+/01_logistic.ipynb"', one)
    two = (sample_site / "02_networks.html").read_text()  # the chapter's own link
    assert re.search(r'href="_downloads/\w+/02_networks.ipynb"', two)
    assert 'href="slides/01_intro.slides.html"' in two
    assert 'href="01_logistic.html"' in two
    assert "Practise this chapter in its exercise notebook" not in two
    assert "Practise this chapter in its exercise notebook" in one


def test_sample_build_shows_outputs_and_math(sample_site):
    one = (sample_site / "01_logistic.html").read_text()
    assert "42" in one  # the executed output
    assert "_static/mathjax/tex-mml-chtml.js" in one
    assert (sample_site / "_static/mathjax/tex-mml-chtml.js").is_file()
    assert (sample_site / "_static/html-manager/embed-amd.js").is_file()
    assert (sample_site / "_static/requirejs/require.js").is_file()


def test_sample_build_slides_and_their_javascript(sample_site):
    deck = sample_site / "slides/01_intro.slides.html"
    html = deck.read_text()
    assert html.count("<section") >= 2
    for url in re.findall(r'(?:src|href)="(_vendor/[^"?]+)', html):
        assert (deck.parent / url).is_file(), url
    assert (deck.parent / "_vendor/reveal.js/dist/reveal.js").is_file()
    assert (deck.parent / "_vendor/mathjax2/MathJax.js").is_file()


def test_sample_build_loads_nothing_from_the_web(sample_site):
    assert offline_assets.external_resources(sample_site) == []
    # Nor does any page keep a CDN address in a script (thebe, mermaid, MathJax).
    for page in sample_site.rglob("*.html"):
        text = page.read_text()
        for cdn in ("unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "googleapis"):
            assert cdn not in text, (page.name, cdn)
