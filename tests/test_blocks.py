"""cnnlib.viz.blocks: the drawings of multi-channel convolution show the shapes they name."""
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlib.viz.blocks import WINDOW, draw_conv_block, draw_filter_bank


def texts(fig):
    return " ".join(t.get_text() for t in fig.axes[0].texts) + fig.axes[0].get_title()


@pytest.mark.parametrize("channels, size, kernel, position", [(3, 6, 3, (1, 2)),
                                                              (1, 5, 5, (0, 0)),
                                                              (4, 7, 2, (5, 5))])
def test_conv_block_draws_every_cell_and_names_the_shapes(channels, size, kernel, position):
    fig = draw_conv_block(channels, size, kernel, position)
    assert isinstance(fig, Figure)
    out = size - kernel + 1
    cells = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    # the input's cells, the window's shaded cells on every channel, the output map and
    # its marked pixel
    assert len(cells) == channels * size * size + channels * kernel * kernel + out * out + 1
    gold = [p for p in cells if to_hex(p.get_facecolor()[:3]) == WINDOW]
    assert len(gold) == channels * kernel * kernel + 1
    words = texts(fig)
    assert f"{channels} channels of {size} x {size}" in words
    assert f"one map of {out} x {out}" in words
    assert f"{channels * kernel * kernel} products" in words


def test_filter_bank_names_the_weight_array():
    fig = draw_filter_bank(d=4, r=3, m=3)
    words = texts(fig)
    assert "(4, 3, 3, 3), 108 numbers" in words
    assert all(f"filter {f}" in words and f"map {f}" in words for f in range(1, 5))
    assert fig.get_size_inches()[0] <= 9.5                  # fits the page


@pytest.mark.parametrize("call, match", [
    (lambda: draw_conv_block(3, 4, 5), "kernel must be at most"),
    (lambda: draw_conv_block(3, 6, 3, (4, 0)), "position"),
    (lambda: draw_conv_block(0), "channels"),
    (lambda: draw_filter_bank(d=20), "at most"),
])
def test_bad_shapes_are_explained(call, match):
    with pytest.raises(ValueError, match=match):
        call()
