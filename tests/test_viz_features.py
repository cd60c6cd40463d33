"""cnnlib.viz.features: HoG glyphs, boxes and polar grids."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PolyCollection  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from cnnlib.features import cell_histograms  # noqa: E402
from cnnlib.viz import features as V  # noqa: E402


def test_glyph_segments_run_along_the_edges():
    cells = np.zeros((1, 1, 4))
    segments, values = V.hog_glyph_segments(cells, (10, 10))
    assert segments.shape == (4, 2, 2) and values.shape == (4,)
    direction = segments[:, 1] - segments[:, 0]
    angle = np.degrees(np.arctan2(direction[:, 1], direction[:, 0])) % 180
    # bins of 45 degrees centred at 22.5, 67.5, ...; each segment is perpendicular
    np.testing.assert_allclose(angle, (np.array([22.5, 67.5, 112.5, 157.5]) + 90) % 180)
    np.testing.assert_allclose(segments.mean(axis=1), 4.5)      # the cell's centre
    np.testing.assert_allclose(np.linalg.norm(direction, axis=1), 9.0)


def test_a_vertical_edge_gives_near_vertical_glyphs():
    image = np.zeros((16, 16))
    image[:, 8:] = 1
    cells = cell_histograms(image, 9, (8, 8))
    segments, values = V.hog_glyph_segments(cells, (8, 8))
    strongest = segments[np.argmax(values)]
    dx, dy = strongest[1] - strongest[0]
    assert abs(dy) > 5 * abs(dx)          # bin 0 (0-20 degrees): drawn at 100 degrees


def test_draw_hog_plain_and_signed():
    cells = np.random.default_rng(0).random((3, 4, 9))
    fig = V.draw_hog(cells, (5, 5), image=np.random.default_rng(1).random((15, 20)))
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines) == 1 and len(lines[0].get_segments()) == cells.size
    fig = V.draw_hog(cells - 0.5, (5, 5), signed=True, title="weights")
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert len(lines) == 2 and fig.axes[0].get_title() == "weights"
    with pytest.raises(ValueError, match="signed=True"):
        V.draw_hog(cells - 0.5, (5, 5))


def test_hog_figure_has_titles_and_handles_tiny_images():
    image = np.random.default_rng(2).random((40, 48))
    fig = V.hog_figure(image, 8, 6)
    assert "descriptor with 3 x 3 blocks" in fig._suptitle.get_text()
    assert fig.axes[0].get_xlabel() == "column" and "5 x 6 cells" in fig.axes[0].get_title()
    fig = V.hog_figure(image, 16, 6)                    # 2 x 3 cells: no 3 x 3 block
    assert "too few cells" in fig._suptitle.get_text()


def test_draw_boxes_and_polar_grid():
    fig = V.draw_boxes([[1, 2, 5, 6], [0, 0, 3, 3]], image=np.zeros((8, 8)),
                       scores=[0.9, 0.4], label="face")
    (boxes,) = [c for c in fig.axes[0].collections if isinstance(c, PolyCollection)]
    np.testing.assert_allclose(boxes.get_paths()[0].vertices[:4],
                               [[0.5, 1.5], [4.5, 1.5], [4.5, 5.5], [0.5, 5.5]])
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.90", "0.40"]
    fig = V.draw_polar_grid([6, 11, 15], 8, numbers=True)
    ax = fig.axes[0]
    assert len([p for p in ax.patches if isinstance(p, Circle)]) == 3
    assert sorted(int(t.get_text()) for t in ax.texts) == list(range(17))   # GLOH: 17 bins
    fig = V.draw_polar_grid([2, 4, 6, 8], 0, numbers=True)
    assert len(fig.axes[0].texts) == 4 and not fig.axes[0].lines


@pytest.mark.parametrize("call, error, says", [
    (lambda: V.hog_glyph_segments(np.zeros((3, 9)), 8), ValueError, "cells must be 3-D"),
    (lambda: V.hog_glyph_segments(np.zeros((1, 1, 9)), (8, 0)), ValueError,
     "pixels_per_cell[1] must be >= 1"),
    (lambda: V.draw_boxes(np.zeros((2, 3))), ValueError, "boxes must have shape (n, 4)"),
    (lambda: V.draw_boxes(np.zeros((2, 4)), scores=[1.0]), ValueError, "one value per box"),
    (lambda: V.draw_polar_grid([0, 5]), ValueError, "radii must be positive"),
    (lambda: V.hog_figure(np.zeros((32, 32, 3))), ValueError, "image must be 2-D"),
])
def test_bad_input(call, error, says):
    with pytest.raises(error) as info:
        call()
    assert says in str(info.value)
