"""cnnlib.viz.widgets: the plotting functions behind the chapter 5 explorers draw what they
claim, the kernel explorer's controls stay consistent with each other, and each explorer
is an interactive figure whose kernel-free twin draws the same figures."""

import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnlib.viz import widgets
from cnnlib.functional.im2col import conv_output_size
from cnnlib.features.kernels import (BOX_BLUR, EDGE_DETECT_3, GALLERY, SHARPEN,
                            apply_kernel)


# ------------------------------------------------------------------ show_filtered
def test_show_filtered_grey_shows_the_valid_convolution():
    rng = np.random.default_rng(0)
    image = rng.random((20, 24))
    fig = widgets.show_filtered(image, EDGE_DETECT_3, name="edge detection 3")
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    shown = fig.axes[2].images[0].get_array()
    expected = apply_kernel(image, EDGE_DETECT_3, padding=0)
    assert shown.shape == (18, 22)
    np.testing.assert_allclose(shown, expected, rtol=1e-12, atol=1e-12)
    # a zero-sum kernel is shown centred on 0
    vmin, vmax = fig.axes[2].images[0].get_clim()
    assert vmin == -vmax and vmax > 0
    assert "sum 0" in fig.axes[1].get_title()
    assert "edge detection 3" in fig._suptitle.get_text()
    assert fig.axes[2].get_title().startswith("$I * K$ 18 x 22")


def test_show_filtered_blur_uses_the_photo_range_and_padding_keeps_size():
    image = np.random.default_rng(1).random((10, 10))
    fig = widgets.show_filtered(image, BOX_BLUR, padding=1)
    assert fig.axes[2].images[0].get_clim() == (0.0, 1.0)
    assert fig.axes[2].images[0].get_array().shape == (10, 10)
    # the kernel's nine numbers are written in its panel
    assert len(fig.axes[1].texts) == 9


def test_show_filtered_colour_maps_each_channel_onto_0_1():
    image = np.random.default_rng(2).random((12, 14, 3))
    fig = widgets.show_filtered(image, SHARPEN)
    shown = np.asarray(fig.axes[2].images[0].get_array())
    assert shown.shape == (10, 12, 3)
    np.testing.assert_allclose(shown, np.clip(apply_kernel(image, SHARPEN, padding=0), 0, 1))


@pytest.mark.parametrize("image, kernel, error", [
    (np.zeros((5, 5, 5, 5)), BOX_BLUR, ValueError),
    (np.zeros((5, 5)), np.ones(3), ValueError),
    (np.full((5, 5), np.nan), BOX_BLUR, ValueError),
    ("photo", BOX_BLUR, TypeError),
])
def test_show_filtered_rejects_bad_input(image, kernel, error):
    with pytest.raises(error):
        widgets.show_filtered(image, kernel)


def test_display_range():
    out = np.linspace(-3, 3, 1001)
    vmin, vmax = widgets.display_range(EDGE_DETECT_3, out)
    assert vmin == -vmax and 2.9 < vmax <= 3
    assert widgets.display_range(SHARPEN, out) == (0.0, 1.0)
    assert widgets.display_range(np.zeros((3, 3)), np.zeros((4, 4)))[1] > 0   # no 0-width


# ------------------------------------------------------------------ kernel explorer
def test_kernel_explorer_controls_follow_each_other():
    explorer = widgets.KernelExplorer(photos=("coins", "camera"), kernel="box blur",
                                      size=64)
    np.testing.assert_array_equal(explorer.current_kernel(), BOX_BLUR)
    explorer.kernel.value = "sharpen"                       # menu -> nine weights
    np.testing.assert_array_equal(explorer.current_kernel(), SHARPEN)
    explorer.weights[4].value = 4.0                         # an edit -> "custom"
    assert explorer.kernel.value == explorer.CUSTOM
    explorer.kernel.value = explorer.CUSTOM                 # custom keeps the weights
    assert explorer.current_kernel()[1, 1] == 4.0
    explorer.weights[4].value = 5.0                         # spells sharpen again
    assert explorer.kernel.value == "sharpen"
    fig = explorer.figure()
    assert "sharpen" in fig._suptitle.get_text()
    assert fig.axes[0].images[0].get_array().shape == (64, 81)    # coins: 303 x 384
    np.testing.assert_allclose(fig.axes[2].images[0].get_array(),
                               apply_kernel(fig.axes[0].images[0].get_array(), SHARPEN,
                                            padding=0), atol=1e-12)


def test_kernel_explorer_colour_photo_and_validation():
    explorer = widgets.KernelExplorer(photos=("camera", "astronaut"), photo="astronaut",
                                      gray=False, size=32)
    assert explorer.figure().axes[0].images[0].get_array().shape == (32, 32, 3)
    assert set(explorer.kernel.options) == {*GALLERY, "custom"}
    with pytest.raises(ValueError, match="kernel must be one of"):
        widgets.kernel_explorer(kernel="emboss")
    with pytest.raises(ValueError, match="photo must be one of"):
        widgets.kernel_explorer(photos=("camera",), photo="coins")
    with pytest.raises(ValueError):
        widgets.kernel_explorer(photos=())


