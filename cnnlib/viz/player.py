"""A picture that moves without a Python kernel: precomputed frames and sliders in
HTML, for the web book and the slides.

A web page has no Python behind it, so a slider there cannot redraw a figure. What it
can do is choose among pictures drawn in advance. :func:`player_html` writes one
self-contained piece of HTML: the frames as PNG images embedded in the page, one
``<input type="range">`` per slider, and a few lines of JavaScript that show the
frame of the sliders' current positions. It loads nothing from the web, keeps no
global state (several players share a page), and works in a Jupyter Book page, a
reveal.js deck and a notebook.

:func:`figure_png` turns a matplotlib Figure into a small PNG for such a frame.

Used by :mod:`cnnlib.viz.interactive` (every interactive figure of the book) and
:func:`cnnlib.viz.animate.conv_animation_html` (a convolution step by step).
Explained in chapter 1, where the first interactive figure appears.
"""
from __future__ import annotations

import base64
import html
import io
import json
import uuid
from collections.abc import Mapping, Sequence

__all__ = ["figure_png", "player_html", "PLAYER_CLASS"]

#: The class of a player's outer <div> (the browser test looks for it).
PLAYER_CLASS = "cnnlib-player"


def figure_png(fig, dpi: float = 72, *, colors: int = 256) -> bytes:
    """A PNG of ``fig`` at ``dpi`` dots per inch, reduced to a palette of ``colors``.

    Plots have few colours, so a 256-colour palette changes nothing visible and makes
    the file 3 to 5 times smaller than matplotlib's true-colour PNG (a grey photograph
    has at most 256 levels anyway). The figure's own size is kept (no tight bounding
    box), so every frame of a player has the same size and the page does not jump.
    The figure is drawn once, at ``dpi`` (its dpi is changed: use it for this only).
    """
    import numpy as np
    from PIL import Image

    fig.set_dpi(dpi)
    fig.canvas.draw()
    if hasattr(fig.canvas, "buffer_rgba"):      # Agg and the inline backend
        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    else:                                       # any other canvas: through a file
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    if colors:
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE,
                               dither=Image.Dither.NONE)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


_SCRIPT = """(function () {
  var root = document.getElementById("%(uid)s");
  var data = JSON.parse(root.querySelector("script.cnnlib-player-data").textContent);
  var img = root.querySelector("img");
  var inputs = root.querySelectorAll("input.cnnlib-player-slider");
  var outputs = root.querySelectorAll("output.cnnlib-player-value");
  var current = data.start.slice();
  var timer = null;
  function has(pos) { return Object.prototype.hasOwnProperty.call(data.index, pos.join(",")); }
  function show() {
    var key = current.join(",");
    img.src = "data:image/png;base64," + data.frames[data.index[key]];
    img.alt = data.alt + " (" + data.sliders.map(function (s, i) {
      return s.name + " = " + s.labels[current[i]]; }).join(", ") + ")";
    for (var i = 0; i < inputs.length; i++) {
      inputs[i].value = current[i];
      outputs[i].textContent = data.sliders[i].labels[current[i]];
    }
    root.setAttribute("data-frame", key);
  }
  function set(i, k) {
    var n = data.sliders[i].labels.length;
    current[i] = Math.max(0, Math.min(n - 1, k));
    if (!has(current)) {
      // Frames exist along one slider at a time: the others go back to their start.
      for (var j = 0; j < current.length; j++) { if (j !== i) { current[j] = data.start[j]; } }
    }
    show();
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    var b = root.querySelector("button.cnnlib-player-play");
    if (b) { b.textContent = "play"; }
  }
  Array.prototype.forEach.call(inputs, function (input, i) {
    input.addEventListener("input", function () { stop(); set(i, parseInt(input.value, 10)); });
  });
  Array.prototype.forEach.call(root.querySelectorAll("button[data-step]"), function (b) {
    b.addEventListener("click", function () {
      stop();
      var step = b.getAttribute("data-step");
      set(0, step === "first" ? 0 : current[0] + parseInt(step, 10));
    });
  });
  var play = root.querySelector("button.cnnlib-player-play");
  if (play) {
    play.addEventListener("click", function () {
      if (timer !== null) { stop(); return; }
      var last = data.sliders[0].labels.length - 1;
      if (current[0] >= last) { set(0, 0); }
      play.textContent = "pause";
      timer = setInterval(function () {
        if (current[0] >= last) { stop(); return; }
        set(0, current[0] + 1);
      }, data.interval);
    });
  }
  show();
})();"""


