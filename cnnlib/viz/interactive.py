"""One way to write an interactive figure: a drawing function and the slider positions.

A chapter writes its figure as a plain function ``draw(**values) -> Figure`` and calls
:func:`slider_figure` with the positions each slider may take::

    from cnnlib.viz.interactive import slider_figure

    def draw(cell_size, orientations):
        fig = ...            # a matplotlib Figure for these settings
        return fig

    slider_figure(draw, cell_size=[4, 6, 8, 12], orientations=[4, 6, 9, 12],
                  value={"cell_size": 8, "orientations": 9})

The same cell then shows the right thing everywhere, once:

* **In JupyterLab** (a live kernel): ipywidgets sliders that redraw the figure.
* **On the website and in the slides** (no kernel): the figure drawn in advance at the
  slider positions, as PNG frames inside the page, with sliders in the page that pick
  the frame (:func:`cnnlib.viz.player.player_html`; offline, nothing from a CDN).
* **Under nbval** the cell runs like any other (tag it ``nbval-ignore-output``).

How the two are told apart: the cell's output is one display bundle holding both the
widget view (``application/vnd.jupyter.widget-view+json``) and the kernel-free twin
(``text/html``), marked with the output metadata key :data:`TWIN_METADATA`.
JupyterLab prefers the widget. The book build (``tools/build_book.py``) keeps only the
twin of a marked output, and drops the widget state that no view uses any more, so a
page never shows a slider that does nothing.

Which frames are drawn. With k sliders of n_1, ..., n_k positions, every combination
is drawn when n_1 n_2 ... n_k <= ``max_frames`` (48 by default): the page's sliders
then move freely. Otherwise the frames lie along one slider at a time, the others at
their start value (1 + sum of (n_i - 1) frames); moving a slider in the page puts the
others back to their start, and a line under the sliders says so. More frames than
``max_frames`` even then is a ValueError: choose fewer positions (a figure of a few
dozen frames at 72 dpi, PNG with a 256-colour palette, weighs a few hundred kB to
about 1 MB of page). Drawing the frames costs one ``draw`` and one PNG per frame when
the cell runs; set the environment variable ``CNNLIB_SLIDER_FIGURES=live`` (``make
lab`` does) to skip them in a live session, ``=static`` to show only the twin.

Positions are a list of values (numbers or strings, shown as written) or a dict
``{label: value}`` when the values are arrays or tuples that need a readable name.
A slider's name is its keyword: Python allows ``θ0=[...]``. ``draw`` gets the values.
The keywords ``value``, ``live``, ``max_frames`` and ``dpi`` are options, not sliders.

The drawing function is an ordinary function of cnnlib or of the notebook, so it gets
ordinary tests. Explained in chapter 1, where the first interactive figure appears;
the preface says how interactive figures behave on the website.
"""
from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence

from cnnlib.viz.player import figure_png, player_html

__all__ = ["slider_figure", "SliderFigure", "TWIN_METADATA", "MAX_FRAMES", "FRAME_DPI",
           "ENV_VAR"]

#: Output metadata key that marks a bundle whose ``text/html`` is a kernel-free twin.
TWIN_METADATA = "cnnlib-static-twin"
#: Default limit on the number of frames drawn for the twin.
MAX_FRAMES = 48
#: Default resolution of the frames (dots per inch of the figure).
FRAME_DPI = 72
#: "both" (default), "live" (no frames: a live session) or "static" (no widget).
ENV_VAR = "CNNLIB_SLIDER_FIGURES"
_MODES = ("both", "live", "static")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _label(value) -> str:
    """How a slider position is written: floats without trailing zeros."""
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        return f"{float(value):g}"
    return str(value)


def _positions(name: str, options) -> tuple[list[str], list]:
    """(labels, values) of one slider's positions."""
    if isinstance(options, Mapping):
        labels, values = [str(k) for k in options], list(options.values())
    elif isinstance(options, (str, bytes)) or not isinstance(options, Sequence):
        raise TypeError(f"slider {name!r} must be a non-empty list of values (or a dict "
                        f"label -> value), got {type(options).__name__} {options!r}")
    else:
        values = list(options)
        labels = [_label(v) for v in values]
    if not values:
        raise ValueError(f"slider {name!r} must have at least one position, got "
                         f"{options!r}")
    if len(set(labels)) != len(labels):
        raise ValueError(f"slider {name!r} has positions that are written the same way "
                         f"({labels}); give them distinct labels with a dict")
    return labels, values


