"""The layer table (cnnlib.nn.summary) and the network drawing (cnnlib.viz.architecture):
the shapes and counts they report are the model's own."""
import numpy as np
import pytest

import cnnlib.nn as nn
from cnnlib.models import lenet5, small_cnn
from cnnlib.nn.summary import format_summary, layer_outputs, summary
from cnnlib.viz.architecture import draw_cnn, stages


def test_lenet_table_shapes_and_counts():
    rows = summary(lenet5(rng=0), (1, 28, 28))
    assert [r.name for r in rows][:4] == ["input", "conv1", "act1", "pool1"]
    assert rows[-1].output_shape == (10,)
    assert sum(r.parameters for r in rows) == 61_706
    text = format_summary(rows)
    assert text.splitlines()[-1].split()[-1] == "61,706"
    assert "Conv2d(6, 16, 5x5) " in text and "Conv2d(1, 6, 5x5, padding 2) " in text
    assert "MaxPool2d(2x2) " in text and "Linear(400, 120) " in text
    assert max(map(len, text.splitlines())) <= 72          # fits a page's code block


def test_stages_merge_activations_and_keep_pools():
    got = stages(summary(lenet5(rng=0), (1, 28, 28)))
    assert got == [((1, 28, 28), ""), ((6, 28, 28), "conv 5x5 + ReLU"),
                   ((6, 14, 14), "max pool 2x2"), ((16, 10, 10), "conv 5x5 + ReLU"),
                   ((16, 5, 5), "max pool 2x2"), ((400,), "flatten"),
                   ((120,), "fc + ReLU"), ((84,), "fc + ReLU"), ((10,), "fc")]


def test_layer_outputs_leave_no_cache_and_restore_the_mode():
    model = small_cnn(rng=0)
    x = np.random.default_rng(0).random((3, 1, 28, 28))
    outs = layer_outputs(model, x)
    assert [v.shape for v in outs.values()] == [(3, 8, 28, 28), (3, 8, 28, 28),
                                                (3, 8, 14, 14), (3, 1568), (3, 10)]
    assert all(m.pending == 0 for m in model.modules()) and model.training
    np.testing.assert_allclose(outs["4"], model(x), rtol=1e-12)


def test_drawing_has_a_stack_per_map_stage():
    fig = draw_cnn(summary(lenet5(rng=0), (1, 28, 28)), title="LeNet-5")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for label in ("1@28x28", "6@28x28", "6@14x14", "16@10x10", "16@5x5", "400", "120",
                  "84", "10"):
        assert label in texts
    assert fig.axes[0].get_title() == "LeNet-5"


class NotAChain(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3, rng=0)
        self.b = nn.Linear(3, 3, rng=1)

    def forward(self, x):
        return self.a(x) + self.b(x)


def test_summary_refuses_a_model_that_is_not_a_chain():
    with pytest.raises(ValueError, match="one after"):
        summary(NotAChain(), (3,))
    with pytest.raises(TypeError, match="cnnlib Module"):
        summary("lenet", (1, 28, 28))
    with pytest.raises(ValueError, match="first row"):
        stages([])
