#!/usr/bin/env python
"""Build the web book and the lecture slides, offline.

    python tools/build_book.py            # what `make book` runs
    python tools/build_book.py --help     # options

What happens, in order:

1. `npm ci` installs the pinned JavaScript (MathJax, require.js, the widget renderer,
   reveal.js, jQuery) from package-lock.json into node_modules/, so no page loads
   anything from a CDN.
2. Every chapter (book/NN_*.ipynb) and every lecture (lectures/NN_*.ipynb) is executed
   in a fresh kernel, two at a time. Executed copies are cached in _build/.cache under a
   key made of the notebook's content and cnnlib's source: an unchanged notebook is not
   executed again.
3. The executed chapters are copied into a Jupyter Book source folder (_build/src) with
   a generated table of contents in file-name order; links to exercise, solution and
   lecture notebooks are pointed at their copies in the website. Jupyter Book (v1,
   Sphinx) renders them without executing anything (`execute_notebooks: off`).
4. Each executed lecture becomes a reveal.js deck in _build/html/slides/.

The book opens at _build/html/index.html.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

# jsonschema (used by nbformat and Jupyter Book to validate files) imports rfc3987_syntax
# when it is installed, which compiles a grammar for 5 s at every start. Only the "iri"
# string format needs it, and no notebook or config here uses that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = REPO / "tools" / "slides_template"
# Bump to invalidate every cached execution (e.g. after changing how notebooks run).
CACHE_VERSION = "1"
NOTEBOOK_NAME = re.compile(r"^(\d\d)_[A-Za-z0-9_\-]+\.ipynb$")

# The folder with the JavaScript copies the pages load. Sphinx copies the *contents* of
# every html_static_path folder into _static/; the name must not be `_static`, which
# Jupyter Book v1 scans and injects into every page. book/_config.yml names it too.
OFFLINE_DIR = "_offline"

# What the web book needs from node_modules: (source in node_modules, target in _static,
# patterns left out). book/_config.yml points mathjax_path and nb_ipywidgets_js here.
BOOK_ASSETS = [
    ("mathjax/es5", "mathjax", ["sre", "*-svg*.js", "*speech*", "node-main.js", "*.map"]),
    ("requirejs/require.js", "requirejs/require.js", []),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ["embed.js*", "libembed-amd.js", "*.map"]),
]
# What the slides need (copied next to them, so slides/ works on its own). reveal.js 4
# and MathJax 2 are what nbconvert's reveal template is written for.
SLIDE_ASSETS = [
    # Only the "white" theme: the others load their fonts from Google.
    ("reveal.js/dist", "reveal.js/dist", ["*.map", "*.esm.js", "theme"]),
    ("reveal.js/dist/theme/white.css", "reveal.js/dist/theme/white.css", []),
    ("reveal.js/dist/theme/fonts/source-sans-pro", "reveal.js/dist/theme/fonts/source-sans-pro", []),
    ("reveal.js/plugin", "reveal.js/plugin", ["*.map", "*.esm.js"]),
    ("requirejs/require.js", "requirejs/require.js", []),
    ("jquery/dist/jquery.min.js", "jquery/jquery.min.js", []),
    ("mathjax2/MathJax.js", "mathjax2/MathJax.js", []),
    ("mathjax2/config", "mathjax2/config", []),
    ("mathjax2/extensions", "mathjax2/extensions", []),
    ("mathjax2/localization/en", "mathjax2/localization/en", []),
    ("mathjax2/jax/element", "mathjax2/jax/element", []),
    ("mathjax2/jax/input/TeX", "mathjax2/jax/input/TeX", []),
    ("mathjax2/jax/output/CommonHTML", "mathjax2/jax/output/CommonHTML", []),
    ("mathjax2/fonts/HTML-CSS/TeX/woff", "mathjax2/fonts/HTML-CSS/TeX/woff", []),
    ("@jupyter-widgets/html-manager/dist", "html-manager", ["embed.js*", "libembed-amd.js", "*.map"]),
]
SLIDE_VENDOR = "_vendor"  # html/slides/_vendor/

# Loaded between require.js and the widget renderer (book and slides).
# 1. The renderer finds its icon fonts relative to the address require.js gives its
#    module; without a path, that is <page>/@jupyter-widgets/html-manager/dist/.
# 2. It typesets widget labels with MathJax 2's API (MathJax.Hub.Queue); the book pages
#    load MathJax 3, so they get a small stand-in.
WIDGETS_SETUP_JS = """\
(function () {
  var here = document.currentScript.src.replace(/[^/]*([?#].*)?$/, "");
  require.config({paths: {"@jupyter-widgets/html-manager/dist": here + "html-manager"}});
  document.addEventListener("DOMContentLoaded", function () {
    var mj = window.MathJax;
    if (mj && !mj.Hub) {
      mj.Hub = {Queue: function (job) {
        if (mj.typesetPromise) { mj.typesetPromise([job[2]]).catch(function () {}); }
      }};
    }
  });
})();
"""
WIDGETS_SETUP = "jupyter-widgets-setup.js"
SLIDE_OPTIONS = {
    # "white" uses fonts shipped with reveal.js; nbconvert's default ("simple") fetches
    # its fonts from Google.
    "reveal_theme": "white",
    "reveal_url_prefix": f"{SLIDE_VENDOR}/reveal.js",
    "require_js_url": f"{SLIDE_VENDOR}/requirejs/require.js",
    "jquery_url": f"{SLIDE_VENDOR}/jquery/jquery.min.js",
    "mathjax_url": f"{SLIDE_VENDOR}/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "widget_renderer_url": f"{SLIDE_VENDOR}/html-manager/embed-amd.js",
}
SLIDE_TEMPLATE = "offline_reveal.html.j2"

# The tab icon (book/_config.yml: html.favicon): a 3x3 filter, the book's running example.
FAVICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 30 30">
<rect width="30" height="30" rx="4" fill="#1f4e79"/>
<g fill="#ffffff"><rect x="4" y="4" width="6" height="6"/><rect x="20" y="4" width="6" height="6"/>
<rect x="12" y="12" width="6" height="6"/><rect x="4" y="20" width="6" height="6"/>
<rect x="20" y="20" width="6" height="6"/></g></svg>
"""

PRIVATE_MIME = "application/vnd.cnnlib."

GENERATED_BEGIN = "<!-- BEGIN GENERATED CONTENTS -->"
GENERATED_END = "<!-- END GENERATED CONTENTS -->"


class BuildError(RuntimeError):
    """A failure the reader can act on; printed without a traceback."""


def say(msg: str = "") -> None:
    print(msg, flush=True)


# --------------------------------------------------------------------------- discovery


def numbered_notebooks(folder: Path) -> list[Path]:
    """The NN_name.ipynb files of a folder, in file-name (= reading) order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if NOTEBOOK_NAME.match(p.name))


def make_toc(chapters: list[str], root: str = "index") -> str:
    """The _toc.yml text for chapter stems in order.

    Chapters numbered 00 (the preface) stand unnumbered before the rest; the others are
    numbered by Sphinx from 1 in file-name order, so 01_x is chapter 1 as long as the
    numbers have no gaps (`check_numbering` warns when they do).
    """
    front = [c for c in chapters if c.startswith("00_")]
    main = [c for c in chapters if not c.startswith("00_")]
    lines = ["# Generated by tools/build_book.py from the chapters present; do not edit.",
             "format: jb-book", f"root: {root}", "parts:"]
    if front:
        lines += ["- caption: Front matter", "  chapters:"]
        lines += [f"  - file: {c}" for c in front]
    if main:
        lines += ["- caption: Chapters", "  numbered: true", "  chapters:"]
        lines += [f"  - file: {c}" for c in main]
    if not front and not main:
        lines = lines[:-1]  # a book of only the front page
    return "\n".join(lines) + "\n"


def check_numbering(chapters: list[str]) -> list[str]:
    """Warnings for file numbers that will not match the numbers Sphinx shows."""
    warnings = []
    numbered = [c for c in chapters if not c.startswith("00_")]
    for shown, stem in enumerate(numbered, start=1):
        if int(stem[:2]) != shown:
            warnings.append(f"{stem}.ipynb is shown as chapter {shown} (a chapter number "
                            "is missing or repeated before it)")
    return warnings


# --------------------------------------------------------------------------- npm


def ensure_node_modules(repo: Path) -> Path:
    """Run `npm ci` when node_modules/ does not match package-lock.json."""
    lock = repo / "package-lock.json"
    modules = repo / "node_modules"
    stamp = modules / ".learning-to-see-lock.sha256"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == digest:
        return modules
    from filelock import FileLock

    (repo / "_build").mkdir(exist_ok=True)
    with FileLock(str(repo / "_build" / ".npm-ci.lock")):  # two builds at once (tests)
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return modules
        run_npm_ci(repo)
        stamp.write_text(digest + "\n")
    return modules


def run_npm_ci(repo: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            "npm was not found. The book loads MathJax, reveal.js and the widget renderer "
            "from local copies that npm installs.\n"
            "Install Node.js 18 or newer with npm (Debian/Ubuntu: `sudo apt-get install "
            "nodejs npm`; macOS: `brew install node`; Windows: the installer from "
            "nodejs.org), then run `make book` again.")
    say("Installing the pinned JavaScript packages (npm ci) ...")
    cmd = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    result = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"`npm ci` failed:\n{result.stdout}\n{result.stderr}")


def copy_assets(modules: Path, dest: Path, assets: list[tuple[str, str, list[str]]]) -> None:
    """Copy the listed node_modules files/folders to dest (once per package-lock)."""
    stamp = dest / ".assets.json"
    key = json.dumps([hashlib.sha256((modules.parent / "package-lock.json").read_bytes())
                      .hexdigest(), assets, WIDGETS_SETUP_JS])
    if stamp.is_file() and stamp.read_text() == key:
        return
    if dest.exists():
        shutil.rmtree(dest)
    for src, target, leave_out in assets:
        src_path, target_path = modules / src, dest / target
        if not src_path.exists():
            raise BuildError(f"node_modules/{src} is missing: delete node_modules/ and "
                             "run the build again")
        target_path.parent.mkdir(parents=True, exist_ok=True)
        if src_path.is_dir():
            shutil.copytree(src_path, target_path, ignore=shutil.ignore_patterns(*leave_out))
        else:
            shutil.copy2(src_path, target_path)
    (dest / WIDGETS_SETUP).write_text(WIDGETS_SETUP_JS)
    stamp.write_text(key)


# --------------------------------------------------------------------------- execution


def source_digest(repo: Path) -> str:
    """A hash of cnnlib's source (and data files): when it changes, notebooks rerun."""
    h = hashlib.sha256()
    package = repo / "cnnlib"
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            h.update(path.relative_to(package).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def cache_path(cache: Path, notebook: Path, cnnlib_digest: str) -> Path:
    h = hashlib.sha256()
    for part in (CACHE_VERSION.encode(), cnnlib_digest.encode(), notebook.read_bytes()):
        h.update(part + b"\0")
    return cache / notebook.parent.name / f"{notebook.stem}.{h.hexdigest()[:20]}.ipynb"


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def execute_one(notebook: str, target: str, timeout: int,
                threads: int | None = None) -> tuple[str, float, str | None]:
    """Execute one notebook in a fresh kernel (in a worker process); write it to target.

    The kernel's own log (start-up chatter, warnings) goes to target's folder as
    NN_name.kernel.log rather than into the build's output.

    Returns (notebook, seconds, error message or None).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    # This runs in a worker process, so the environment changes stay here. The kernel
    # must draw figures inline even when the caller set MPLBACKEND=Agg (the test suite
    # does); and kernels side by side should not each claim every core.
    os.environ.pop("MPLBACKEND", None)
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, str(threads))
    start = time.perf_counter()
    src = Path(notebook)
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(src.parent)}})
    out = Path(target)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        if any(cell.cell_type == "code" for cell in nb.cells):  # else no kernel needed
            with open(out.parent / f"{src.stem}.kernel.log", "w") as log:
                client.execute(stderr=log, stdout=log)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        lines = _strip_ansi(str(exc)).strip().splitlines()
        return notebook, time.perf_counter() - start, "\n".join(lines[-25:])
    except Exception as exc:  # a kernel that cannot start, a broken notebook file
        return notebook, time.perf_counter() - start, f"{type(exc).__name__}: {exc}"
    tmp = out.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(out)
    return notebook, time.perf_counter() - start, None


def execute_all(notebooks: list[Path], cache: Path, repo: Path, jobs: int, timeout: int,
                force: bool) -> dict[Path, Path]:
    """Executed copies of every notebook, from the cache where possible."""
    digest = source_digest(repo)
    targets = {nb: cache_path(cache, nb, digest) for nb in notebooks}
    todo = [nb for nb in notebooks if force or not targets[nb].is_file()]
    cached = len(notebooks) - len(todo)
    if cached:
        say(f"{cached} notebook(s) unchanged since their last run: using the cached outputs")
    if todo:
        say(f"Executing {len(todo)} notebook(s), {jobs} at a time ...")
    threads = max(1, (os.cpu_count() or 2) // jobs) if jobs > 1 else None
    failures = []
    if todo:
        with futures.ProcessPoolExecutor(max_workers=jobs) as pool:
            jobs_ = [pool.submit(execute_one, str(nb), str(targets[nb]), timeout, threads) for nb in todo]
            for job in futures.as_completed(jobs_):
                notebook, seconds, error = job.result()
                name = f"{Path(notebook).parent.name}/{Path(notebook).name}"
                if error:
                    say(f"  FAILED   {name} after {seconds:.1f} s")
                    failures.append((name, error))
                else:
                    say(f"  executed {name} in {seconds:.1f} s")
    if failures:
        report = "\n\n".join(f"--- {name} ---\n{error}" for name, error in failures)
        raise BuildError(f"{len(failures)} notebook(s) failed to execute:\n\n{report}")
    # Drop stale cache entries of the same notebooks (older content or cnnlib).
    for nb, target in targets.items():
        for old in target.parent.glob(f"{nb.stem}.*.ipynb"):
            if old != target:
                old.unlink()
    return targets


# --------------------------------------------------------------------------- staging

LINK = re.compile(r"(\]\(\s*)(\.\./[^)\s]+)(\s*(?:\"[^\"]*\")?\s*\))")
TITLE_NUMBER = re.compile(r"^(#\s+)(?:chapter\s+\d+\s*[.:\-\u2013\u2014]?\s*|\d+(?:\.\d+)*\.?\s+)",
                          re.IGNORECASE)


def rewrite_links(text: str, root: Path, src_dir: Path, for_slides: bool = False) -> str:
    """Point links to notebooks outside book/ at their place in the website.

    In JupyterLab a chapter links `../exercises/03_x.ipynb`; on the website that becomes
    a download of the same file, `../lectures/03_x.ipynb` becomes the slide deck and
    `../book/03_x.ipynb` the chapter's page. Links that do not resolve stay unchanged.
    """
    def fix(match: re.Match) -> str:
        target, _, anchor = match.group(2).partition("#")
        anchor = f"#{anchor}" if anchor else ""
        parts = Path(target).parts  # ('..', 'exercises', '03_x.ipynb')
        if len(parts) < 3:
            return match.group(0)
        folder, rest = parts[1], Path(*parts[2:])
        if for_slides:
            if folder == "book" and rest.suffix == ".ipynb":
                new = f"../{rest.with_suffix('.html').as_posix()}{anchor}"
            elif folder == "lectures" and rest.suffix == ".ipynb":
                new = f"{rest.stem}.slides.html{anchor}"
            else:
                return match.group(0)  # exercises/ and solutions/ are copied beside slides/
        else:
            file = (root / folder / rest)
            if folder == "book":
                new = f"{rest.as_posix()}{anchor}"
            elif folder == "lectures" and rest.suffix == ".ipynb":
                new = f"site:slides/{rest.stem}.slides.html"
            elif file.is_file():
                new = "path:" + Path(os.path.relpath(file, src_dir)).as_posix()
            else:
                return match.group(0)
        return f"{match.group(1)}{new}{match.group(3)}"

    return LINK.sub(fix, text)


def prepare_chapter(executed: Path, stem: str, root: Path, src_dir: Path) -> tuple[str, str]:
    """The executed chapter as it goes into the book, and its title."""
    import nbformat

    nb = nbformat.read(executed, as_version=4)
    title = stem
    exercise = root / "exercises" / f"{stem}.ipynb"
    solution = root / "solutions" / f"{stem}.ipynb"
    links_exercise = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            # The check records that cnnlib.checks leaves for the grader: the page shows
            # their text/plain twin.
            for mime in [m for m in output.get("data", {}) if m.startswith(PRIVATE_MIME)]:
                del output["data"][mime]
        if cell.cell_type != "markdown":
            continue
        if f"exercises/{stem}.ipynb" in cell.source:
            links_exercise = True
        if title == stem:
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    # Sphinx numbers the chapters; a number typed in the title would
                    # show twice ("2. 2. Networks").
                    cell.source = cell.source.replace(line, TITLE_NUMBER.sub(r"\1", line), 1)
                    title = TITLE_NUMBER.sub("", line).lstrip("#").strip() or stem
                    break
        cell.source = rewrite_links(cell.source, root, src_dir)
    if exercise.is_file() and not links_exercise:
        rel = lambda p: Path(os.path.relpath(p, src_dir)).as_posix()  # noqa: E731
        text = (":::{admonition} Exercises\n:class: tip\n"
                f"Practise this chapter in its exercise notebook "
                f"[exercises/{stem}.ipynb](path:{rel(exercise)})")
        if solution.is_file():
            text += f" (solved in [solutions/{stem}.ipynb](path:{rel(solution)}))"
        text += ". Open it in JupyterLab next to the book; each exercise ends with a check.\n:::"
        nb.cells.append(nbformat.v4.new_markdown_cell(text))
    return nbformat.writes(nb), title


def front_page_contents(chapters: list[tuple[str, str]], lectures: list[tuple[str, str]],
                        root: Path, src_dir: Path) -> str:
    """Markdown tables of chapters (with exercise downloads) and slide decks."""
    rel = lambda p: Path(os.path.relpath(p, src_dir)).as_posix()  # noqa: E731
    out = []
    if chapters:
        out += ["## Chapters", "",
                "| | chapter | exercises | solutions |", "| --- | --- | --- | --- |"]
        number = 0
        for stem, title in chapters:
            label = "" if stem.startswith("00_") else str(number := number + 1)
            ex, sol = (root / d / f"{stem}.ipynb" for d in ("exercises", "solutions"))
            ex_link = f"[{ex.name}](path:{rel(ex)})" if ex.is_file() else ""
            sol_link = f"[{sol.name}](path:{rel(sol)})" if sol.is_file() else ""
            out.append(f"| {label} | [{title}]({stem}.ipynb) | {ex_link} | {sol_link} |")
        out.append("")
    if lectures:
        out += ["## Slides for teaching", "",
                "| lecture | slides | notebook |", "| --- | --- | --- |"]
        for stem, title in lectures:
            nb = root / "lectures" / f"{stem}.ipynb"
            out.append(f"| {title} | [{stem}.slides.html](site:slides/{stem}.slides.html) "
                       f"| [{nb.name}](path:{rel(nb)}) |")
        out.append("")
    if not out:
        out = ["No chapters have been written yet.", ""]
    return "\n".join(out)


def notebook_title(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return TITLE_NUMBER.sub("", line).lstrip("#").strip()
    return path.stem


def write_if_changed(path: Path, text: str | bytes) -> None:
    """Leave unchanged files alone so Sphinx rebuilds only what changed."""
    data = text.encode() if isinstance(text, str) else text
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def stage_book(root: Path, src: Path, modules: Path, executed: dict[Path, Path],
               chapters: list[Path], lectures: list[Path]) -> list[str]:
    """Assemble the Jupyter Book source folder; returns the files it holds."""
    book = root / "book"
    config = book / "_config.yml" if (book / "_config.yml").is_file() else REPO / "book/_config.yml"
    intro = book / "intro.md" if (book / "intro.md").is_file() else REPO / "book/intro.md"
    src.mkdir(parents=True, exist_ok=True)
    keep = {"_config.yml", "_toc.yml", "index.md", OFFLINE_DIR}

    write_if_changed(src / "_config.yml", config.read_bytes())
    stems = [c.stem for c in chapters]
    write_if_changed(src / "_toc.yml", make_toc(stems))

    titles = []
    for chapter in chapters:
        text, title = prepare_chapter(executed[chapter], chapter.stem, root, src)
        write_if_changed(src / chapter.name, text)
        keep.add(chapter.name)
        titles.append((chapter.stem, title))
    lecture_titles = [(lec.stem, notebook_title(lec)) for lec in lectures]

    text = intro.read_text(encoding="utf-8")
    generated = front_page_contents(titles, lecture_titles, root, src)
    if GENERATED_BEGIN in text and GENERATED_END in text:
        head, _, tail = text.partition(GENERATED_BEGIN)
        _, _, tail = tail.partition(GENERATED_END)
        text = f"{head}{generated}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{generated}"
    write_if_changed(src / "index.md", text)

    # Figures and other files the chapters refer to (book/figures/..., data files).
    for item in book.iterdir():
        if item.name in {"_config.yml", "_toc.yml", "intro.md", "_build"} or \
                item.name.startswith(".") or item.suffix == ".ipynb":
            continue
        keep.add(item.name)
        if item.is_dir():
            for f in item.rglob("*"):
                if f.is_file() and ".ipynb_checkpoints" not in f.parts:
                    write_if_changed(src / f.relative_to(book), f.read_bytes())
        else:
            write_if_changed(src / item.name, item.read_bytes())

    copy_assets(modules, src / OFFLINE_DIR, BOOK_ASSETS)
    write_if_changed(src / OFFLINE_DIR / "favicon.svg", FAVICON_SVG)
    for stale in src.iterdir():  # chapters renamed or removed since the last build
        if stale.name not in keep:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    return sorted(keep)


# --------------------------------------------------------------------------- sphinx


def build_html(src: Path, html: Path, doctrees: Path) -> list[str]:
    """Run Jupyter Book (Sphinx) on the staged source; returns its warnings."""
    import io

    from jupyter_book.sphinx import build_sphinx

    warnings = io.StringIO()
    with contextlib.redirect_stderr(warnings), contextlib.redirect_stdout(io.StringIO()):
        result = build_sphinx(
            src, html, noconfig=True, path_config=str(src / "_config.yml"),
            confoverrides={"external_toc_path": str(src / "_toc.yml"),
                           "latex_individualpages": False},
            doctreedir=doctrees, quiet=True, jobs=1)
    lines = [_strip_ansi(l) for l in warnings.getvalue().splitlines() if l.strip()]
    if result != 0:
        raise BuildError("Jupyter Book failed:\n" + "\n".join(lines[-40:]))
    return lines


# --------------------------------------------------------------------------- slides


def slides_exporter():
    """nbconvert's SlidesExporter pointed at the local JavaScript in slides/_vendor/."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    for key, value in SLIDE_OPTIONS.items():
        setattr(config.SlidesExporter, key, value)
    config.SlidesExporter.extra_template_paths = [str(TEMPLATE_DIR)]
    config.SlidesExporter.template_file = SLIDE_TEMPLATE
    return SlidesExporter(config=config)


def render_slides(exporter, nb, name: str) -> str:
    """The reveal.js HTML of an (executed) notebook node."""
    resources = {"metadata": {"name": name},
                 "widgets_setup_url": f"{SLIDE_VENDOR}/{WIDGETS_SETUP}"}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def build_slides(lectures: list[Path], executed: dict[Path, Path], root: Path,
                 slides_dir: Path, modules: Path, cache: Path) -> list[Path]:
    """reveal.js decks for the executed lectures, all JavaScript local."""
    import nbformat

    slides_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(modules, slides_dir / SLIDE_VENDOR, SLIDE_ASSETS)
    # Exercise and solution notebooks that decks link to (../exercises/NN_x.ipynb).
    for folder in ("exercises", "solutions"):
        for nb in numbered_notebooks(root / folder):
            write_if_changed(slides_dir.parent / folder / nb.name, nb.read_bytes())

    exporter = slides_exporter()
    template_key = hashlib.sha256(json.dumps(SLIDE_OPTIONS).encode() + b"".join(
        p.read_bytes() for p in sorted(TEMPLATE_DIR.rglob("*")) if p.is_file())).hexdigest()

    stamps_file = cache / "slides.json"
    stamps = json.loads(stamps_file.read_text()) if stamps_file.is_file() else {}
    built = []
    for lecture in lectures:
        out = slides_dir / f"{lecture.stem}.slides.html"
        key = f"{executed[lecture].name}:{template_key}"
        if out.is_file() and stamps.get(lecture.stem) == key:
            built.append(out)
            continue
        nb = nbformat.read(executed[lecture], as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, root, slides_dir, for_slides=True)
        body = render_slides(exporter, nb, lecture.stem)
        out.write_text(body, encoding="utf-8")
        stamps[lecture.stem] = key
        built.append(out)
    for old in slides_dir.glob("*.slides.html"):
        if old not in built:
            old.unlink()
    stamps_file.parent.mkdir(parents=True, exist_ok=True)
    stamps_file.write_text(json.dumps(stamps, indent=1))
    return built


# --------------------------------------------------------------------------- offline check

# Attributes through which a page loads something (links a reader clicks are fine).
RESOURCE_ATTRS = {"script": "src", "img": "src", "iframe": "src", "source": "src",
                  "video": "src", "audio": "src", "embed": "src", "track": "src",
                  "object": "data", "input": "src"}
EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//", re.ASCII)
CSS_URL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])([^'\")\s]+)")


def _is_external(url: str) -> bool:
    return bool(EXTERNAL.match(url)) and not url.strip().lower().startswith("file:")


def external_resources(html_dir: Path) -> list[str]:
    """Every place where a built page or style sheet would load something from the web.

    Looks at script/img/iframe/... sources, <link> elements other than plain navigation
    (style sheets, preloads, icons, fonts), inline styles and url()/@import in CSS files.
    Returns "file: url" strings; empty when the site is self-contained.
    """
    from html.parser import HTMLParser

    found: list[str] = []

    class Scanner(HTMLParser):
        def __init__(self, name: str):
            super().__init__(convert_charrefs=True)
            self.name, self.in_style = name, False

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            urls = []
            if tag in RESOURCE_ATTRS and attrs.get(RESOURCE_ATTRS[tag]):
                urls.append(attrs[RESOURCE_ATTRS[tag]])
            if tag == "link" and attrs.get("href"):
                rel = (attrs.get("rel") or "").lower().split()
                if not set(rel) <= {"next", "prev", "index", "search", "canonical",
                                    "author", "license", "help", "alternate"}:
                    urls.append(attrs["href"])
            if attrs.get("style"):
                urls += CSS_URL.findall(attrs["style"])
            self.in_style = tag == "style"
            found.extend(f"{self.name}: <{tag}> {u}" for u in urls if _is_external(u))

        def handle_data(self, data):
            if self.in_style:
                found.extend(f"{self.name}: <style> {u}" for u in CSS_URL.findall(
                    _strip_css_comments(data)) if _is_external(u))

        def handle_endtag(self, tag):
            self.in_style = False

    for path in sorted(html_dir.rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(html_dir).as_posix()
        if path.suffix == ".html":
            Scanner(name).feed(path.read_text(encoding="utf-8", errors="replace"))
        elif path.suffix == ".css":
            css = _strip_css_comments(path.read_text(encoding="utf-8", errors="replace"))
            found.extend(f"{name}: {u}" for u in CSS_URL.findall(css) if _is_external(u))
    return found


def _strip_css_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)


# --------------------------------------------------------------------------- main


def build(root: Path, out: Path, jobs: int = 2, timeout: int = 600, force: bool = False,
          slides: bool = True) -> Path:
    """Everything `make book` does; returns the path of index.html."""
    from filelock import FileLock

    start = time.perf_counter()
    stages: list[tuple[str, float]] = []

    def lap(name: str) -> None:
        stages.append((name, time.perf_counter() - start - sum(t for _, t in stages)))

    out.mkdir(parents=True, exist_ok=True)
    # One build at a time per output folder (make book beside a test run, two test workers).
    with FileLock(str(out / ".build.lock")):
        modules = ensure_node_modules(REPO)
        lap("npm")
        chapters = numbered_notebooks(root / "book")
        lectures = numbered_notebooks(root / "lectures")
        say(f"Book: {len(chapters)} chapter(s) in book/, {len(lectures)} lecture(s) in lectures/")
        for warning in check_numbering([c.stem for c in chapters]):
            say(f"WARNING: {warning}")
        cache = out / ".cache"
        executed = execute_all(chapters + (lectures if slides else []), cache, REPO,
                               jobs, timeout, force)
        lap("execution")

        src, html = out / "src", out / "html"
        stage_book(root, src, modules, executed, chapters, lectures if slides else [])
        say("Building the HTML book (Jupyter Book) ...")
        for line in build_html(src, html, out / ".doctrees"):
            if "WARNING" in line or "ERROR" in line:
                say(f"  {line}")
        lap("Jupyter Book")
        if slides:
            decks = build_slides(lectures, executed, root, html / "slides", modules, cache)
            say(f"Built {len(decks)} slide deck(s) in {html / 'slides'}")
            lap("slides")
        index = html / "index.html"
        outside = external_resources(html)
        if outside:
            raise BuildError("the built pages would load these from the web (a reader "
                             "offline would miss them):\n  " + "\n  ".join(outside[:40]))
    seconds = time.perf_counter() - start
    minutes, secs = divmod(round(seconds), 60)
    detail = ", ".join(f"{name} {t:.0f} s" for name, t in stages)
    say(f"\nDone in {f'{minutes} min ' if minutes else ''}{secs} s ({detail}). "
        f"Open the book at:\n    {index}\n    {index.resolve().as_uri()}")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=REPO,
                        help="folder holding book/, lectures/, exercises/, solutions/ "
                             "(default: this repository)")
    parser.add_argument("--out", type=Path, default=REPO / "_build",
                        help="build folder (default: _build); the book lands in OUT/html")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks executed at once")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    parser.add_argument("--force", action="store_true",
                        help="execute every notebook again, ignoring the cache")
    parser.add_argument("--no-slides", action="store_true", help="skip the lecture slides")
    args = parser.parse_args(argv)
    try:
        build(args.root.resolve(), args.out.resolve(), jobs=max(1, args.jobs),
              timeout=args.timeout, force=args.force, slides=not args.no_slides)
    except BuildError as exc:
        print(f"\nmake book failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
