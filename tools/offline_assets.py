"""The JavaScript that the web book and the slides load, and a check that they load
nothing else from the web.

MathJax, require.js, the widget renderer, reveal.js and jQuery come from npm, pinned in
package.json / package-lock.json and installed by `npm ci` into node_modules/ (never
committed). The build copies the few files the pages need next to them:
_build/html/_static/ for the book, _build/html/slides/_vendor/ for the decks.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path


class BuildError(RuntimeError):
    """A failure the reader can act on; printed without a traceback."""


def say(msg: str = "") -> None:
    print(msg, flush=True)


def write_if_changed(path: Path, text: str | bytes) -> None:
    """Leave unchanged files alone so Sphinx rebuilds only what changed."""
    data = text.encode() if isinstance(text, str) else text
    if path.is_file() and path.read_bytes() == data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


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
SLIDE_VENDOR = "_vendor"  # html/slides/_vendor/, so the decks work on their own

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
# The book's own style sheet (book/_config.yml: html_css_files). Tables that code prints
# (the preface's cross-check table) are data, not prose: a smaller font and tighter
# cells let them fit the text column instead of scrolling sideways.
BOOK_CSS = """\
.cell_output table { font-size: 0.8em; }
.cell_output table th, .cell_output table td { padding: 0.2em 0.45em; }
"""
BOOK_CSS_FILE = "book.css"
# The tab icon (book/_config.yml: html.favicon): a 3x3 filter, the book's running example.
FAVICON_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 30 30">
<rect width="30" height="30" rx="4" fill="#1f4e79"/>
<g fill="#ffffff"><rect x="4" y="4" width="6" height="6"/><rect x="20" y="4" width="6" height="6"/>
<rect x="12" y="12" width="6" height="6"/><rect x="4" y="20" width="6" height="6"/>
<rect x="20" y="20" width="6" height="6"/></g></svg>
"""


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
