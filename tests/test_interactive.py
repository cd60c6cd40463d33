"""cnnlib.viz.interactive and cnnlib.viz.player: an interactive figure is one bundle with
a live widget and a kernel-free twin whose frames are the drawing function's own
figures, at the positions the docstring promises; the player's HTML loads nothing from
the web. (The browser test moves a player's slider in the built book.)"""
import base64
import io
import json
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from cnnlib.viz import interactive, player
from cnnlib.viz.interactive import SliderFigure, slider_figure


def draw_line(a, b):
    """A small figure whose pixels depend on a and b (and whose title names them)."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [a, b], linewidth=4)
    ax.set(ylim=(-5, 5), title=f"a = {a}, b = {b}")
    return fig


def player_data(html: str) -> dict:
    match = re.search(r'<script type="application/json" class="cnnlib-player-data">(.*?)'
                      r"</script>", html, re.S)
    return json.loads(match.group(1))


def decode(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# ------------------------------------------------------------------ positions
def test_every_combination_when_the_product_is_small():
    fig = SliderFigure(draw_line, {"a": [1, 2, 3], "b": [-1.0, 0.5]}, max_frames=6)
    assert fig.grid
    assert fig.keys() == [(i, j) for i in range(3) for j in range(2)]
    assert fig.values_at((2, 1)) == {"a": 3, "b": 0.5}


def test_one_slider_at_a_time_when_the_product_is_large():
    fig = SliderFigure(draw_line, {"a": list(range(5)), "b": list(range(4))},
                       value={"a": 2, "b": 3}, max_frames=10)
    assert not fig.grid
    keys = fig.keys()
    assert keys[0] == (2, 3) and len(keys) == len(set(keys)) == 1 + 4 + 3
    # every key differs from the start in at most one slider
    assert all(sum(k != s for k, s in zip(key, (2, 3))) <= 1 for key in keys)


def test_too_many_frames_even_one_at_a_time_is_an_error():
    with pytest.raises(ValueError, match="max_frames"):
        SliderFigure(draw_line, {"a": list(range(30)), "b": list(range(30))},
                     max_frames=48)


@pytest.mark.parametrize("sliders, value, error, match", [
    ({}, None, ValueError, "at least one slider"),
    ({"a": []}, None, ValueError, "at least one position"),
    ({"a": "abc"}, None, TypeError, "list of values"),
    ({"a": 3}, None, TypeError, "list of values"),
    ({"a": [1, 2]}, {"b": 1}, ValueError, "does not exist"),
    ({"a": [1, 2]}, {"a": 5}, ValueError, "not one of"),
    ({"a": [1, 1.0]}, None, ValueError, "written the same way"),
])
def test_bad_sliders_are_explained(sliders, value, error, match):
    with pytest.raises(error, match=match):
        SliderFigure(draw_line, sliders, value=value)


def draw_a(a):
    return draw_line(a, 0)


def test_bad_draw_and_options():
    with pytest.raises(TypeError, match="draw must be a function"):
        SliderFigure("not a function", {"a": [1]})
    with pytest.raises(ValueError, match="max_frames"):
        SliderFigure(draw_line, {"a": [1]}, max_frames=0)
    with pytest.raises(ValueError, match="dpi"):
        SliderFigure(draw_line, {"a": [1]}, dpi=-1)
    returns_none = SliderFigure(lambda a: None, {"a": [1, 2]})
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        returns_none.frames()


def test_dict_positions_give_labels_to_any_value():
    kernels = {"edge": np.array([-1.0, 0.0, 1.0]), "blur": np.ones(3) / 3}
    seen = []

    def draw(kernel):
        seen.append(kernel)
        return draw_line(float(kernel[0]), float(kernel[-1]))

    fig = SliderFigure(draw, {"kernel": kernels}, value={"kernel": "blur"})
    assert fig.labels["kernel"] == ["edge", "blur"] and fig.start["kernel"] == 1
    fig.frames()
    assert len(seen) == 2 and seen[0] is kernels["blur"]      # the start first


# ------------------------------------------------------------------ frames and HTML
def test_frames_are_the_figures_drawn_at_each_position_and_are_closed():
    before = plt.get_fignums()
    fig = SliderFigure(draw_line, {"a": [-3, 3], "b": [0, 2]}, dpi=50)
    frames = fig.frames()
    assert plt.get_fignums() == before                  # every frame's figure closed
    assert set(frames) == set(fig.keys())
    images = {key: decode(png) for key, png in frames.items()}
    assert {im.shape for im in images.values()} == {(100, 150, 3)}   # 3 x 2 in at 50 dpi
    assert len({im.tobytes() for im in images.values()}) == 4        # all different
    # the frame of (a, b) is what draw(a, b) gives, up to the palette
    reference = draw_line(3, 0)
    expected = decode(player.figure_png(reference, 50, colors=0))
    plt.close(reference)
    assert np.abs(images[(1, 0)].astype(int) - expected).mean() < 2.0
    assert fig.frames() is frames                       # drawn once


def test_html_player_holds_every_frame_and_nothing_from_the_web():
    fig = SliderFigure(draw_line, {"a": [1, 2, 3], "b": [0, 4]}, value={"a": 2})
    html = fig.html()
    assert "http:" not in html and "https:" not in html and "<link" not in html
    assert re.findall(r'(?:src|href)\s*=\s*"(?!data:image/png;base64,)', html) == []
    data = player_data(html)
    assert data["start"] == [1, 0]
    assert [s["name"] for s in data["sliders"]] == ["a", "b"]
    assert data["sliders"][0]["labels"] == ["1", "2", "3"]
    assert sorted(data["index"]) == sorted(f"{i},{j}" for i in range(3) for j in range(2))
    assert all(base64.b64decode(f).startswith(b"\x89PNG") for f in data["frames"])
    assert len(re.findall(r'<input type="range"', html)) == 2
    assert 'data-frame="1,0"' in html and "a = 2, b = 0" in data["alt"]


def test_identical_frames_are_stored_once():
    fig = SliderFigure(lambda a: draw_line(0, 0), {"a": [1, 2, 3, 4]})
    data = player_data(fig.html())
    assert len(data["index"]) == 4 and len(data["frames"]) == 1


def test_one_at_a_time_player_says_so():
    fig = SliderFigure(draw_line, {"a": list(range(4)), "b": list(range(4))},
                       max_frames=8)
    assert "puts the others back" in fig.html()
    assert "puts the others back" not in SliderFigure(draw_a, {"a": [1, 2]}).html()


def test_labels_cannot_break_out_of_the_script():
    fig = SliderFigure(lambda s: draw_line(0, 1), {"s": {"</script><b>x": 1}})
    html = fig.html()
    assert html.count("</script>") == 2                 # the data block and the code
    assert player_data(html)["sliders"][0]["labels"] == ["</script><b>x"]


def test_player_html_validates_its_frames():
    png = player.figure_png(draw_line(0, 0), 20)
    plt.close("all")
    with pytest.raises(ValueError, match="start"):
        player.player_html({(0,): png}, [("a", ["x", "y"])], [1])
    with pytest.raises(ValueError, match="does not index"):
        player.player_html({(0,): png, (2,): png}, [("a", ["x", "y"])], [0])
    with pytest.raises(ValueError, match="one position per slider"):
        player.player_html({(0,): png}, [("a", ["x"])], [0, 0])


# ------------------------------------------------------------------ the bundle
def test_bundle_holds_the_widget_and_the_marked_twin(monkeypatch):
    monkeypatch.delenv(interactive.ENV_VAR, raising=False)
    fig = SliderFigure(draw_line, {"a": [1, 2], "b": [0, 1]})
    data, metadata = fig.bundle()
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == fig.widget.model_id
    assert data["text/html"] == fig.html()
    assert metadata[interactive.TWIN_METADATA] == {"frames": 4, "grid": True}
    assert "interactive figure" in data["text/plain"]
    # the live sliders step through the same positions, from the same start
    sliders = [c for c in fig.widget.children if hasattr(c, "options")]
    assert [s.description for s in sliders] == ["a", "b"]
    assert [s.index for s in sliders] == [0, 0]
    assert fig.children == fig.widget.children          # the widget's attributes


@pytest.mark.parametrize("mode, widget, twin", [("live", True, False),
                                                ("static", False, True)])
def test_environment_chooses_live_or_static(monkeypatch, mode, widget, twin):
    monkeypatch.setenv(interactive.ENV_VAR, mode)
    fig = SliderFigure(draw_a, {"a": [1, 2]})
    data, metadata = fig.bundle()
    assert ("application/vnd.jupyter.widget-view+json" in data) == widget
    assert ("text/html" in data) == twin == (interactive.TWIN_METADATA in metadata)
    if mode == "live":
        assert fig._frames is None                      # no frames drawn at all


def test_a_bad_mode_is_explained(monkeypatch):
    monkeypatch.setenv(interactive.ENV_VAR, "both ways")
    with pytest.raises(ValueError, match=interactive.ENV_VAR):
        SliderFigure(draw_a, {"a": [1]}).bundle()


def test_live_widget_can_be_given():
    import ipywidgets as widgets

    box = widgets.HBox([widgets.Label("live")])
    fig = SliderFigure(draw_a, {"a": [1, 2]}, live=box)
    data, _ = fig.bundle()
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == box.model_id


def test_slider_figure_displays_once(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display",
                        lambda *args, **kw: shown.append((args, kw)) or
                        (args[0]._ipython_display_() if hasattr(args[0], "_ipython_display_")
                         else None))
    monkeypatch.setattr(interactive.SliderFigure, "bundle",
                        lambda self: ({"text/plain": "x"}, {}))
    fig = slider_figure(draw_line, a=[1, 2], b=[3])
    assert isinstance(fig, SliderFigure) and fig._shown
    fig._ipython_display_()                             # the cell's last line: no-op
    raw = [kw for _, kw in shown if kw.get("raw")]
    assert len(raw) == 1


def test_importing_interactive_stays_light():
    code = ("import sys, cnnlib.viz.interactive, cnnlib.viz.player; "
            "print(sorted(m for m in ('matplotlib', 'ipywidgets', 'PIL', 'IPython') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
