"""cnnlib.viz.plotting: every function returns a Figure with a title and labelled axes, and
draws what it is given."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from cnnlib.viz import plotting


def texts(ax):
    return [t.get_text() for t in ax.texts]


def image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


# ------------------------------------------------------------------------ images
def test_show_images_grid_titles_and_suptitle():
    images = np.random.default_rng(0).random((10, 28, 28))
    fig = plotting.show_images(images, titles=[f"label {k}" for k in range(10)], ncols=4,
                               suptitle="Ten digits")
    assert isinstance(fig, Figure)
    assert fig._suptitle.get_text() == "Ten digits"
    shown = image_axes(fig)
    assert len(shown) == 10 and len(fig.axes) == 12          # 3 rows of 4, 2 blank
    assert [ax.get_title() for ax in shown] == [f"label {k}" for k in range(10)]
    assert np.array_equal(shown[3].images[0].get_array(), images[3])


@pytest.mark.parametrize("images, count, shape", [
    (np.zeros((5, 7)), 1, (5, 7)),                           # one grey image
    (np.zeros((5, 7, 3)), 1, (5, 7, 3)),                     # one colour image
    (np.zeros((4, 5, 7)), 4, (5, 7)),                        # a stack of grey images
    (np.zeros((2, 1, 5, 7)), 2, (5, 7)),                     # PyTorch NCHW, 1 channel
    (np.zeros((2, 3, 5, 7)), 2, (5, 7, 3)),                  # PyTorch NCHW, colour
    (np.zeros((2, 5, 7, 3)), 2, (5, 7, 3)),                  # NHWC
    (np.zeros((6, 3, 3)), 6, (3, 3)),                        # 3x3 kernels, not RGB
    (np.zeros((16, 4, 4)), 16, (4, 4)),                      # LeNet's 16@4x4 maps
    (np.zeros((6, 1, 5, 5)), 6, (5, 5)),                     # conv1 weights
    ([np.zeros((5, 7)), np.zeros((3, 3))], 2, None),         # different sizes
    ([np.zeros((3, 5, 7))], 1, (5, 7, 3)),                   # a list: CHW
])
def test_show_images_accepts_the_usual_layouts(images, count, shape):
    fig = plotting.show_images(images, suptitle="layouts")
    shown = image_axes(fig)
    assert len(shown) == count
    if shape is not None:
        assert shown[0].images[0].get_array().shape == shape


def test_show_images_single_image_axes_labels_and_colorbar():
    fig = plotting.show_images(np.eye(4), suptitle="Identity", axes=True, colorbar=True)
    ax = image_axes(fig)[0]
    assert ax.get_title() == "Identity"
    assert ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    assert len(fig.axes) == 2                                # image + colour bar


@pytest.mark.parametrize("colorbar", [False, True])
def test_show_images_is_never_wider_than_the_text_column_can_show(colorbar):
    # 16 panels of 1.8 inches would be 29 inches wide; the page would shrink it until the
    # titles could not be read, so the panels shrink instead.
    fig = plotting.show_images(np.zeros((16, 5, 5)), ncols=16, colorbar=colorbar)
    assert fig.get_size_inches()[0] <= plotting.MAX_WIDTH + 1e-9
    plt.close(fig)
    fig = plotting.show_images(np.zeros((3, 5, 5)), ncols=3)        # small grids keep size
    assert fig.get_size_inches()[0] == pytest.approx(3 * 1.8)
    plt.close(fig)


def test_show_images_errors():
    with pytest.raises(ValueError, match="one entry per image: got 1 titles for 2"):
        plotting.show_images(np.zeros((2, 4, 4)), titles=["a"])
    with pytest.raises(ValueError, match="images must be 2-D or 3-D or 4-D"):
        plotting.show_images(np.zeros(5))
    with pytest.raises(ValueError, match=r"\(16, 6, 5, 5\).*images\[:, 0\]"):
        plotting.show_images(np.zeros((16, 6, 5, 5)))          # conv2 weights as-is
    with pytest.raises(ValueError, match=r"image 1 has shape \(5, 5, 2\)"):
        plotting.show_images([np.zeros((5, 5)), np.zeros((5, 5, 2))])
    with pytest.raises(TypeError, match="ncols must be an int"):
        plotting.show_images(np.zeros((2, 4, 4)), ncols=1.5)


# --------------------------------------------------------------- training curves
def test_plot_history_splits_loss_and_accuracy():
    hist = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.5],
            "accuracy": [0.5, 0.8, 0.9]}
    fig = plotting.plot_history(hist, title="Curves")
    assert fig._suptitle.get_text() == "Curves"
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    assert loss_ax.get_xlabel() == "epoch" and acc_ax.get_xlabel() == "epoch"
    assert [l.get_label() for l in loss_ax.lines] == ["loss", "val_loss"]
    x, y = loss_ax.lines[1].get_data()
    assert list(x) == [1, 2, 3] and list(y) == [1.1, 0.7, 0.5]


class FakeHistory:
    """Like cnnlib.train's History: indexable by name, with .history."""
    def __init__(self, **curves):
        self.history = curves

    def __getitem__(self, key):
        return self.history[key]


