"""LeNet-5 and chapter 7's small models: parameter counts, the PyTorch twins (same keys,
same outputs, same gradients for every parameter, on cpu and cuda), training steps in
lock-step with torch, weights saved to .npz and moved between the two libraries."""
import numpy as np
import pytest
import torch

import cnnlib.nn as nn
from cnnlib.models import fully_connected, lenet5, small_cnn
from cnnlib.models.lenet import LENET5_PARAMETERS
from cnnlib.optim import SGD
from cnnlib.twins import lenet as tlenet
from cnnlib.twins import small_nets as tsmall
from cnnlib.twins import state_from_torch, state_to_torch

from test_conv_layers import err
from torch_devices import DEVICES

# float32 through the five layers of LeNet: each logit sums ~400 products after two
# convolutions (sums of 25 and 150); the normalised error stays near 1e-6 (the LeNet-5
# row of cnnlib/crosscheck/layers.py: below 6e-6 over 300 trials); 1e-4 leaves a
# margin and stays far below a real bug (~1e-1).
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def digits(n=16, seed=0, dtype=np.float64):
    """Random images in [0, 1] shaped like MNIST, with labels."""
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)).astype(dtype), rng.integers(0, 10, n)


MODELS = {  # name -> (cnnlib model, its torch twin)
    "lenet5": (lambda dt: lenet5(rng=0, dtype=dt), lambda: tlenet.lenet5()),
    "lenet5 tanh avg": (lambda dt: lenet5(activation="tanh", pooling="avg", rng=0, dtype=dt),
                        lambda: tlenet.lenet5(activation="tanh", pooling="avg")),
    "small_cnn": (lambda dt: small_cnn(rng=0, dtype=dt), lambda: tsmall.small_cnn()),
    "fully_connected": (lambda dt: fully_connected(rng=0, dtype=dt),
                        lambda: tsmall.fully_connected()),
}


def test_lenet_has_61706_parameters_layer_by_layer():
    model = lenet5(rng=0)
    counts = {name: p.size for name, p in model.named_parameters()}
    assert counts == {"conv1.weight": 150, "conv1.bias": 6, "conv2.weight": 2400,
                      "conv2.bias": 16, "fc1.weight": 48000, "fc1.bias": 120,
                      "fc2.weight": 10080, "fc2.bias": 84, "fc3.weight": 840,
                      "fc3.bias": 10}
    assert model.num_parameters() == LENET5_PARAMETERS == 61_706
    assert sum(p.numel() for p in tlenet.LeNet5().parameters()) == 61_706
    assert small_cnn().num_parameters() == 15_898
    assert fully_connected().num_parameters() == 15_910


@pytest.mark.parametrize("name", MODELS)
def test_twins_have_the_same_state_dict_keys_and_shapes(name):
    ours, theirs = MODELS[name][0](np.float64), MODELS[name][1]()
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", MODELS)
def test_same_weights_give_the_same_outputs_and_gradients(name, dtype, device):
    make_ours, make_theirs = MODELS[name]
    ours = make_ours(dtype)
    ask_for_the_input_gradient(ours)
    theirs = state_to_torch(ours, make_theirs().to(device=device,
                                                   dtype=getattr(torch, np.dtype(dtype).name)))
    x, y = digits(dtype=dtype)
    # the loss, its gradient and the model's backward: one training step's worth
    import cnnlib.functional as F
    logits = ours(x)
    loss, cache = F.cross_entropy_forward(logits, y)
    dx = ours.backward(F.cross_entropy_backward(1.0, cache))
    tx = torch.tensor(x, device=device, requires_grad=True)
    tlogits = theirs(tx)
    tloss = torch.nn.functional.cross_entropy(tlogits, torch.tensor(y, device=device))
    tloss.backward()
    assert err(logits, tlogits) <= TOL[dtype]
    assert abs(loss - tloss.item()) <= TOL[dtype] * abs(tloss.item())
    assert err(dx, tx.grad) <= TOL[dtype]
    grads = dict(ours.named_parameters())
    for key, p in theirs.named_parameters():
        assert err(grads[key].grad, p.grad) <= TOL[dtype], key


