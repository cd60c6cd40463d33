"""The lectures as reveal.js slides: nbconvert's slides exporter, made offline.

Used by tools/build_book.py (`make book`), which executes the lecture notebooks first;
the decks land in _build/html/slides/ with their JavaScript in slides/_vendor/.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from offline_assets import (FAVICON_SVG, SLIDE_ASSETS, SLIDE_VENDOR, WIDGETS_SETUP,
                            copy_assets, write_if_changed)

TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
SLIDE_OPTIONS = {
    # "white" uses fonts shipped with reveal.js; nbconvert's default ("simple") fetches
    # its fonts from Google.
    "reveal_theme": "white",
    "reveal_scroll": True,  # a slide taller than the screen scrolls instead of clipping
    "reveal_url_prefix": f"{SLIDE_VENDOR}/reveal.js",
    "require_js_url": f"{SLIDE_VENDOR}/requirejs/require.js",
    "jquery_url": f"{SLIDE_VENDOR}/jquery/jquery.min.js",
    "mathjax_url": f"{SLIDE_VENDOR}/mathjax2/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
    "widget_renderer_url": f"{SLIDE_VENDOR}/html-manager/embed-amd.js",
}
SLIDE_TEMPLATE = "offline_reveal.html.j2"
SLIDE_TAGS = {"input": ["hide-input", "remove-input"], "output": ["hide-output", "remove-output"],
              "cell": ["remove-cell"]}


def slides_exporter():
    """nbconvert's SlidesExporter pointed at the local JavaScript in slides/_vendor/."""
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    for key, value in SLIDE_OPTIONS.items():
        setattr(config.SlidesExporter, key, value)
    config.SlidesExporter.extra_template_paths = [str(TEMPLATE_DIR)]
    config.SlidesExporter.template_file = SLIDE_TEMPLATE
    # No "In [3]:" prompts on slides, and the same cell tags as the book: code tagged
    # hide-input or remove-input shows only its output, remove-output only its code,
    # remove-cell nothing.
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = set(SLIDE_TAGS["input"])
    config.TagRemovePreprocessor.remove_all_outputs_tags = set(SLIDE_TAGS["output"])
    config.TagRemovePreprocessor.remove_cell_tags = set(SLIDE_TAGS["cell"])
    return SlidesExporter(config=config)


def render_slides(exporter, nb, name: str) -> str:
    """The reveal.js HTML of an (executed) notebook node."""
    resources = {"metadata": {"name": name},
                 "widgets_setup_url": f"{SLIDE_VENDOR}/{WIDGETS_SETUP}",
                 "favicon_url": f"{SLIDE_VENDOR}/favicon.svg"}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def build_slides(decks: dict[str, Path], slides_dir: Path, modules: Path, stamps_file: Path,
                 prepare: Callable | None = None) -> list[Path]:
    """reveal.js decks from executed lecture notebooks ({name: path}), JavaScript local.

    `prepare(nb)` may edit each notebook before conversion (the book build points its
    links at the website). A deck whose notebook and template did not change is kept.
    Returns the paths of the decks, slides_dir/NAME.slides.html.
    """
    import nbformat

    slides_dir.mkdir(parents=True, exist_ok=True)
    copy_assets(modules, slides_dir / SLIDE_VENDOR, SLIDE_ASSETS)
    write_if_changed(slides_dir / SLIDE_VENDOR / "favicon.svg", FAVICON_SVG)

    exporter = slides_exporter()
    template_key = hashlib.sha256(json.dumps([SLIDE_OPTIONS, SLIDE_TAGS]).encode() + b"".join(
        p.read_bytes() for p in sorted(TEMPLATE_DIR.rglob("*")) if p.is_file())).hexdigest()
    stamps = json.loads(stamps_file.read_text()) if stamps_file.is_file() else {}
    built = []
    for name, executed in decks.items():
        out = slides_dir / f"{name}.slides.html"
        key = hashlib.sha256(executed.read_bytes()).hexdigest() + ":" + template_key
        if not (out.is_file() and stamps.get(name) == key):
            nb = nbformat.read(executed, as_version=4)
            if prepare is not None:
                prepare(nb)
            out.write_text(render_slides(exporter, nb, name), encoding="utf-8")
            stamps[name] = key
        built.append(out)
    for old in slides_dir.glob("*.slides.html"):
        if old not in built:
            old.unlink()
    stamps_file.parent.mkdir(parents=True, exist_ok=True)
    stamps_file.write_text(json.dumps({k: v for k, v in stamps.items() if k in decks}, indent=1))
    return built
