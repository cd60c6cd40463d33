"""cnnlib.twins.transfer: the small CNN with a replaceable head, freezing, parameter
groups, the four fine-tuning modes and the memoised pre-training. Run on every device."""
import numpy as np
import pytest
import torch
from torch import nn

from cnnlib.data import Split
from cnnlib.twins import transfer
from torch_devices import DEVICES


def _images(n, seed=0, classes=3):
    """n easy 28 x 28 images: class c is a bright bar in row band c."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.uniform(0, 0.2, (n, 28, 28))
    for i, c in enumerate(y):
        X[i, 8 * c + 2:8 * c + 6, 4:24] = 1.0
    return X, y.astype(np.int64)


def test_small_cnn_shapes_and_replaceable_head():
    torch.manual_seed(0)
    m = transfer.small_cnn(10, width=4)
    assert isinstance(m.head, nn.Linear) and m.head.out_features == 10
    assert m.num_features == 4 * 4 * 3 * 3
    x = torch.rand(5, 1, 28, 28)
    assert m(x).shape == (5, 10)
    m.head = nn.Linear(m.num_features, 3)
    assert m(x).shape == (5, 3)
    assert transfer.features(m, np.random.rand(5, 28, 28)).shape == (5, m.num_features)
    assert transfer.features(m, np.random.rand(5, 28, 28), upto=0).shape == (5, 784)
    assert transfer.features(m, np.random.rand(5, 28, 28), upto=1).shape == (5, 4 * 14 * 14)
    no_bn = transfer.small_cnn(width=4, batch_norm=False)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in no_bn.modules())
    with pytest.raises(ValueError, match="upto"):
        transfer.features(m, np.random.rand(2, 28, 28), upto=4)
    with pytest.raises(TypeError, match="width"):
        transfer.small_cnn(width=2.5)


def test_freeze_stops_gradients_and_batch_norm_statistics():
    torch.manual_seed(0)
    m = transfer.small_cnn(width=4)
    transfer.freeze(m.body)
    assert all(not p.requires_grad for p in m.body.parameters())
    assert all(p.requires_grad for p in m.head.parameters())
    assert not m.body.training


def test_parameter_groups_give_the_body_a_smaller_rate():
    m = transfer.small_cnn(width=4)
    groups = transfer.parameter_groups(m, 1e-2, 0.1)
    opt = torch.optim.Adam(groups)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-3, 1e-2])
    n_body = sum(p.numel() for p in opt.param_groups[0]["params"])
    n_head = sum(p.numel() for p in opt.param_groups[1]["params"])
    assert n_body == sum(p.numel() for p in m.body.parameters())
    assert n_head == sum(p.numel() for p in m.head.parameters())
    with pytest.raises(ValueError, match="body_lr_factor"):
        transfer.parameter_groups(m, 1e-2, -1)


def _state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _changed(before, module):
    return {k for k, v in module.state_dict().items() if not torch.equal(before[k], v)}


@pytest.mark.parametrize("device", DEVICES)
def test_fine_tune_modes_touch_exactly_what_they_should(device):
    torch.manual_seed(0)
    base = transfer.small_cnn(10, width=4).to(device)
    X, y = _images(30)
    before = _state(base)
    models = {mode: transfer.fine_tune(base, X, y, mode=mode, steps=20, batch_size=16)
              for mode in transfer.MODES}
    assert not _changed(before, base)                      # the input is left alone
    body = {k[5:]: v for k, v in before.items() if k.startswith("body.")}
    for mode, m in models.items():
        assert m.head.out_features == 3 and next(m.parameters()).device.type == device
        changed = _changed(body, m.body)
        if mode == "probe":            # weights and batch-norm statistics untouched
            assert not changed
        else:
            assert any(k.endswith("weight") for k in changed), mode
    # scratch starts from new weights: its first conv is far from the base's
    w0 = before["body.block1.0.weight"]
    assert (models["scratch"].body.block1[0].weight - w0).abs().max() > \
        5 * (models["discriminative"].body.block1[0].weight - w0).abs().max()
    # the discriminative body moves less than the full fine-tune's body
    move = {m: (models[m].body.block1[0].weight - w0).norm().item()
            for m in ("full", "discriminative")}
    assert move["discriminative"] < 0.5 * move["full"]
    # the easy task is learned (the probe of a random body too, more slowly)
    acc = {mode: transfer.accuracy(m, X, y) for mode, m in models.items()}
    assert min(acc.values()) > 0.6 and max(acc.values()) == 1.0, acc


def test_fine_tune_is_seeded():
    torch.manual_seed(0)
    base = transfer.small_cnn(width=4)
    X, y = _images(20)
    a = transfer.fine_tune(base, X, y, mode="full", seed=3, steps=5)
    b = transfer.fine_tune(base, X, y, mode="full", seed=3, steps=5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(mode="frozen"), ValueError, "mode"),
    (dict(mode="full", steps=0), ValueError, "steps"),
])
def test_fine_tune_bad_input(kwargs, error, match):
    X, y = _images(6)
    with pytest.raises(error, match=match):
        transfer.fine_tune(transfer.small_cnn(width=4), X, y, **kwargs)
    with pytest.raises(ValueError, match="same number"):
        transfer.fine_tune(transfer.small_cnn(width=4), X, y[:3], mode="full")
    with pytest.raises(TypeError, match="SmallCNN"):
        transfer.fine_tune(nn.Linear(2, 2), X, y, mode="full")


def test_pretrain_is_memoised_and_returns_copies(monkeypatch):
    X, y = _images(40, classes=10)
    calls = []

    def fake(source):
        calls.append(source)
        return Split(X, X[:10], y, y[:10])

    monkeypatch.setattr(transfer, "source_data", fake)
    transfer._PRETRAINED.clear()
    try:
        a, losses = transfer.pretrain(7, epochs=2, width=4, device="cpu",
                                      return_history=True)
        b = transfer.pretrain(7, epochs=2, width=4, device="cpu")
        assert calls == ["animals"] and len(losses) == 2 * 1      # 40 images: one batch
        assert a is not b and all(torch.equal(p, q) for p, q in
                                  zip(a.parameters(), b.parameters()))
        with torch.no_grad():
            a.head.weight.zero_()
        assert transfer.pretrain(7, epochs=2, width=4, device="cpu").head.weight.abs().sum() > 0
        transfer.pretrain(8, epochs=2, width=4, device="cpu")
        assert calls == ["animals", "animals"]
        with pytest.raises(ValueError, match="source"):
            transfer.pretrain(source="cifar")
    finally:
        transfer._PRETRAINED.clear()


def test_accuracy_counts_correct_predictions():
    m = transfer.small_cnn(width=4)
    m.head = nn.Linear(m.num_features, 2)
    with torch.no_grad():
        m.head.weight.zero_()
        m.head.bias.copy_(torch.tensor([1.0, 0.0]))
    assert transfer.accuracy(m, np.zeros((4, 28, 28)), np.array([0, 0, 1, 0])) == 0.75


# ------------------------------------------------------- an ImageNet ResNet, if on disk
def test_resnet_without_weights_says_how_to_get_them(tmp_path):
    from cnnlib.twins import pretrained_resnet as pr
    with pytest.raises(FileNotFoundError, match="resnet18-f37072fd.pth") as info:
        pr.load_resnet18(cache_dir=tmp_path)
    assert str(tmp_path) in str(info.value)


def test_resnet_loads_a_tiny_model_saved_in_the_cache(tmp_path, monkeypatch):
    from cnnlib.twins import pretrained_resnet as pr
    torch.manual_seed(0)
    tiny = pr.ResNet(num_classes=7, width=2)
    with torch.no_grad():                  # non-trivial batch-norm statistics too
        for m in tiny.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save(tiny.state_dict(), checkpoints / "resnet18-0123abcd.pth")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    loaded = pr.load_resnet18()
    assert not loaded.training and loaded.num_features == 16
    x = torch.randn(2, 3, 32, 32)
    tiny.eval()
    assert torch.equal(loaded(x), tiny(x))
    # torchvision's names: the published state_dict has these keys
    keys = set(loaded.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight",
            "layer2.0.downsample.0.weight", "layer4.1.bn2.bias", "fc.weight"} <= keys
    assert len([k for k in keys if k.endswith("weight")]) == 41     # as torchvision's
    X, y = _images(60, classes=3)
    split = Split(X, X, y, y)
    acc = pr.probe_digits(loaded, split, per_class=5, seed=0, size=32, epochs=30)
    assert 0.0 <= acc <= 1.0


# ------------------------------------------------------------------------ figures
def test_label_curves_and_filters_figures():
    import matplotlib.pyplot as plt

    from cnnlib.train.experiments import summarize
    from cnnlib.viz.transfer import plot_label_curves, show_filters
    results = {"scratch": {5: [0.7, 0.72, 0.69], 50: summarize([0.9, 0.91, 0.92])},
               "full": {5: [0.8, 0.81, 0.79], 50: [0.93, 0.94, 0.92]}}
    ax = plot_label_curves(results, title="t")
    assert ax.get_xscale() == "log" and len(ax.containers) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["scratch (3 seeds)",
                                                                   "full (3 seeds)"]
    with pytest.raises(ValueError, match="empty"):
        plot_label_curves({})
    _, axes = plt.subplots(1, 4)
    show_filters(np.random.default_rng(0).normal(size=(4, 1, 3, 3)), axes, title="w")
    assert axes[0].get_ylabel() == "w" and len(axes[3].images) == 1
    with pytest.raises(ValueError, match="out_channels, 1, kh, kw"):
        show_filters(np.zeros((4, 3, 3)), axes)
