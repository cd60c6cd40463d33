"""CLIP's symmetric loss and its pieces (cnnlib.functional.contrastive): values, finite-
difference gradient checks in float64, the PyTorch cross-check on every device, NT-Xent's
kinship, and bad input."""
import numpy as np
import pytest
import torch

from cnnlib.crosscheck import assert_case
from cnnlib.crosscheck.contrastive import CASES
from cnnlib.functional import contrastive as C
from cnnlib.functional import cross_entropy, log_softmax
from cnnlib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from torch_devices import DEVICES

GRAD_TOL = 1e-7     # central differences in float64


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -------------------------------------------------------------------- cross-checks
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_contrastive_ops_match_pytorch(case, device, dtype):
    assert_case(case, device, dtype, trials=20)


def test_the_cross_check_table_has_clip_loss_rows():
    from cnnlib.crosscheck import all_cases
    ops = {c.op for c in all_cases()}
    assert {"clip_loss", "normalize", "similarity_logits"} <= ops


# -------------------------------------------------------------------- values
def test_clip_loss_is_the_mean_of_row_and_column_cross_entropies():
    rng = np.random.default_rng(0)
    image, text = unit_rows(rng, 6, 4), unit_rows(rng, 6, 4)
    s = 9.0
    logits = s * image @ text.T
    rows = -np.mean([log_softmax(logits[i])[i] for i in range(6)])
    cols = -np.mean([log_softmax(logits[:, j])[j] for j in range(6)])
    assert C.clip_loss(image, text, s) == pytest.approx(0.5 * (rows + cols), rel=1e-14)
    # with a symmetric similarity matrix the two directions agree
    assert C.clip_loss(image, image, s) == pytest.approx(
        cross_entropy(s * image @ image.T, np.arange(6)), rel=1e-14)


def test_perfect_pairs_and_random_pairs():
    rng = np.random.default_rng(1)
    n = 8
    basis = np.eye(n)                              # orthonormal: every other pair cos 0
    perfect = C.clip_loss(basis, basis, 100.0)
    assert perfect < 1e-30
    # at s -> 0 every caption is equally likely: the loss is log N
    assert C.clip_loss(unit_rows(rng, n, 5), unit_rows(rng, n, 5), 1e-9) == pytest.approx(
        np.log(n), rel=1e-8)
    # swapped pairs are the worst case of a perfect matcher: loss about s
    swapped = C.clip_loss(basis, basis[::-1], 10.0)
    assert swapped == pytest.approx(10.0 + np.log(1 + (n - 1) * np.exp(-10.0)), rel=1e-12)
    assert C.clip_loss(basis[:1], basis[:1], 50.0) == 0.0       # one pair: nothing to mix up


def test_float32_stays_float32_and_logits_of_size_100_are_stable():
    rng = np.random.default_rng(2)
    image, text = unit_rows(rng, 5, 3), unit_rows(rng, 5, 3)
    loss, cache = C.clip_loss_forward(image.astype(np.float32), text.astype(np.float32),
                                      100.0)
    assert loss.dtype == np.float32 and np.isfinite(loss)
    grads = C.clip_loss_backward(1.0, cache)
    assert [g.dtype for g in grads] == [np.float32] * 3
    assert grads[2].shape == ()
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow is fine
        C.clip_loss_backward(1.0, C.clip_loss_forward(image * 1e3, text * 1e3, 100.0)[1])


# -------------------------------------------------------------------- gradients
@pytest.mark.parametrize("n, d", [(1, 3), (2, 2), (5, 4), (9, 7)])
def test_clip_loss_gradients_match_finite_differences(n, d):
    rng = np.random.default_rng(n * 10 + d)
    image, text = unit_rows(rng, n, d), unit_rows(rng, n, d)
    s = float(rng.uniform(2, 20))
    dout = 1.7
    di, dt, ds = C.clip_loss_backward(dout, C.clip_loss_forward(image, text, s)[1])
    num_i = numerical_gradient(lambda x: dout * float(C.clip_loss(x, text, s)), image)
    num_t = numerical_gradient(lambda x: dout * float(C.clip_loss(image, x, s)), text)
    num_s = numerical_gradient(lambda x: dout * float(C.clip_loss(image, text, x)),
                               np.array(s))
    assert rel_error(di, num_i) < GRAD_TOL
    assert rel_error(dt, num_t) < GRAD_TOL
    assert rel_error(ds, num_s) < GRAD_TOL


