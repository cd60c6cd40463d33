"""The built book and slides in a real browser: Chromium, headless, with no network.

Builds the book once for this module, the way `make book` does (into _build/, sharing
its execution cache, so after a `make book` only Jupyter Book runs again), serves
_build/html on 127.0.0.1 and opens the front page, every chapter and every slide deck.
Each page must load nothing from outside this machine, log no errors, typeset its
math with no equation wider than the text column, decode every figure at a size whose
labels can be read, show no dead widget, no progress-bar timings and no raw
reStructuredText; every interactive figure's slider, dragged with the mouse, must change
the picture; a deck must move on with the arrow key. Screenshots land in
_build/screenshots/.

Needs Chromium at /usr/bin/chromium (Debian: `apt-get install chromium`); without it
the tests are skipped with a warning.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from urllib.parse import urlparse

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from cnnlib.viz.interactive import FRAME_DPI  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
# A figure's text is readable when the page shows at least this many pixels per inch
# of the figure: 10-point tick labels are then >= 8.3 px high. Notebook figures are
# PNGs at 100 dpi (matplotlib's inline default), an interactive figure's frames at
# FRAME_DPI.
MIN_PIXELS_PER_INCH = 60
FIGURE_DPI = 100
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NOTEBOOK = re.compile(r"^\d\d_[A-Za-z0-9_\-]+\.ipynb$")
# Set BOOK_ROOT to check the book of another folder (with book/ and lectures/).
ROOT = Path(os.environ.get("BOOK_ROOT", REPO)).resolve()
OUT = REPO / "_build" if ROOT == REPO else ROOT / "_build"
SCREENSHOTS = OUT / "screenshots"


def _stems(folder: str) -> list[str]:
    path = ROOT / folder
    return sorted(p.stem for p in path.iterdir() if NOTEBOOK.match(p.name)) if path.is_dir() else []


CHAPTERS = _stems("book")
LECTURES = _stems("lectures")
# The first test builds the book: from a cold cache that executes every notebook (the
# suite's default of 900 s per test is not enough on two cores); later runs reuse it.
pytestmark = pytest.mark.timeout(2400)


def _or_skip(stems: list[str], what: str) -> list:
    return stems or [pytest.param(None, marks=pytest.mark.skip(reason=f"no {what} yet"))]


def _require_browser() -> None:
    if not CHROMIUM.exists():
        message = (f"Chromium is not installed at {CHROMIUM}: the browser test of the book "
                   "did NOT run. Install it with `apt-get install chromium`.")
        warnings.warn(message)
        print(f"\nWARNING: {message}", file=sys.stderr)
        pytest.skip(message)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the Python package playwright is not installed (pip install -r requirements.txt)")


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the book and slides (reusing cached notebook runs); returns the html folder."""
    _require_browser()
    result = subprocess.run(
        [sys.executable, str(REPO / "tools/build_book.py"), "--root", str(ROOT), "--out", str(OUT)],
        capture_output=True, text=True, timeout=2300)
    print(result.stdout[-2000:])
    if result.returncode != 0:
        pytest.fail(f"the book build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return OUT / "html"


@pytest.fixture(scope="module")
def server(site: Path):
    """_build/html on http://127.0.0.1:<free port>/ (404s show up, unlike file://)."""
    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep the test output quiet
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page in a fresh browser context, with everything it asked for recorded."""

    def __init__(self, browser, base: str, path: str):
        self.base, self.outside, self.errors = base, [], []
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("requestfailed", lambda r: self.errors.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(
            f"HTTP {r.status}: {r.url}"))
        self.page.goto(base + path, wait_until="load")

    def _route(self, route):
        url = route.request.url
        scheme = urlparse(url).scheme
        if url.startswith(self.base) or scheme in ("data", "blob", "about"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console error: {message.text} ({message.location.get('url')})")

    def check_clean(self) -> None:
        assert self.outside == [], f"requests leaving the machine: {self.outside}"
        assert self.errors == [], "\n".join(self.errors)

    def check_images(self) -> int:
        """Every <img> decodes to a real picture; returns how many there are."""
        broken = self.page.evaluate("""async () => {
            const imgs = Array.from(document.images);
            await Promise.all(imgs.map(i => i.decode().catch(() => null)));
            return imgs.filter(i => !(i.complete && i.naturalWidth > 0))
                       .map(i => (i.currentSrc || i.src).slice(0, 120));
        }""")
        assert broken == [], f"images that did not decode: {broken}"
        return self.page.evaluate("document.images.length")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server):
    opened = []

    def open_page(path: str) -> Visit:
        opened.append(Visit(browser, server, path))
        return opened[-1]

    yield open_page
    for page in opened:
        page.close()


def _wait_for_math_v3(page) -> tuple[int, int, int]:
    """Wait for MathJax 3; returns (math elements, typeset, TeX errors)."""
    if page.locator(".math").count() == 0:
        return 0, 0, 0
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=20_000)
    page.evaluate("MathJax.startup.promise")
    page.wait_for_function(
        "Array.from(document.querySelectorAll('.math')).every(e => e.querySelector('mjx-container'))",
        timeout=20_000)
    return (page.locator(".math").count(), page.locator(".math mjx-container").count(),
            page.locator("mjx-merror").count())


def _wait_for_widgets(page) -> tuple[int, int]:
    """(widget views in the page, rendered widgets) once the renderer has run."""
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        page.wait_for_selector(".jupyter-widgets", state="attached", timeout=20_000)
        page.wait_for_timeout(500)  # the renderer fills outputs view by view
    return views, page.locator(".jupyter-widgets").count()


def test_front_page(visit, site):
    page = visit("index.html")
    html = page.page.content()
    for stem in CHAPTERS:
        assert f'href="{stem}.html"' in html, f"the front page does not link chapter {stem}"
    for stem in LECTURES:
        assert f'href="slides/{stem}.slides.html"' in html, f"no link to the slides of {stem}"
    page.check_images()
    page.page.screenshot(path=str(SCREENSHOTS / "front_page.png"))
    page.check_clean()


WIDE_EQUATIONS = """Array.from(document.querySelectorAll('mjx-container[display="true"]'))
    .filter(m => m.scrollWidth > m.clientWidth + 1)
    .map(m => [(m.closest('section') || {}).id, m.scrollWidth, m.clientWidth,
               m.textContent.slice(0, 60)])"""

SMALL_FIGURES = """([minimum, figureDpi, frameDpi]) => Array.from(
        document.querySelectorAll('.cell_output img, .output img'))
    .filter(i => i.naturalWidth > 0)
    .map(i => {
        const dpi = i.closest('.cnnlib-player') ? frameDpi : figureDpi;
        return [i.clientWidth * dpi / i.naturalWidth, i.naturalWidth, i.clientWidth,
                (i.closest('section') || {}).id];
    })
    .filter(x => x[0] < minimum)"""


def _drag_first_slider(page, player, name: str | None = None) -> tuple[str, str]:
    """Drag the player's first slider with the mouse, from its start to the far end;
    returns the frame key before and after (and screenshots the player when named)."""
    slider = player.locator("input.cnnlib-player-slider").first
    player.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(200)
    before_key, before_src = player.get_attribute("data-frame"), \
        player.locator("img").get_attribute("src")
    if name:
        player.screenshot(path=str(SCREENSHOTS / f"{name}_before.png"))
    box = slider.bounding_box()
    value, top = int(slider.input_value()), int(slider.get_attribute("max"))
    # the thumb sits at value / max of the track; drag it to the other end
    start_x = box["x"] + 8 + (box["width"] - 16) * value / max(top, 1)
    end_x = box["x"] + (2 if value > top / 2 else box["width"] - 2)
    y = box["y"] + box["height"] / 2
    page.mouse.move(start_x, y)
    page.mouse.down()
    page.mouse.move((start_x + end_x) / 2, y, steps=5)
    page.mouse.move(end_x, y, steps=5)
    page.mouse.up()
    page.wait_for_timeout(300)
    after_key, after_src = player.get_attribute("data-frame"), \
        player.locator("img").get_attribute("src")
    if name:
        player.screenshot(path=str(SCREENSHOTS / f"{name}_after.png"))
    assert after_key != before_key, f"dragging the slider did not move it ({before_key})"
    assert after_src != before_src, f"the picture did not change ({before_key} -> {after_key})"
    return before_key, after_key


@pytest.mark.parametrize("stem", _or_skip(CHAPTERS, "chapters (book/NN_*.ipynb)"))
def test_chapter_page(visit, stem):
    page = visit(f"{stem}.html")
    maths, typeset, tex_errors = _wait_for_math_v3(page.page)
    assert typeset == maths, f"{maths - typeset} of {maths} formulas were not typeset"
    assert tex_errors == 0, f"{tex_errors} formulas have TeX errors (red in the page)"
    wide = page.page.evaluate(WIDE_EQUATIONS)
    assert wide == [], f"equations wider than the text column (section, width, column): {wide}"
    # An interactive figure shows its kernel-free twin, once: no widget is left to
    # render (a static page has no kernel to drive it), progress bars are plain text.
    views, rendered = _wait_for_widgets(page.page)
    assert views == 0 and rendered == 0, f"{views} widget view(s) left on a static page"
    text = page.page.inner_text("article")
    for raw in (":math:`", ":func:`", ":class:`"):
        assert raw not in text, f"the page shows raw reStructuredText {raw!r}"
    # A plotting call left as a cell's last expression prints its return value above
    # the figure (end the line with ';').
    reprs = re.findall(r"<(?:Axes|Figure size|matplotlib\.)[^>\n]{0,60}", text)
    assert reprs == [], f"matplotlib objects printed as text: {reprs}"
    # A warning in a page is a bug in the chapter, and it prints this machine's paths.
    warnings = re.findall(r"\w+Warning: [^\n]{0,80}", text)
    assert warnings == [], f"warnings printed in the page: {warnings}"
    timings = re.findall(r"\d\d:\d\d<[\d:?]+|\b\d+(?:\.\d+)?\s*(?:it|epoch|batch)/s\b", text)
    assert timings == [], f"progress-bar timings left in the page: {timings}"
    page.check_images()
    small = page.page.evaluate(SMALL_FIGURES, [MIN_PIXELS_PER_INCH, FIGURE_DPI, FRAME_DPI])
    assert small == [], ("figures shrunk until their labels cannot be read (pixels per "
                         f"figure inch, natural width, shown width, section): {small}")
    players = page.page.locator(".cnnlib-player")
    showcase = stem == _showcase_chapter()
    for k in range(players.count()):
        _drag_first_slider(page.page, players.nth(k),
                           name="chapter_player" if showcase and k == 0 else None)
    assert page.page.locator("h1").first.inner_text().strip(), "the chapter has no title"
    if showcase:
        page.page.evaluate("window.scrollTo(0, 0)")
        page.page.screenshot(path=str(SCREENSHOTS / "chapter.png"))
        target = page.page.locator(".cell_output img").first
        if target.count():
            target.evaluate("e => e.scrollIntoView({block: 'center'})")
            page.page.wait_for_timeout(300)
            page.page.screenshot(path=str(SCREENSHOTS / "chapter_figure.png"))
    page.check_clean()


def test_preface_shows_the_cross_check_table(visit):
    stem = next((c for c in CHAPTERS if c.startswith("00_")), None)
    if stem is None:
        pytest.skip("no preface")
    page = visit(f"{stem}.html")
    headers = page.page.evaluate("""Array.from(document.querySelectorAll('table th'))
        .map(th => th.innerText.trim())""")
    assert {"op", "device", "dtype", "forward error", "gradient error"} <= set(headers), headers
    assert "| op | device |" not in page.page.inner_text("article")
    wide = page.page.evaluate("""Array.from(document.querySelectorAll('.cell_output table'))
        .map(t => [t.scrollWidth, t.closest('.cell_output').clientWidth])
        .filter(([table, column]) => table > column + 1)""")
    assert wide == [], f"printed tables wider than the column (table, column): {wide}"
    page.check_clean()


def _showcase_chapter() -> str | None:
    """The chapter screenshotted: the first numbered one (the preface has no figures)."""
    numbered = [c for c in CHAPTERS if not c.startswith("00_")]
    return (numbered or CHAPTERS or [None])[0]


# (horizontal slide, vertical slide, fragments shown) of the slide on screen.
SLIDE_POSITION = """() => {
    const top = Array.from(document.querySelectorAll('.reveal .slides > section'));
    const h = top.findIndex(s => s.classList.contains('present'));
    const v = h < 0 ? -1 : Array.from(top[h].querySelectorAll(':scope > section'))
        .findIndex(s => s.classList.contains('present'));
    return [h, v, document.querySelectorAll('.reveal .fragment.visible').length];
}"""


@pytest.mark.parametrize("stem", _or_skip(LECTURES, "lecture notebooks (lectures/NN_*.ipynb)"))
def test_slide_deck(visit, stem):
    page = visit(f"slides/{stem}.slides.html")
    p = page.page
    # reveal.js is loaded through require.js (no global Reveal): read its state off the DOM.
    p.wait_for_selector(".reveal.ready", state="attached", timeout=20_000)
    total = p.evaluate("""document.querySelectorAll(
        '.reveal .slides > section:not(.stack), .reveal .slides > section.stack > section').length""")
    assert total >= 1, "the deck has no slides"
    # MathJax 2 (what nbconvert's reveal template speaks) typesets into .MathJax_CHTML.
    has_math = p.evaluate("""document.querySelector('script[type^="math/tex"]') !== null
        || /\\$\\$|\\\\\\(|\\\\\\[|\\$[^$\\s]/.test(document.body.innerText)""")
    if has_math:
        p.wait_for_function("window.MathJax && MathJax.Hub && MathJax.isReady", timeout=20_000)
        typeset = p.evaluate("""() => new Promise(done => MathJax.Hub.Queue(
            () => done(document.querySelectorAll('.MathJax_CHTML').length)))""")
        assert typeset > 0, "the deck has math but none was typeset"
    assert p.locator(".MathJax_Error, .mjx-merror, merror").count() == 0, "TeX errors in the deck"
    views, rendered = _wait_for_widgets(p)
    assert views == 0, f"{views} widget view(s) left in a static deck"
    page.check_images()
    before = p.evaluate(SLIDE_POSITION)
    if total > 1:
        p.keyboard.press("ArrowRight")
        p.wait_for_timeout(300)
        after = p.evaluate(SLIDE_POSITION)
        assert after != before, f"ArrowRight did not move the deck: still at {after}"
        if stem == LECTURES[0]:
            p.wait_for_timeout(800)  # let the transition finish
            p.screenshot(path=str(SCREENSHOTS / "slide.png"))
    page.check_clean()


def test_built_pages_load_nothing_from_the_web(site):
    sys.path.insert(0, str(REPO / "tools"))
    import offline_assets

    assert offline_assets.external_resources(site) == []
