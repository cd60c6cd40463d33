"""What an executed notebook shows on a static page (the web book and the slides).

A page has no Python kernel behind it, so three kinds of output are rewritten before
Jupyter Book or nbconvert sees the notebook (tools/build_book.py calls
:func:`prepare_outputs` on every executed chapter and lecture):

* **Interactive figures** (``cnnlib.viz.interactive.slider_figure``) publish one
  bundle with a live widget view and a kernel-free twin (frames and sliders in HTML),
  marked in the output's metadata. The page keeps only the twin: one figure that moves,
  no dead slider above a second copy.
* **Progress bars** (tqdm's notebook bars, ipywidgets) become one line of text
  without the timings: ``epoch: 100%|██████████| 30/30 [loss=0.0613]`` rather than a
  frozen widget that reads "825.32 it/s", a number about the machine that built the
  page, not about the book. A bar that vanished when it closed (tqdm's
  ``leave=False``) is left out, as it is in a live notebook once the cell is done.
* **Widget state** that no remaining view uses is dropped from the notebook's
  metadata (when none is left, the page loads no widget code at all).

The student edition (``build_book.py --edition student``) also leaves out what is
meant for instructors: cells tagged ``instructor`` (links to the solutions) and the
parts of the front page between ``<!-- BEGIN INSTRUCTOR -->`` and
``<!-- END INSTRUCTOR -->``; :func:`solution_links` finds any link that is left.
"""
from __future__ import annotations

import html
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this repository's cnnlib
from cnnlib.viz.interactive import TWIN_METADATA  # noqa: E402

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
INSTRUCTOR_TAG = "instructor"
INSTRUCTOR_BEGIN = "<!-- BEGIN INSTRUCTOR -->"
INSTRUCTOR_END = "<!-- END INSTRUCTOR -->"
_MODEL_REF = re.compile(r"IPY_MODEL_(\w+)")
# elapsed<remaining, elapsed, or a rate in any unit ("825.32it/s", "2.70epoch/s", "1.5s/it")
_TIMING = re.compile(r"^(?:[\d:?]+<[\d:?]+|[\d:]+|\??[\d.]*\s*[kMG]?[A-Za-z]+/s|"
                     r"\??[\d.]*\s*s/[A-Za-z]+)$")
_COUNT = re.compile(r"(\d+)\s*/\s*(\d+)")


def widget_state(nb) -> dict:
    """{model id: {"model_name": ..., "state": {...}}} stored with the notebook."""
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _outputs(nb):
    for cell in nb.cells:
        yield from cell.get("outputs", [])


def keep_static_twins(nb) -> int:
    """Marked interactive-figure outputs keep only their kernel-free twin; returns how
    many were changed."""
    count = 0
    for output in _outputs(nb):
        data = output.get("data", {})
        if output.get("metadata", {}).get(TWIN_METADATA) and "text/html" in data:
            if data.pop(WIDGET_VIEW, None) is not None:
                count += 1
    return count


def _plain(html_text: str) -> str:
    return html.unescape(html_text).replace("\u2007", " ").replace("\xa0", " ").strip()


def _progress_line(state: dict, model_id: str) -> str | None:
    """One line of text for a tqdm notebook bar (HBox: HTML, FloatProgress, HTML); ""
    for a bar that was closed unfinished without an error (``leave=False``: it vanished
    from the live notebook, and its stored state is a stale partial count); None when
    the model is something else."""
    box = state.get(model_id)
    if not box or box.get("model_name") != "HBoxModel":
        return None
    children = [_MODEL_REF.fullmatch(str(c)) for c in box["state"].get("children", [])]
    if len(children) != 3 or not all(children):
        return None
    left, bar, right = (state.get(c.group(1), {}) for c in children)
    if [m.get("model_name") for m in (left, bar, right)] != \
            ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    value, top = bar["state"].get("value", 0), bar["state"].get("max", 100) or 1
    counts = _plain(right["state"].get("value", ""))
    done = _COUNT.search(counts)
    if (done and int(done.group(1)) < int(done.group(2))
            and bar["state"].get("bar_style") != "danger"):
        return ""
    filled = max(0, min(10, round(10 * float(value) / float(top))))
    kept = []
    match = re.search(r"\[(.*)\]\s*$", counts)
    if match:                         # [elapsed<remaining, rate, postfix]: keep the postfix
        kept = [p.strip() for p in match.group(1).split(",")
                if p.strip() and not _TIMING.match(p.strip())]
        counts = counts[:match.start()].strip()
    line = f"{_plain(left['state'].get('value', ''))}|{'█' * filled}{' ' * (10 - filled)}| {counts}"
    return line + (f" [{', '.join(kept)}]" if kept else "")


def progress_as_text(nb) -> int:
    """tqdm notebook bars become a text line without timings (a bar that vanished when
    it closed goes); returns how many bars were rewritten or dropped."""
    state, count = widget_state(nb), 0
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            line = _progress_line(state, view.get("model_id", "")) if view else None
            if line is not None:
                count += 1
                if not line:
                    continue
                output["data"] = {"text/plain": line}
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept
    return count


def prune_widget_state(nb) -> int:
    """Drop the state of widgets that no output shows (directly or as a child); the
    whole entry goes when nothing is left. Returns how many models were dropped."""
    state = widget_state(nb)
    if not state:
        return 0
    todo = [o["data"][WIDGET_VIEW].get("model_id") for o in _outputs(nb)
            if WIDGET_VIEW in o.get("data", {})]
    keep = set()
    while todo:
        model = todo.pop()
        if model in keep or model not in state:
            continue
        keep.add(model)
        todo += _MODEL_REF.findall(str(state[model].get("state", {})))
    dropped = [m for m in state if m not in keep]
    for model in dropped:
        del state[model]
    if not state:
        del nb.metadata["widgets"]
    return len(dropped)


def prepare_outputs(nb) -> None:
    """Everything above, in place, for a notebook about to become a static page."""
    keep_static_twins(nb)
    progress_as_text(nb)
    prune_widget_state(nb)


# --------------------------------------------------------------------------- editions

def drop_instructor_cells(nb) -> int:
    """Remove cells tagged ``instructor`` (student edition); returns how many."""
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if INSTRUCTOR_TAG not in c.get("metadata", {}).get("tags", [])]
    return before - len(nb.cells)


def drop_instructor_text(text: str) -> str:
    """Markdown without the parts between the instructor markers (student edition)."""
    pattern = re.compile(re.escape(INSTRUCTOR_BEGIN) + r".*?" + re.escape(INSTRUCTOR_END)
                         + r"\n?", re.DOTALL)
    return pattern.sub("", text)


_SOLUTION_LINK = re.compile(r"\]\(\s*[^)\s]*solutions/[^)\s]*\)")


def solution_links(text: str) -> list[str]:
    """Markdown links that point into a solutions/ folder."""
    return _SOLUTION_LINK.findall(text)
