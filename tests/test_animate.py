"""cnnlib.viz.animate: the step-by-step convolution pictures show cnnlib's own numbers,
one step per output, and the animation's HTML is self-contained."""
import base64
import json
import re
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnlib.viz import animate
from cnnlib.functional.conv import conv1d, conv2d_loop

X_NOTES = [1, 1, 1, 0, 0]
THETA_NOTES = [1, 0, 1]
I_NOTES = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1],
                    [0, 0, 1, 1, 0], [0, 1, 1, 0, 0]])
K_NOTES = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])


def numbers_at_row(ax, y):
    """The numbers written in the cells of the row at height y (cell centres lie at
    whole x positions; the row labels and the small weights do not)."""
    return [t.get_text() for t in ax.texts
            if abs(t.get_position()[1] - y) < 1e-9
            and float(t.get_position()[0]).is_integer()]


def cell_numbers(ax):
    """Numbers written at cell centres (integer positions), weights ('×..') left out."""
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
            for t in ax.texts if not t.get_text().startswith("×")
            and float(t.get_position()[0]).is_integer()
            and float(t.get_position()[1]).is_integer()}


# --------------------------------------------------------------------- 1-D
@pytest.mark.parametrize("step, expected", [(0, ["2"]), (1, ["2", "1"]),
                                            (2, ["2", "1", "1"])])
def test_conv1d_step_shows_the_notes_outputs_so_far(step, expected):
    fig = animate.conv1d_step(X_NOTES, THETA_NOTES, step)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert numbers_at_row(ax, 3.0) == expected            # the output row
    assert numbers_at_row(ax, 0.0) == ["1", "1", "1", "0", "0"]   # the input row
    weights = [t.get_text() for t in ax.texts if t.get_text().startswith("×")]
    assert weights == ["×1", "×0", "×1"]
    assert ax.get_title().endswith(f"= {expected[-1]}")
    assert ax.get_xlabel()


def test_conv1d_step_is_cross_correlation_not_flipped():
    x, theta = [1.0, 2.0, 3.0, 4.0], [1.0, 0.0, -1.0]
    expected = conv1d(np.array(x)[None, None], np.array(theta)[None, None])[0, 0]
    assert expected.tolist() == [-2.0, -2.0]               # x_i - x_{i+2}
    fig = animate.conv1d_step(x, theta, 1)
    assert fig.axes[0].get_title().endswith("2·1 + 3·0 + 4·-1 = -2")


def test_conv1d_steps_figure_one_panel_per_output():
    x = np.arange(7.0)
    fig = animate.conv1d_steps_figure(x, [0.5, 0.25])
    assert len(fig.axes) == 6
    assert fig._suptitle is not None
    last = fig.axes[-1]
    out = conv1d(x[None, None], np.array([[[0.5, 0.25]]]))[0, 0]
    assert numbers_at_row(last, 3.0) == [animate._fmt(v) for v in out]


