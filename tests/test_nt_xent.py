"""SimCLR's NT-Xent loss (cnnlib.functional.nt_xent): values against the paper's formula
written out, finite-difference gradient checks in float64, the PyTorch cross-check on
every device (two temperature ranges), what the temperature does to the gradient, its
kinship with CLIP's loss, and bad input."""
import numpy as np
import pytest
import torch

from cnnlib.crosscheck import assert_case, all_cases
from cnnlib.crosscheck.contrastive import CASES
from cnnlib.functional import contrastive as C
from cnnlib.gradcheck import numerical_gradient, rel_error
from cnnlib.twins.simclr import nt_xent_torch
from torch_devices import DEVICES

GRAD_TOL = 1e-7     # central differences in float64
NT_XENT_CASES = [c for c in CASES if c.op.startswith("nt_xent")]


def paper_loss(z_a, z_b, tau):
    """Algorithm 1 of the SimCLR paper, with loops: views 2k-1 and 2k of image k."""
    n = len(z_a)
    z = np.empty((2 * n, z_a.shape[1]))
    z[0::2], z[1::2] = z_a, z_b
    z = z / np.linalg.norm(z, axis=1, keepdims=True)

    def ell(i, j):
        others = sum(np.exp(z[i] @ z[k] / tau) for k in range(2 * n) if k != i)
        return -np.log(np.exp(z[i] @ z[j] / tau) / others)

    return sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n)) / (2 * n)


# -------------------------------------------------------------------- cross-checks
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("case", NT_XENT_CASES, ids=[c.op for c in NT_XENT_CASES])
def test_nt_xent_matches_pytorch(case, device, dtype):
    assert_case(case, device, dtype, trials=25)


def test_the_cross_check_table_has_nt_xent_rows():
    assert {"nt_xent", "nt_xent (tau <= 0.1)"} <= {c.op for c in all_cases()}


# -------------------------------------------------------------------- values
@pytest.mark.parametrize("n, tau", [(1, 0.5), (3, 0.1), (6, 0.5), (5, 1.0)])
def test_nt_xent_is_the_papers_formula(n, tau):
    rng = np.random.default_rng(n)
    z_a, z_b = rng.standard_normal((n, 4)) * 3, rng.standard_normal((n, 4))
    assert C.nt_xent(z_a, z_b, tau) == pytest.approx(paper_loss(z_a, z_b, tau), rel=1e-12)
    torch_loss = nt_xent_torch(torch.tensor(z_a), torch.tensor(z_b), tau)
    assert float(torch_loss) == pytest.approx(paper_loss(z_a, z_b, tau), rel=1e-12)


def test_limits_random_perfect_and_swapped():
    rng = np.random.default_rng(1)
    n = 5
    # at a very high temperature every other view is equally likely: log(2N - 1)
    z_a, z_b = rng.standard_normal((n, 3)), rng.standard_normal((n, 3))
    assert C.nt_xent(z_a, z_b, 1e8) == pytest.approx(np.log(2 * n - 1), rel=1e-6)
    # identical views of orthogonal images: the partner has cosine 1, the others 0
    basis = np.eye(n)
    tau = 0.2
    expected = np.log(1 + (2 * n - 2) * np.exp(-1 / tau))
    assert C.nt_xent(basis, 2 * basis, tau) == pytest.approx(expected, rel=1e-12)
    # the scale of a projection does not matter (it is normalised first)
    assert C.nt_xent(5 * z_a, 0.1 * z_b, 0.3) == pytest.approx(C.nt_xent(z_a, z_b, 0.3),
                                                               rel=1e-12)
    # swapping which view is "a" changes nothing: every anchor is counted
    assert C.nt_xent(z_b, z_a, 0.3) == pytest.approx(C.nt_xent(z_a, z_b, 0.3), rel=1e-12)
    assert C.nt_xent(z_a[:1], z_b[:1], 0.3) == 0.0       # one image: nothing to mix up


def test_float32_stays_float32_and_cold_temperatures_are_stable():
    rng = np.random.default_rng(2)
    z_a, z_b = (rng.standard_normal((6, 3)).astype(np.float32) for _ in range(2))
    loss, cache = C.nt_xent_forward(z_a, z_b, 0.01)
    assert loss.dtype == np.float32 and np.isfinite(loss)
    grads = C.nt_xent_backward(1.0, cache)
    assert [g.dtype for g in grads] == [np.float32] * 2
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow is fine
        C.nt_xent_backward(1.0, C.nt_xent_forward(z_a * 1e3, z_b, 0.001)[1])