def test_normalize_and_similarity_gradients_match_finite_differences():
    rng = np.random.default_rng(5)
    x, dout = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    y, cache = C.normalize_forward(x)
    assert np.allclose(np.linalg.norm(y, axis=1), 1)
    num = numerical_gradient_array(lambda v: C.normalize(v), x, dout)
    assert rel_error(C.normalize_backward(dout, cache), num) < GRAD_TOL
    a, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 5))
    d = rng.standard_normal((3, 4))
    da, db, ds = C.similarity_logits_backward(d, C.similarity_logits_forward(a, b, 2.5)[1])
    assert rel_error(da, numerical_gradient_array(lambda v: C.similarity_logits(v, b, 2.5),
                                                  a, d)) < GRAD_TOL
    assert rel_error(db, numerical_gradient_array(lambda v: C.similarity_logits(a, v, 2.5),
                                                  b, d)) < GRAD_TOL
    assert ds == pytest.approx(np.sum(d * (a @ b.T)), rel=1e-12)


def test_normalize_of_a_zero_vector_is_zero_and_its_gradient_finite():
    y, cache = C.normalize_forward(np.zeros((2, 3)))
    assert not y.any()
    assert np.array_equal(C.normalize_backward(np.ones((2, 3)), cache), np.full((2, 3), 1e12))


# ------------------------------------------------------------- NT-Xent's sibling
def nt_xent_with_mask(z, positive, temperature, masked):
    """NT-Xent (chapter 11) over the rows of z: each row's positive against every other
    row not masked out; the mean over rows of the cross-entropy."""
    logits = z @ z.T / temperature
    logits = np.where(masked, -np.inf, logits)
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    return -np.mean(logp[np.arange(len(z)), positive])


def test_clip_loss_is_nt_xent_on_images_and_captions_with_same_modality_pairs_masked():
    rng = np.random.default_rng(6)
    n, s = 7, 12.0
    image, text = unit_rows(rng, n, 5), unit_rows(rng, n, 5)
    z = np.concatenate([image, text])
    positive = np.concatenate([np.arange(n) + n, np.arange(n)])
    same_modality = np.kron(np.eye(2), np.ones((n, n))).astype(bool)
    assert nt_xent_with_mask(z, positive, 1 / s, same_modality) == pytest.approx(
        C.clip_loss(image, text, s), rel=1e-13)
    # NT-Xent proper masks only each row against itself: image-image and caption-caption
    # pairs then count as negatives too, and the loss is larger.
    itself = np.eye(2 * n, dtype=bool)
    assert nt_xent_with_mask(z, positive, 1 / s, itself) > C.clip_loss(image, text, s)


# -------------------------------------------------------------------- bad input
def test_bad_input_is_named():
    rng = np.random.default_rng(7)
    a, b = unit_rows(rng, 4, 3), unit_rows(rng, 5, 3)
    with pytest.raises(ValueError, match=r"image_emb and text_emb must have the same shape"):
        C.clip_loss(a, b, 10.0)
    with pytest.raises(ValueError, match=r"same embedding size D.*\(4, 3\).*\(4, 2\)"):
        C.clip_loss(a, a[:, :2], 10.0)
    with pytest.raises(ValueError, match="image_emb must be 2-D"):
        C.clip_loss(a[0], a[0], 10.0)
    with pytest.raises(ValueError, match="logit_scale must be positive"):
        C.clip_loss(a, a, 0.0)
    with pytest.raises(ValueError, match="logit_scale must be one number"):
        C.clip_loss(a, a, np.ones(2))
    with pytest.raises(TypeError, match="logit_scale must be a number"):
        C.clip_loss(a, a, "hot")
    with pytest.raises(ValueError, match="at least one pair"):
        C.clip_loss(np.zeros((0, 3)), np.zeros((0, 3)), 1.0)
    with pytest.raises(ValueError, match=r"dout must be a scalar"):
        C.clip_loss_backward(np.ones(2), C.clip_loss_forward(a, a, 1.0)[1])
    with pytest.raises(ValueError, match="p must be 2"):
        C.normalize(a, p=1)
    with pytest.raises(ValueError, match="dim=2 is out of range"):
        C.normalize(a, dim=2)


def test_numpy_loss_trains_a_torch_model_with_the_same_gradients_as_torch():
    from cnnlib.twins.clip import NumpyClipLoss, clip_loss_torch
    rng = np.random.default_rng(8)
    i = torch.tensor(unit_rows(rng, 6, 4), requires_grad=True)
    t = torch.tensor(unit_rows(rng, 6, 4), requires_grad=True)
    s = torch.tensor(7.0, dtype=torch.float64, requires_grad=True)
    NumpyClipLoss.apply(i, t, s).backward()
    grads = [x.grad.clone() for x in (i, t, s)]
    for x in (i, t, s):
        x.grad = None
    clip_loss_torch(i, t, s).backward()
    for g, x in zip(grads, (i, t, s)):
        torch.testing.assert_close(g, x.grad, rtol=1e-12, atol=1e-14)