def test_plot_history_accepts_history_objects_lists_and_keys():
    fig = plotting.plot_history(FakeHistory(loss=[3, 2, 1], acc=[0.1, 0.2, 0.3]),
                                keys=["loss"], logy=True)
    (ax,) = fig.axes
    assert ax.get_title() == "Training curves" and ax.get_yscale() == "log"
    assert [l.get_label() for l in ax.lines] == ["loss"]
    fig = plotting.plot_history([0.9, 0.4, 0.3, 0.2], xlabel="step")
    assert fig.axes[0].get_xlabel() == "step" and fig.axes[0].get_ylabel() == "loss"
    with pytest.raises(ValueError, match=r"keys \['val_loss'\] are not in the history"):
        plotting.plot_history({"loss": [1, 2]}, keys=["val_loss"])
    with pytest.raises(TypeError, match="history must be"):
        plotting.plot_history(3.0)


def test_plot_history_draws_cnnlib_train_history():
    from cnnlib.train import History

    fig = History(loss=[0.9, 0.5], accuracy=[0.6, 0.8]).plot()
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]


# ------------------------------------------------------------- decision boundary
def test_plot_decision_boundary_probabilities():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    seen = {}

    def predict(points):
        seen["shape"] = points.shape
        return 1 / (1 + np.exp(-5 * points[:, 0]))

    fig = plotting.plot_decision_boundary(predict, X, y, resolution=50, title="Logistic")
    ax = fig.axes[0]
    assert seen["shape"] == (2500, 2)
    assert ax.get_title() == "Logistic"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert len(ax.collections) >= 3                          # shading, boundary, points
    assert fig.axes[1].get_ylabel() == "P(y = 1 | x)"        # colour bar


def test_plot_decision_boundary_labels_and_scores():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    fig = plotting.plot_decision_boundary(
        lambda P: np.stack([-P[:, 0], P[:, 0], P[:, 1]], axis=1), X, y,
        class_names=["a", "b", "c"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        plotting.plot_decision_boundary(lambda P: P[:, 0], np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="X is empty"):
        plotting.plot_decision_boundary(lambda P: P[:, 0], np.zeros((0, 2)), [])
    with pytest.raises(ValueError, match="same number of points"):
        plotting.plot_decision_boundary(lambda P: P[:, 0], X, y[:-1])
    with pytest.raises(ValueError, match="one value .* per point"):
        plotting.plot_decision_boundary(lambda P: P[:3, 0], X, y)


# -------------------------------------------------------------- confusion matrix
def test_plot_confusion_matrix_counts_in_cells():
    y_true = [0, 0, 1, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 0, 2]
    fig = plotting.plot_confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "owl"])
    ax = fig.axes[0]
    assert ax.get_title() == "Confusion matrix (accuracy 71.4%)"
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    # row = true class, column = predicted, read row by row
    assert texts(ax) == ["1", "1", "0", "0", "2", "0", "1", "0", "2"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog", "owl"]
    fig = plotting.plot_confusion_matrix(y_true, y_pred, normalize=True, title="Rates")
    assert fig.axes[0].get_title() == "Rates"
    assert texts(fig.axes[0])[6:] == ["0.33", "0.00", "0.67"]


def test_plot_confusion_matrix_errors():
    with pytest.raises(ValueError, match="same shape"):
        plotting.plot_confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="class_names has 2 names but the labels go up to 2"):
        plotting.plot_confusion_matrix([0, 2], [1, 0], class_names=["a", "b"])
    with pytest.raises(TypeError, match="y_pred must hold integer class indices"):
        plotting.plot_confusion_matrix([0, 1], [0.5, 1])