def _index_of(values: list, v) -> int | None:
    for k, candidate in enumerate(values):
        try:
            if candidate is v or bool(candidate == v):
                return k
        except (TypeError, ValueError):    # arrays compare elementwise
            continue
    return None


class SliderFigure:
    """An interactive figure: ``draw(**values)`` under sliders, live and kernel-free.

    Made by :func:`slider_figure` (which also displays it); see the module docstring.
    ``widget`` is the live ipywidgets object, :meth:`frames` the PNG of every drawn
    position, :meth:`html` the kernel-free twin. Displaying it publishes one bundle,
    once; public attributes of the live widget (``children``, ...) are reachable on it.
    """

    def __init__(self, draw: Callable, sliders: Mapping[str, Sequence], *,
                 value: Mapping | None = None, live=None, max_frames: int = MAX_FRAMES,
                 dpi: float = FRAME_DPI):
        if not callable(draw):
            raise TypeError(f"draw must be a function returning a Figure, got "
                            f"{type(draw).__name__}")
        if not sliders:
            raise ValueError("slider_figure needs at least one slider, e.g. n=[1, 2, 3]")
        if isinstance(max_frames, bool) or not isinstance(max_frames, int) or max_frames < 1:
            raise ValueError(f"max_frames must be a positive int, got {max_frames!r}")
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not dpi > 0:
            raise ValueError(f"dpi must be a positive number, got {dpi!r}")
        self.draw, self.max_frames, self.dpi = draw, max_frames, float(dpi)
        self.names = list(sliders)
        self.labels, self.values = {}, {}
        for name, options in sliders.items():
            self.labels[name], self.values[name] = _positions(name, options)
        self.start = {name: 0 for name in self.names}
        for name, v in (value or {}).items():
            if name not in sliders:
                raise ValueError(f"value names a slider that does not exist: {name!r} "
                                 f"(sliders: {self.names})")
            k = _index_of(self.values[name], v)
            if k is None and v in self.labels[name]:
                k = self.labels[name].index(v)
            if k is None:
                raise ValueError(f"value[{name!r}] = {v!r} is not one of the slider's "
                                 f"positions {self.labels[name]}")
            self.start[name] = k
        counts = [len(self.values[n]) for n in self.names]
        self.grid = math.prod(counts) <= max_frames
        needed = math.prod(counts) if self.grid else 1 + sum(c - 1 for c in counts)
        if needed > max_frames:
            raise ValueError(
                f"the sliders have {' x '.join(map(str, counts))} positions: even one "
                f"slider at a time that is {needed} frames, more than max_frames="
                f"{max_frames}. Give the sliders fewer positions (or raise max_frames, "
                f"which makes the page heavier).")
        self._live = live
        self._widget = None
        self._frames: dict | None = None
        self._html: str | None = None
        self._alt = "interactive figure"
        self._shown = False

    # ------------------------------------------------------------- positions
    def keys(self) -> list[tuple[int, ...]]:
        """The position indices drawn for the twin: every combination, or the start
        plus each slider's other positions with the rest at their start."""
        counts = [len(self.values[n]) for n in self.names]
        start = tuple(self.start[n] for n in self.names)
        if self.grid:
            keys = [()]
            for c in counts:
                keys = [k + (i,) for k in keys for i in range(c)]
            return keys
        keys = [start]
        for s, c in enumerate(counts):
            keys += [start[:s] + (i,) + start[s + 1:] for i in range(c) if i != start[s]]
        return keys

    def values_at(self, key: Sequence[int]) -> dict:
        """The keyword arguments of ``draw`` at position indices ``key``."""
        return {n: self.values[n][i] for n, i in zip(self.names, key)}

    # ------------------------------------------------------------- the twin
    def _figure(self, values: dict):
        from matplotlib.figure import Figure

        fig = self.draw(**values)
        if not isinstance(fig, Figure):
            raise TypeError(f"draw must return a matplotlib Figure, got "
                            f"{type(fig).__name__} for {values}")
        return fig

    def frames(self) -> dict[tuple[int, ...], bytes]:
        """The PNG frame of every key (drawn once, then kept)."""
        if self._frames is None:
            import matplotlib.pyplot as plt

            frames = {}
            start = tuple(self.start[n] for n in self.names)
            for key in sorted(self.keys(), key=lambda k: k != start):   # start first
                fig = self._figure(self.values_at(key))
                try:
                    if not frames:        # the start frame's title describes the figure
                        self._alt = _title(fig) or self._alt
                    frames[key] = figure_png(fig, self.dpi)
                finally:
                    plt.close(fig)        # else the inline backend shows every frame
            self._frames = frames
        return self._frames

    def html(self) -> str:
        """The kernel-free twin: the frames and sliders in self-contained HTML (made
        once, then kept)."""
        if self._html is not None:
            return self._html
        frames = self.frames()
        note = None
        if not self.grid:
            note = ("Drawn in advance along one slider at a time: moving a slider puts "
                    "the others back to their starting position. Run the notebook to "
                    "combine them freely.")
        self._html = player_html(frames, [(n, self.labels[n]) for n in self.names],
                                 [self.start[n] for n in self.names], alt=self._alt,
                                 note=note)
        return self._html

    # ------------------------------------------------------------- the live widget
    @property
    def widget(self):
        """The live widget: ``live`` if one was given, else ipywidgets sliders
        (``SelectionSlider``, redrawing on release) over ``draw``."""
        if self._widget is None:
            self._widget = self._live if self._live is not None else self._sliders()
        return self._widget

    def _sliders(self):
        import ipywidgets as widgets
        import matplotlib.pyplot as plt
        from IPython.display import display

        def show(**values):
            fig = self._figure(values)
            display(fig)
            plt.close(fig)                # shown once, in the widget's output area

        controls = {
            name: widgets.SelectionSlider(
                options=list(zip(self.labels[name], self.values[name])),
                index=self.start[name], description=name, continuous_update=False,
                style={"description_width": "initial"})
            for name in self.names}
        return widgets.interactive(show, **controls)

    # ------------------------------------------------------------- display
    def mode(self) -> str:
        """What a display holds: "both", "live" or "static" (from ``CNNLIB_SLIDER_FIGURES``;
        "static" also when ipywidgets is missing)."""
        mode = os.environ.get(ENV_VAR, "both").strip().lower() or "both"
        if mode not in _MODES:
            raise ValueError(f"the environment variable {ENV_VAR} must be one of "
                             f"{list(_MODES)}, got {mode!r}")
        if mode != "static":
            try:
                import ipywidgets  # noqa: F401
            except ImportError:
                mode = "static"
        return mode

    def bundle(self) -> tuple[dict, dict]:
        """The (data, metadata) that a display publishes."""
        mode = self.mode()
        data, metadata = {}, {}
        if mode in ("both", "live"):
            data.update(self.widget._repr_mimebundle_())
        if mode in ("both", "static"):
            data["text/html"] = self.html()
            metadata[TWIN_METADATA] = {"frames": len(self.frames()),
                                       "grid": self.grid}
        data["text/plain"] = repr(self)
        return data, metadata

    def _ipython_display_(self) -> None:
        if self._shown:                   # once: slider_figure(...) as a cell's last line
            return
        from IPython.display import display

        data, metadata = self.bundle()
        display(data, raw=True, metadata=metadata)
        self._shown = True

    def __repr__(self) -> str:
        sliders = ", ".join(f"{n} ({len(self.values[n])} positions)" for n in self.names)
        return f"<interactive figure: {sliders}>"

    def __getattr__(self, name: str):
        # the live widget's public attributes (children, kwargs, result, ...), as
        # slider_figure returned the ipywidgets object itself before
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.widget, name)


