"""The figures of chapter 12 (cnnlib.viz.clip): they draw what they are given."""
import matplotlib
import numpy as np

matplotlib.use("Agg")

from cnnlib.functional.contrastive import clip_loss  # noqa: E402
from cnnlib.viz.clip import clip_overview, plot_similarity, temperature_figure  # noqa: E402


def test_temperature_figure_shows_softmax_rows_and_the_loss_at_that_scale():
    rng = np.random.default_rng(0)
    cos = np.clip(np.eye(4) * 0.8 + 0.1 * rng.normal(size=(4, 4)), -1, 1)
    fig = temperature_figure(cos, 10.0, ["a red circle"] * 4)
    left = next(a for a in fig.axes if a.get_title().startswith("softmax"))
    right = next(a for a in fig.axes if a.get_title().startswith("loss"))
    probs = left.images[0].get_array()
    np.testing.assert_allclose(np.asarray(probs).sum(axis=1), 1.0, rtol=1e-12)
    # the marked point is the symmetric loss of these cosines at s = 10
    x, y = right.lines[1].get_data()
    assert x[0] == 10.0 and np.isclose(y[0], float(clip_loss(cos, np.eye(4), 10.0)))
    assert "s = 10" in left.get_title()


def test_similarity_and_overview_figures_draw():
    rng = np.random.default_rng(1)
    sim = rng.uniform(-1, 1, size=(5, 5))
    ax = plot_similarity(sim, title="before")
    np.testing.assert_array_equal(ax.images[0].get_array(), sim)
    images = rng.uniform(size=(5, 3, 8, 8))
    fig = clip_overview(images, [f"caption {i}" for i in range(5)], sim,
                        ["red circle", "blue star"], images[0], np.array([0.7, 0.3]))
    assert len(fig.axes) == 3
    assert "prediction: a photo of a red circle" in [t.get_text() for t in fig.axes[2].texts]