def _json_for_html(value) -> str:
    # "<" escaped, so that no label can close the <script> element early
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def player_html(frames: Mapping[tuple[int, ...], bytes],
                sliders: Sequence[tuple[str, Sequence[str]]],
                start: Sequence[int], *, alt: str = "interactive figure",
                note: str | None = None, play: bool = False,
                interval: int = 1000) -> str:
    """Self-contained HTML that shows one frame per slider position.

    frames : ``{(i_1, ..., i_k): PNG bytes}``, keyed by the position index of each of
        the k sliders (every combination, or only some: a key that is missing makes
        the other sliders jump back to their start when one moves). Identical frames
        are stored once.
    sliders : ``[(name, [label of each position]), ...]``, in key order.
    start : the position index of each slider shown first; ``frames`` must hold it.
    alt : what the picture shows, for screen readers (the slider values are added).
    note : a line of small print under the sliders (how the frames were chosen).
    play : add first / previous / play / next buttons that step the first slider
        (an animation), ``interval`` milliseconds per step.

    The outer element is ``<div class="cnnlib-player" data-frame="i,j,...">``; the
    attribute follows the frame on show (the browser test reads it).
    """
    names = [str(name) for name, _ in sliders]
    labels = [[str(label) for label in positions] for _, positions in sliders]
    if not names:
        raise ValueError("player_html needs at least one slider")
    start = tuple(int(s) for s in start)
    if len(start) != len(names):
        raise ValueError(f"start must give one position per slider ({len(names)}), got "
                         f"{start}")
    if start not in frames:
        raise ValueError(f"frames must hold the start position {start}")
    for key in frames:
        if len(key) != len(names) or any(not 0 <= k < len(labels[i])
                                         for i, k in enumerate(key)):
            raise ValueError(f"frame key {key} does not index the sliders' positions "
                             f"{[len(lab) for lab in labels]}")
    unique: dict[bytes, int] = {}
    index = {}
    for key, png in frames.items():
        index[",".join(map(str, key))] = unique.setdefault(png, len(unique))
    encoded = [base64.b64encode(png).decode("ascii") for png in unique]
    uid = f"{PLAYER_CLASS}-{uuid.uuid4().hex[:12]}"
    data = {"frames": encoded, "index": index, "start": list(start), "alt": alt,
            "sliders": [{"name": n, "labels": lab} for n, lab in zip(names, labels)],
            "interval": int(interval)}
    first = encoded[index[",".join(map(str, start))]]
    rows = []
    if play:
        rows.append('<button type="button" data-step="first" title="first step">'
                    '|&#9664; first</button> '
                    '<button type="button" data-step="-1" title="previous step">'
                    '&#9664; previous</button> '
                    '<button type="button" class="cnnlib-player-play" title="play / pause">'
                    'play</button> '
                    '<button type="button" data-step="1" title="next step">'
                    'next &#9654;</button>')
    for i, (name, lab) in enumerate(zip(names, labels)):
        rows.append(
            f'<label style="display:inline-block;margin:2px 14px 2px 0">'
            f'{html.escape(name)} '
            f'<input type="range" class="cnnlib-player-slider" min="0" '
            f'max="{len(lab) - 1}" step="1" value="{start[i]}" '
            f'aria-label="{html.escape(name, quote=True)}" '
            f'style="vertical-align:middle;width:{min(260, 60 + 14 * len(lab))}px"> '
            f'<output class="cnnlib-player-value" style="display:inline-block;'
            f'min-width:4em">{html.escape(lab[start[i]])}</output></label>')
    small = (f'<div style="font-size:85%;color:#555">{html.escape(note)}</div>'
             if note else "")
    return (f'<div class="{PLAYER_CLASS}" id="{uid}" data-frame="{",".join(map(str, start))}" '
            f'style="margin:0.5em 0">\n'
            f'<img src="data:image/png;base64,{first}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width:100%;height:auto;display:block">\n'
            f'<div style="font-family:sans-serif;font-size:14px;margin-top:4px">'
            f'{"".join(rows)}</div>\n{small}\n'
            f'<script type="application/json" class="cnnlib-player-data">'
            f'{_json_for_html(data)}</script>\n'
            f'<script>{_SCRIPT % {"uid": uid}}</script>\n</div>')