# ------------------------------------------------------------- padding and stride
@pytest.mark.parametrize("n, k, p, s, never_covered", [
    (5, 3, 1, 2, 0), (6, 3, 0, 2, 11), (7, 1, 0, 3, 40), (4, 5, 1, 1, 0), (9, 4, 2, 3, 0)])
def test_plot_padding_stride_counts_windows_and_left_over_pixels(n, k, p, s, never_covered):
    fig = widgets.plot_padding_stride(n, k, p, s)
    ax = fig.axes[0]
    out = conv_output_size(n, k, s, p)
    assert ax.get_title().endswith(f"= {out}  ({out} x {out})")
    assert len(ax.lines) == out * out                       # one dot per window
    size = n + 2 * p
    zeros = [t for t in ax.texts if t.get_text() == "0"]
    assert len(zeros) == size * size - n * n                # one "0" per padding cell
    # rows (and columns) some window covers; with s > k there are gaps between windows
    covered = len({i * s + m for i in range(out) for m in range(k)})
    hatched = [r for r in ax.patches if r.get_hatch() == "///"]
    assert len(hatched) == size * size - covered * covered == never_covered


def test_plot_padding_stride_rejects_a_window_that_does_not_fit():
    with pytest.raises(ValueError, match="larger than the padded input"):
        widgets.plot_padding_stride(3, 5, 0, 1)
    with pytest.raises(ValueError):
        widgets.plot_padding_stride(5, 3, -1, 1)


def test_padding_stride_explorer_frames_one_slider_at_a_time():
    explorer = widgets.padding_stride_explorer()
    assert explorer.names == ["n", "k", "p", "s"]
    assert explorer.values_at(explorer.keys()[0]) == {"n": 5, "k": 3, "p": 1, "s": 2}
    assert not explorer.grid and len(explorer.keys()) == 1 + 8 + 4 + 2 + 2
    # a setting whose window fits draws plot_padding_stride, one that does not says why
    fits = explorer.draw(n=6, k=3, p=0, s=2)
    assert fits.axes[0].get_title().endswith("= 2  (2 x 2)")
    too_big = explorer.draw(n=1, k=5, p=0, s=1)
    assert "no output" in too_big.axes[0].get_title()
    assert "larger than the padded input" in " ".join(t.get_text() for t in too_big.axes[0].texts)
    assert tuple(fits.get_size_inches()) == tuple(too_big.get_size_inches())   # no jumps
    # the live sliders step through the same positions
    sliders = {c.description: c for c in explorer.widget.children if hasattr(c, "options")}
    assert list(sliders) == ["n", "k", "p", "s"] and sliders["p"].value == 1


def test_kernel_explorer_twin_offers_the_gallery_and_the_examples():
    explorer = widgets.kernel_explorer(photos=("coins", "astronaut"), kernel="sharpen",
                                       size=32)
    assert explorer.labels["kernel"] == [*GALLERY, *widgets.EXPLORER_EXAMPLES]
    assert explorer.labels["photo"] == ["coins", "astronaut"]
    start = tuple(explorer.start[n] for n in explorer.names)
    assert explorer.values_at(start) == {"kernel": "sharpen", "photo": "coins",
                                         "colour": "grey"}
    assert explorer.grid and len(explorer.keys()) == 10 * 2 * 2
    # live: the explorer with its nine weights; static: show_filtered of each choice
    assert isinstance(explorer.widget, type(widgets.KernelExplorer(size=8).widget))
    fig = explorer.draw(kernel="horizontal edges", photo="astronaut", colour="colour")
    assert fig.axes[0].images[0].get_array().shape == (32, 32, 3)
    assert "horizontal edges" in fig._suptitle.get_text()
    np.testing.assert_array_equal(
        [float(t.get_text()) for t in fig.axes[1].texts],
        widgets.EXPLORER_EXAMPLES["horizontal edges"].ravel())


def test_explorer_examples_do_what_chapter_5_says():
    rng = np.random.default_rng(3)
    image = rng.random((9, 9))
    ex = widgets.EXPLORER_EXAMPLES
    assert ex["blur, centre 1.25"].sum() == 2.0 and ex["blur, centre 1.25"][1, 1] == 1.25
    shifted = apply_kernel(image, ex["identity, shifted"], padding=0)
    np.testing.assert_array_equal(shifted, image[1:-1, 2:])   # one pixel to the left
    ramp = np.tile(np.arange(9.0)[:, None], (1, 9))           # brighter downwards
    assert np.all(apply_kernel(ramp, ex["horizontal edges"], padding=0) == -6)