def test_conv1d_step_rejects_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        animate.conv1d_step(X_NOTES, THETA_NOTES, 3)
    with pytest.raises(TypeError, match="step"):
        animate.conv1d_step(X_NOTES, THETA_NOTES, 1.0)
    with pytest.raises(ValueError, match="theta"):
        animate.conv1d_step([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="x"):
        animate.conv1d_step(np.ones((2, 5)), THETA_NOTES)
    with pytest.raises(ValueError):
        animate.conv1d_step([1.0, np.nan, 0.0], [1.0])


# --------------------------------------------------------------------- 2-D
def test_conv2d_step_fills_the_output_in_reading_order():
    fig = animate.conv2d_step(I_NOTES, K_NOTES, 4)
    image_ax, kernel_ax, out_ax = fig.axes
    shown = cell_numbers(out_ax)
    # steps 0..4 done: row 0 complete, then (1, 0) and (1, 1)
    assert shown == {(0, 0): "4", (0, 1): "3", (0, 2): "4", (1, 0): "2", (1, 1): "4"}
    assert cell_numbers(kernel_ax) == {(m, n): str(K_NOTES[m, n])
                                       for m in range(3) for n in range(3)}
    assert len(cell_numbers(image_ax)) == 25
    weights = [t for t in image_ax.texts if t.get_text().startswith("×")]
    assert len(weights) == 9
    assert "(1, 1)" in fig._suptitle.get_text()
    assert fig._suptitle.get_text().endswith("= 4")
    for ax in fig.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_conv2d_steps_figure_titles_give_the_notes_result():
    fig = animate.conv2d_steps_figure(I_NOTES, K_NOTES)
    assert len(fig.axes) == 9
    values = [int(re.search(r"= (-?\d+)$", ax.get_title()).group(1)) for ax in fig.axes]
    assert np.array(values).reshape(3, 3).tolist() == [[4, 3, 4], [2, 4, 3], [2, 3, 4]]


def test_conv2d_step_matches_cnnlib_on_a_random_example():
    rng = np.random.default_rng(0)
    image, kernel = rng.integers(-3, 4, (6, 7)), rng.integers(-2, 3, (2, 3))
    out = conv2d_loop(image[None, None].astype(float), kernel[None, None].astype(float))
    out = out[0, 0]
    last = out.size - 1
    fig = animate.conv2d_step(image, kernel, last)
    shown = cell_numbers(fig.axes[2])
    assert shown == {(i, j): animate._fmt(out[i, j]) for i in range(out.shape[0])
                     for j in range(out.shape[1])}


def test_conv2d_step_rejects_bad_arguments():
    with pytest.raises(ValueError, match="step"):
        animate.conv2d_step(I_NOTES, K_NOTES, 9)
    with pytest.raises(ValueError, match="kernel"):
        animate.conv2d_step(np.ones((2, 2)), K_NOTES)
    with pytest.raises(ValueError, match="image"):
        animate.conv2d_step(np.ones(5), K_NOTES)
    fig, axes = plt.subplots(1, 2)
    with pytest.raises(ValueError, match="three"):
        animate.conv2d_step(I_NOTES, K_NOTES, 0, axes=axes)


# ---------------------------------------------------------------- animation
@pytest.mark.parametrize("signal, kernel, frames", [
    ([1, 1, 1, 0, 0], [1, 0, 1], 3),
    (np.eye(3), np.ones((2, 2)), 4),
])
def test_animation_html_has_one_frame_per_output_and_loads_nothing(signal, kernel,
                                                                   frames):
    before = plt.get_fignums()
    html = animate.conv_animation_html(signal, kernel, interval=500, dpi=30)
    assert plt.get_fignums() == before                     # its figure is closed
    assert "http:" not in html and "https:" not in html and "<link" not in html
    assert re.findall(r'(?:src|href)\s*=\s*"(?!data:image/png;base64,)', html) == []
    data = json.loads(re.search(r'class="cnnlib-player-data">(.*?)</script>', html,
                                re.S).group(1))
    assert len(data["index"]) == frames and data["interval"] == 500
    assert len(data["frames"]) == frames                    # every step looks different
    assert all(base64.b64decode(f).startswith(b"\x89PNG") for f in data["frames"])
    assert data["sliders"] == [{"name": "step",
                                "labels": [str(k + 1) for k in range(frames)]}]
    assert f'max="{frames - 1}"' in html and "cnnlib-player-play" in html
    ids = set(re.findall(r'id="(cnnlib-player-[0-9a-f]+)', html))
    assert len(ids) == 1


def test_animation_html_rejects_bad_arguments():
    with pytest.raises(ValueError):
        animate.conv_animation_html(np.ones((2, 2, 2)), np.ones((1, 1)))
    with pytest.raises(ValueError):
        animate.conv_animation_html([1, 2], [1, 2, 3])
    with pytest.raises(TypeError):
        animate.conv_animation_html([1, 2, 3], [1, 2], interval=0.5)


def test_importing_animate_does_not_import_matplotlib():
    code = ("import sys, cnnlib.viz.animate; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