def ask_for_the_input_gradient(model):
    """The first convolution skips the images' gradient by default; compare it too."""
    for m in model.modules():
        if hasattr(m, "needs_input_grad"):
            m.needs_input_grad = True


@pytest.mark.parametrize("name", ["lenet5", "small_cnn"])
def test_the_images_gradient_is_skipped_by_default_and_nothing_else(name):
    import cnnlib.functional as F
    lazy, full = MODELS[name][0](np.float64), MODELS[name][0](np.float64)
    ask_for_the_input_gradient(full)
    x, y = digits()
    grads = {}
    for model in (lazy, full):
        _, cache = F.cross_entropy_forward(model(x), y)
        grads[model] = model.backward(F.cross_entropy_backward(1.0, cache))
    assert grads[lazy] is None and grads[full].shape == x.shape
    for (key, a), (_, b) in zip(lazy.named_parameters(), full.named_parameters()):
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=key)


@pytest.mark.parametrize("device", DEVICES)
def test_sgd_with_momentum_keeps_the_twins_in_lock_step(device):
    ours = lenet5(rng=1)
    theirs = state_to_torch(ours, tlenet.lenet5(dtype=torch.float64, device=device))
    opt = SGD(ours.parameters(), lr=0.05, momentum=0.9)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    import cnnlib.functional as F
    for step in range(4):
        x, y = digits(8, seed=step)
        out = ours(x)
        _, cache = F.cross_entropy_forward(out, y)
        opt.zero_grad()
        ours.backward(F.cross_entropy_backward(1.0, cache))
        opt.step()
        topt.zero_grad()
        torch.nn.functional.cross_entropy(
            theirs(torch.tensor(x, device=device)), torch.tensor(y, device=device)).backward()
        topt.step()
    for key, value in state_from_torch(theirs).items():
        assert err(ours.state_dict()[key], value) < 1e-10, key


def test_weights_round_trip_through_npz_and_torch(tmp_path):
    ours = lenet5(rng=2, dtype=np.float32)
    path = nn.save(ours.state_dict(), tmp_path / "lenet")
    assert path.name == "lenet.npz"
    back = lenet5(rng=3, dtype=np.float32).load_state_dict(nn.load(path))
    x, _ = digits(4, dtype=np.float32)
    np.testing.assert_array_equal(back(x), ours(x))
    theirs = state_to_torch(nn.load(path), tlenet.lenet5())        # NumPy -> torch
    again = lenet5(rng=4, dtype=np.float32).load_state_dict(state_from_torch(theirs))
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(again.state_dict()[key], value)


def test_lenet_shapes_layer_by_layer():
    model = lenet5(rng=0)
    x = digits(2)[0]
    shapes = []
    for name, layer in model.named_children():
        x = layer(x)
        shapes.append((name, x.shape[1:]))
    assert shapes == [("conv1", (6, 28, 28)), ("act1", (6, 28, 28)), ("pool1", (6, 14, 14)),
                      ("conv2", (16, 10, 10)), ("act2", (16, 10, 10)), ("pool2", (16, 5, 5)),
                      ("flatten", (400,)), ("fc1", (120,)), ("act3", (120,)),
                      ("fc2", (84,)), ("act4", (84,)), ("fc3", (10,))]
    model.clear_pending()


def test_lenet_rejects_bad_input_and_options():
    model = lenet5()
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*\(5, 28, 28\).*X\[:, None\]"):
        model(np.zeros((5, 28, 28)))
    with pytest.raises(ValueError, match="activation"):
        lenet5(activation="sigmoid")
    with pytest.raises(ValueError, match="pooling"):
        lenet5(pooling="min")
    with pytest.raises(ValueError, match="activation"):
        tlenet.lenet5(activation="sigmoid")
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        small_cnn(kernel_size=4)