# -------------------------------------------------------------------- gradients
@pytest.mark.parametrize("n, d, tau", [(1, 3, 0.5), (2, 2, 0.1), (5, 4, 0.3), (8, 7, 1.0)])
def test_nt_xent_gradients_match_finite_differences(n, d, tau):
    rng = np.random.default_rng(n * 10 + d)
    z_a, z_b = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    dout = 1.7
    da, db = C.nt_xent_backward(dout, C.nt_xent_forward(z_a, z_b, tau)[1])
    h = 1e-5            # rounding of the loss (about 1e-16 / h) against h**2 truncation
    num_a = numerical_gradient(lambda x: dout * float(C.nt_xent(x, z_b, tau)), z_a, h)
    num_b = numerical_gradient(lambda x: dout * float(C.nt_xent(z_a, x, tau)), z_b, h)
    assert rel_error(da, num_a) < GRAD_TOL
    assert rel_error(db, num_b) < GRAD_TOL


def test_gradient_is_tangent_to_the_sphere():
    """Lengthening a projection does not change the loss, so the gradient has no part
    along it."""
    rng = np.random.default_rng(3)
    z_a, z_b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    da, db = C.nt_xent_backward(1.0, C.nt_xent_forward(z_a, z_b, 0.2)[1])
    assert np.allclose((da * z_a).sum(axis=1), 0, atol=1e-14)
    assert np.allclose((db * z_b).sum(axis=1), 0, atol=1e-14)


def test_a_cold_temperature_puts_the_gradient_on_the_hardest_negative():
    """Anchor 0's gradient pulls toward its partner and pushes from the negatives, each
    by its softmax weight: at tau = 1 the weights are spread over every negative; at
    tau = 0.05 nearly all of the push comes from the most similar negative."""
    u = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    z_a = np.array([u[0], u[1], u[2]])
    # partner of anchor 0 at cosine 0.9; view of image 1 at cosine 0.6 (hard negative)
    z_b = np.array([[0.9, np.sqrt(1 - 0.81), 0.0], [0.6, 0.0, 0.8], u[2] * -1])

    def push(tau):
        logits = C.normalize(np.concatenate([z_a, z_b]))
        s = logits @ logits[0] / tau
        s[0] = -np.inf
        p = np.exp(s - s.max())
        p /= p.sum()
        return np.delete(p, [0, 3])          # the weights of the four negatives

    warm, cold = push(1.0), push(0.05)
    hardest = 2                              # index of view b of image 1 among negatives
    assert warm[hardest] / warm.sum() < 0.5 < 0.99 < cold[hardest] / cold.sum()
    # and the whole gradient grows about like 1/tau while pairs are still mixed up
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((16, 8)), rng.standard_normal((16, 8))
    norms = [np.linalg.norm(C.nt_xent_backward(1.0, C.nt_xent_forward(a, b, t)[1])[0])
             for t in (1.0, 0.5, 0.25)]
    assert norms[0] < norms[1] < norms[2]


# ------------------------------------------------------------- CLIP's sibling
def test_nt_xent_without_same_view_negatives_is_clip_loss():
    """With the negatives from the same side masked out, NT-Xent becomes CLIP's loss
    on (z_a, z_b) at s = 1/tau; NT-Xent proper also counts them, so it is larger."""
    rng = np.random.default_rng(6)
    z_a, z_b = (C.normalize(rng.standard_normal((7, 5))) for _ in range(2))
    assert C.nt_xent(z_a, z_b, 0.25) > C.clip_loss(z_a, z_b, 4.0)
    # 1 image: both losses have only the partner to pick
    assert C.nt_xent(z_a[:1], z_b[:1], 0.25) == C.clip_loss(z_a[:1], z_b[:1], 4.0) == 0


# -------------------------------------------------------------------- bad input
def test_bad_input_is_named():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    with pytest.raises(ValueError, match=r"z_a and z_b must have the same shape"):
        C.nt_xent(a, b, 0.5)
    with pytest.raises(ValueError, match=r"same embedding size D.*\(4, 3\).*\(4, 2\)"):
        C.nt_xent(a, a[:, :2], 0.5)
    with pytest.raises(ValueError, match="z_a must be 2-D"):
        C.nt_xent(a[0], a[0], 0.5)
    with pytest.raises(ValueError, match="temperature must be positive"):
        C.nt_xent(a, a, 0.0)
    with pytest.raises(ValueError, match="temperature must be one number"):
        C.nt_xent(a, a, np.ones(2))
    with pytest.raises(TypeError, match="temperature must be a number"):
        C.nt_xent(a, a, "cold")
    with pytest.raises(ValueError, match="at least one image"):
        C.nt_xent(np.zeros((0, 3)), np.zeros((0, 3)), 1.0)
    with pytest.raises(ValueError, match=r"dout must be a scalar"):
        C.nt_xent_backward(np.ones(2), C.nt_xent_forward(a, a, 1.0)[1])
