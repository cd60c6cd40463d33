"""SimCLR's PyTorch side (cnnlib.twins.simclr): shapes of the encoder, head and model,
cnnlib's NumPy loss inside autograd gives torch's gradients, a short seeded training
run lowers the loss and repeats exactly, the features are taken in evaluation mode,
and bad input is named."""
import numpy as np
import pytest
import torch

from cnnlib.data.views import digit_views
from cnnlib.twins.simclr import (DigitEncoder, NumpyNTXent, ProjectionHead, SimCLR,
                                 encode, nt_xent_torch, train_simclr)
from cnnlib.twins.training import seed_everything
from torch_devices import DEVICES


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread; the setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def blobs(n=64, rng=0):
    """Tiny 'digits': a bright bar at one of four places."""
    rng = np.random.default_rng(rng)
    x = np.zeros((n, 1, 28, 28), np.float32)
    for i, k in enumerate(rng.integers(0, 4, n)):
        x[i, 0, 4 + 5 * k:10 + 5 * k, 6:22] = 1.0
    return x


def test_shapes():
    enc = DigitEncoder((8, 16), 24)
    x = torch.zeros(5, 1, 28, 28)
    assert enc(x).shape == (5, 24)
    assert ProjectionHead(24, 32, 10)(torch.zeros(5, 24)).shape == (5, 10)
    model = SimCLR(enc, proj_dim=12)
    assert model(x).shape == (5, 12)
    assert model.encoder is enc
    assert encode(enc, np.zeros((7, 1, 28, 28))).shape == (7, 24)


@pytest.mark.parametrize("device", DEVICES)
def test_numpy_loss_in_autograd_matches_torch(device):
    rng = np.random.default_rng(1)
    tensors = [torch.tensor(rng.standard_normal((6, 4)), device=device, requires_grad=True)
               for _ in range(2)]
    NumpyNTXent.apply(*tensors, 0.3).backward()
    grads = [t.grad.clone() for t in tensors]
    for t in tensors:
        t.grad = None
    nt_xent_torch(*tensors, 0.3).backward()
    for g, t in zip(grads, tensors):
        assert g.device == t.device
        torch.testing.assert_close(g, t.grad, rtol=1e-12, atol=1e-14)


def _train(seed, loss="numpy", epochs=3):
    seed_everything(seed)
    model = SimCLR(DigitEncoder((4, 8), 16), proj_dim=8, hidden=16)
    history = train_simclr(model, blobs(), digit_views(), epochs=epochs, batch_size=32,
                           temperature=0.5, lr=1e-2, seed=seed, loss=loss,
                           progress=False, device="cpu")
    return model, history


def test_training_lowers_the_loss_and_is_reproducible(one_thread):
    model, history = _train(0, epochs=4)
    assert len(history["loss"]) == 4 and len(history.step_loss) == 8
    assert history["loss"][-1] < history["loss"][0]
    assert 0 <= history["pair_accuracy"][-1] <= 1
    assert history["lr"][0] == pytest.approx(1e-2)
    assert history.seconds > 0
    again, history2 = _train(0, epochs=4)
    assert history2.step_loss == history.step_loss
    x = blobs(8, rng=5)
    np.testing.assert_array_equal(encode(model.encoder, x), encode(again.encoder, x))
    assert not model.training                      # left in evaluation mode


def test_numpy_and_torch_losses_train_alike(one_thread):
    _, h_numpy = _train(1, "numpy", epochs=2)
    _, h_torch = _train(1, "torch", epochs=2)
    np.testing.assert_allclose(h_numpy.step_loss, h_torch.step_loss, rtol=1e-4)


def test_encode_uses_running_statistics_and_restores_the_mode():
    enc = DigitEncoder((4, 8), 16)
    enc.train()
    x = blobs(10)
    one_by_one = np.concatenate([encode(enc, x[i:i + 1]) for i in range(10)])
    np.testing.assert_allclose(encode(enc, x), one_by_one, rtol=1e-5, atol=1e-6)
    assert enc.training


def test_bad_input_is_named():
    model = SimCLR(DigitEncoder((4, 8), 16))
    with pytest.raises(ValueError, match="batch_size 128 is larger than the 64 images"):
        train_simclr(model, blobs(), digit_views(), batch_size=128, progress=False)
    with pytest.raises(ValueError, match=r"images must have shape \(N, C, H, W\)"):
        train_simclr(model, blobs()[:, 0], digit_views(), batch_size=8, progress=False)
    with pytest.raises(TypeError, match="views must be a function"):
        train_simclr(model, blobs(), None, progress=False)
    with pytest.raises(ValueError, match="loss"):
        train_simclr(model, blobs(), digit_views(), loss="numpy2", progress=False)
    with pytest.raises(ValueError, match="temperature"):
        train_simclr(model, blobs(), digit_views(), temperature=0.0, progress=False)
    with pytest.raises(TypeError, match="encoder must be a torch.nn.Module"):
        encode(np.zeros(3), blobs())
    with pytest.raises(ValueError, match="encoder must have an attribute width"):
        SimCLR(torch.nn.Identity())