def _title(fig) -> str:
    """The figure's suptitle, else its first axes title ("" if none)."""
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        return suptitle.get_text()
    for ax in fig.axes:
        if ax.get_title():
            return ax.get_title()
    return ""


def slider_figure(draw: Callable, *, value: Mapping | None = None, live=None,
                  max_frames: int = MAX_FRAMES, dpi: float = FRAME_DPI,
                  **sliders: Sequence) -> SliderFigure:
    """Show ``draw(**values)`` with one slider per keyword argument.

    draw : function of the slider values that returns a matplotlib Figure (a new one
        per call; it is closed after use).
    value : the starting position of some sliders, ``{name: value}`` (default: each
        slider's first position).
    live : an ipywidgets widget to show in a live session instead of the generated
        sliders, when a reader should get more than sliders can give (e.g. typing
        numbers); the kernel-free twin still uses ``draw`` and the sliders.
    max_frames, dpi : the frame budget of the twin and the frames' resolution.
    sliders : name -> the positions that slider steps through: a list of values, or a
        dict ``{label: value}``.

    Displays the figure (in JupyterLab the live sliders, on the website the precomputed
    frames; see the module docstring) and returns the :class:`SliderFigure`. As the
    last line of a cell it is not shown a second time.
    """
    figure = SliderFigure(draw, sliders, value=value, live=live, max_frames=max_frames,
                          dpi=dpi)
    from IPython.display import display

    display(figure)
    return figure