# ------------------------------------------------------------------- 1-D functions
def test_plot_function_curves_values_and_labels():
    sig = lambda z: 1 / (1 + np.exp(-z))                     # noqa: E731
    fig = plotting.plot_function({"$g$": sig, "$g'$": lambda z: sig(z) * (1 - sig(z))},
                                 x=(-4, 4), num=81, title="Sigmoid")
    ax = fig.axes[0]
    assert ax.get_title() == "Sigmoid" and ax.get_xlabel() == "$z$" and ax.get_ylabel()
    curves = [l for l in ax.lines if l.get_label() in ("$g$", "$g'$")]
    assert len(curves) == 2
    x, y = curves[1].get_data()
    assert len(x) == 81 and x[0] == -4 and x[-1] == 4
    assert y[40] == pytest.approx(0.25)                      # g'(0) = 1/4
    fig = plotting.plot_function(np.tanh, x=np.array([-1.0, 0.0, 1.0]))
    ax = fig.axes[0]
    assert ax.get_title() == "tanh"
    assert [l.get_label() for l in ax.get_legend().get_lines()] == ["tanh"]


def test_plot_function_errors():
    with pytest.raises(TypeError, match="callable"):
        plotting.plot_function([1, 2])
    with pytest.raises(ValueError, match="low < high"):
        plotting.plot_function(np.sin, x=(2, -2))
    with pytest.raises(ValueError, match="one entry per function"):
        plotting.plot_function([np.sin, np.cos], labels=["sin"])


# ---------------------------------------------------------------------- kernels
def test_show_kernel_writes_numbers_in_cells():
    fig = plotting.show_kernel([[1, 0, 1], [0, 1, 0], [1, 0, 1]], title="Filter")
    ax = fig.axes[0]
    assert ax.get_title() == "Filter"
    assert ax.get_xlabel() == "column $n$" and ax.get_ylabel() == "row $m$"
    assert texts(ax) == ["1", "0", "1", "0", "1", "0", "1", "0", "1"]
    fig = plotting.show_kernel(np.full((3, 3), 1 / 9), title="Box blur")
    assert set(texts(fig.axes[0])) == {"0.111"}
    fig = plotting.show_kernel([[0.5, -2]], fmt=".1f")
    assert texts(fig.axes[0]) == ["0.5", "-2.0"]


def test_show_kernel_one_d_and_highlight():
    fig = plotting.show_kernel([1, 1, 1, 0, 0], title="Signal", highlight=(0, 1, 1, 3),
                               cmap="Greys")
    ax = fig.axes[0]
    assert texts(ax) == ["1", "1", "1", "0", "0"]
    assert ax.get_xlabel() == "index $i$"
    (window,) = ax.patches
    assert window.get_xy() == (0.5, -0.5) and window.get_width() == 3
    with pytest.raises(ValueError, match="matrix must be 1-D or 2-D"):
        plotting.show_kernel(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="matrix must be finite"):
        plotting.show_kernel([[np.nan]])


def test_draws_into_a_given_axes():
    fig, (a, b) = plt.subplots(1, 2)
    assert plotting.show_kernel(np.eye(2), ax=a) is fig
    assert plotting.plot_function(np.sin, ax=b) is fig
    assert b.get_title() == "sin"
