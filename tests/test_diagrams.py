"""cnnlib.viz.diagrams: network diagrams have one circle per unit (bias units included),
one arrow per allowed edge, and clear errors for bad input."""
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from cnnlib.viz.diagrams import draw_network


def texts(ax):
    return [t.get_text() for t in ax.texts]


def unit_circles(ax):
    # each unit is drawn as a filled disc plus its outline (gid "unit"): count outlines
    from matplotlib.patches import Circle
    return [p for p in ax.patches if isinstance(p, Circle) and p.get_gid() == "unit"]


def test_draw_network_units_bias_and_labels():
    fig = draw_network([3, 3, 1], bias=[0, 1], outputs=[r"$h_\Theta(x)$"],
                       captions=["input", "hidden", "output"])
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(unit_circles(ax)) == 4 + 4 + 1                 # bias units added on top
    assert ax.get_title() == "A 3-3-1 network"
    shown = texts(ax)
    assert "$x_{0}$" in shown and "$a_{0}^{(2)}$" in shown and "$a_{1}^{(3)}$" in shown
    assert {"input", "hidden", "output", r"$h_\Theta(x)$"} <= set(shown)
    # 4 * 3 edges into the hidden units (none into the bias unit), 4 into the output,
    # plus the output arrow
    arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
    assert len(arrows) == 12 + 4 + 1


def test_draw_network_label_lists_highlight_and_given_axes():
    fig, ax = plt.subplots()
    out = draw_network([["$x_0$", "$x_1$"], ["1", "2", "3", "4"]], bias=[0],
                       highlight=[(0, 0, 1), (0, 1, 1)], title="classes", ax=ax,
                       edge_labels={(0, 1, 0): r"$\theta$"})
    assert out is fig
    assert len(unit_circles(ax)) == 6
    assert ax.get_title() == "classes" and r"$\theta$" in texts(ax)


@pytest.mark.parametrize("layers, kwargs, error, match", [
    ([3], {}, ValueError, "at least 2 layers"),
    ("3-1", {}, TypeError, "layers must be"),
    ([3, 0], {}, ValueError, "layers"),
    ([3, 1.5], {}, TypeError, r"layers\[1\]"),
    ([3, 1], {"bias": [5]}, ValueError, "bias"),
    ([3, 1], {"captions": ["only one"]}, ValueError, "captions"),
    ([3, 1], {"edge_labels": {(0, 7, 0): "w"}}, ValueError, "edge"),
    ([3, 1], {"outputs": ["a", "b"]}, ValueError, "outputs"),
])
def test_draw_network_bad_input(layers, kwargs, error, match):
    with pytest.raises(error, match=match):
        draw_network(layers, **kwargs)
