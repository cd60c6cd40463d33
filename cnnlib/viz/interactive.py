"""One way to write an interactive figure: a drawing function and the slider positions.

Explained in chapter 5 (the preface says how widgets behave on the website).

A chapter writes its figure as a plain function ``draw(**values) -> Figure`` and calls
:func:`slider_figure` with the values each slider may take::

    from cnnlib.viz.interactive import slider_figure

    def draw(cell_size, orientations):
        fig = ...            # a matplotlib Figure for these settings
        return fig

    slider_figure(draw, cell_size=[4, 6, 8, 12], orientations=[4, 6, 9, 12],
                  value={"cell_size": 8, "orientations": 9})

In JupyterLab with a live kernel this shows ipywidgets sliders that redraw the figure.
The drawing function is an ordinary function of cnnlib or of the notebook, so it gets
ordinary tests.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

__all__ = ["slider_figure"]


def _check_sliders(sliders: Mapping[str, Sequence], value: Mapping | None) -> dict:
    if not sliders:
        raise ValueError("slider_figure needs at least one slider, e.g. n=[1, 2, 3]")
    start = {}
    for name, options in sliders.items():
        if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) \
                or len(options) == 0:
            raise TypeError(f"slider {name!r} must be a non-empty list of values, got "
                            f"{options!r}")
        start[name] = options[0]
    for name, v in (value or {}).items():
        if name not in sliders:
            raise ValueError(f"value names a slider that does not exist: {name!r} "
                             f"(sliders: {list(sliders)})")
        if v not in list(sliders[name]):
            raise ValueError(f"value[{name!r}] = {v!r} is not one of the slider's "
                             f"positions {list(sliders[name])}")
        start[name] = v
    return start


def slider_figure(draw: Callable, *, value: Mapping | None = None,
                  **sliders: Sequence):
    """Show ``draw(**values)`` with one slider per keyword argument.

    draw : function of the slider values that returns a matplotlib Figure;
    value : the starting position of some sliders (default: each slider's first value);
    sliders : name -> the values that slider steps through (numbers or strings).

    Returns the ipywidgets ``interactive`` object that was displayed.
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function returning a Figure, got "
                        f"{type(draw).__name__}")
    start = _check_sliders(sliders, value)
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    def show(**values):
        fig = draw(**values)
        display(fig)
        plt.close(fig)

    controls = {name: widgets.SelectionSlider(options=list(options), value=start[name],
                                              description=name, continuous_update=False)
                for name, options in sliders.items()}
    ui = widgets.interactive(show, **controls)
    display(ui)
    return ui
