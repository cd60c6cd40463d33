"""Checks for the exercises of chapter 11, contrastive learning
(``solutions/11_contrastive_learning.ipynb``).

Each check calls the student's function on several cases and compares the result with
cnnlib and with PyTorch. The cases are built so that the usual mistakes fail one named
case with a hint: the view itself left among the candidates, projections not
normalised, only the first N anchors averaged, an overflowing softmax, a gradient that
forgets one of the two places where a view appears in the similarity matrix, a
mirrored view, the farthest neighbours instead of the nearest, Euclidean distance
instead of cosine, k ignored.
"""
from __future__ import annotations

import numpy as np

from cnnlib.checks import Case, check_function, check_rng, exercise

__all__ = ["check_nt_xent", "check_nt_xent_grad", "check_two_views", "check_knn"]


def _is_scalar(value) -> str | None:
    arr = np.asarray(value)
    if arr.size != 1:
        return f"return one number (the mean loss), got an array of shape {arr.shape}"
    return None


# ------------------------------------------------------------------ 11.1 NT-Xent
def _cnnlib_loss(z_a, z_b, temperature):
    from cnnlib.functional.contrastive import nt_xent
    return float(nt_xent(z_a, z_b, temperature))


def _torch_loss(z_a, z_b, temperature):
    import torch
    from cnnlib.twins.simclr import nt_xent_torch
    return float(nt_xent_torch(torch.as_tensor(z_a), torch.as_tensor(z_b), temperature))


@exercise("11.1", "The NT-Xent loss")
def check_nt_xent(nt_xent_loss):
    """``nt_xent_loss(z_a, z_b, temperature)``: rows of z = [z_a; z_b] normalised, S =
    z z^T / tau, each of the 2N rows a cross-entropy that picks the row's partner
    among the 2N - 1 others (itself left out); the mean over the 2N rows."""
    rng = check_rng(1101)
    a6, b6 = rng.normal(size=(6, 4)), rng.normal(size=(6, 4))
    lengths = np.exp(rng.uniform(-2, 2, size=(6, 1)))
    a4 = rng.normal(size=(4, 3))
    close = a4 + 0.2 * rng.normal(size=(4, 3))       # each second view near its first
    a4 /= np.linalg.norm(a4, axis=1, keepdims=True)
    close /= np.linalg.norm(close, axis=1, keepdims=True)
    recipe = ("u = rows of [z_a; z_b] divided by their lengths; S = u @ u.T / "
              "temperature; set the diagonal to -inf (a view is not its own candidate); "
              "loss = mean over all 2N rows of logsumexp(S[k]) - S[k, partner(k)], "
              "partner(k) = k + N for the first half and k - N for the second")
    return check_function(nt_xent_loss, [
        Case("a very high temperature: every other view equally likely, loss log(2N - 1)",
             (a6, b6, 1e8), expected=np.log(11), rtol=1e-6, check=_is_scalar,
             hint="at tau -> infinity all 2N - 1 candidates get probability 1/(2N - 1); "
                  "log(2N) instead means the view itself is still among its candidates: "
                  "leave out the diagonal of the similarity matrix"),
        Case("matched views: anchors from both halves count", (a4, close, 0.3),
             expected=_cnnlib_loss, rtol=1e-8, check=_is_scalar,
             hint="average over all 2N anchors: the rows of z_b are anchors too, with "
                  "their partners in z_a"),
        Case("projections of very different lengths (normalise them first)",
             (a6 * lengths, b6 / lengths, 0.5), expected=_cnnlib_loss, rtol=1e-8,
             check=_is_scalar,
             hint="NT-Xent compares directions: divide every row of z_a and z_b by its "
                  "length before the dot products"),
        Case("a random batch of 6 images, tau = 0.5, against cnnlib", (a6, b6, 0.5),
             expected=_cnnlib_loss, rtol=1e-8, check=_is_scalar, hint=recipe),
        Case("one image: only its partner to pick, loss 0", (a6[:1], b6[:1], 0.5),
             expected=0.0, rtol=0, atol=1e-12, check=_is_scalar),
        Case("tau = 0.001 (logits up to 1,000)", (a6, b6, 0.001), expected=_cnnlib_loss,
             rtol=1e-8, check=_is_scalar, allow_warnings=False,
             hint="np.exp(1000) overflows: subtract each row's maximum (over the "
                  "candidates) before exponentiating, the log-sum-exp trick of chapter 3"),
        Case("a batch of 5 images, tau = 0.2, against PyTorch", (a6[:5], b6[:5], 0.2),
             expected=_torch_loss, rtol=1e-8, check=_is_scalar, hint=recipe),
    ])


# ------------------------------------------------------------ 11.2 its gradient
def _cnnlib_grad(z_a, z_b, temperature):
    from cnnlib.functional.contrastive import nt_xent_backward, nt_xent_forward
    return nt_xent_backward(1.0, nt_xent_forward(z_a, z_b, temperature)[1])


def _torch_grad(z_a, z_b, temperature):
    import torch
    from cnnlib.twins.simclr import nt_xent_torch
    a = torch.tensor(np.asarray(z_a, dtype=np.float64), requires_grad=True)
    b = torch.tensor(np.asarray(z_b, dtype=np.float64), requires_grad=True)
    nt_xent_torch(a, b, temperature).backward()
    return a.grad.numpy(), b.grad.numpy()


def _pair_of(shape):
    def check(got):
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return "return a pair (dz_a, dz_b)"
        for name, g in zip(("dz_a", "dz_b"), got):
            if np.shape(g) != shape:
                return f"{name} must have the shape of z_a, {shape}, got {np.shape(g)}"
        return None
    return check


@exercise("11.2", "The gradient of NT-Xent")
def check_nt_xent_grad(nt_xent_grad):
    """``nt_xent_grad(z_a, z_b, temperature) -> (dz_a, dz_b)``: the gradient of the
    mean loss. G = (P - Y) / (2N) on the logits (P the row softmax, diagonal 0, Y the
    partners); dU = (G + G^T) U / tau; then through the normalisation:
    dz = (du - u <u, du>) / |z|."""
    rng = check_rng(1102)
    a5, b5 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    u5 = a5 / np.linalg.norm(a5, axis=1, keepdims=True)
    v5 = b5 / np.linalg.norm(b5, axis=1, keepdims=True)
    long_a, long_b = 4.0 * a5, 0.3 * b5
    recipe = ("G = (P - Y) / (2N) on the logits (P: softmax of each row with the "
              "diagonal left out, Y: 1 at the partner); dU = (G + G.T) @ U / tau (each "
              "u_k is in row k AND column k of S); then dz = (du - u * sum(u * du)) / "
              "|z| row by row")
    return check_function(nt_xent_grad, [
        Case("unit projections, tau = 0.5, against cnnlib", (u5, v5, 0.5),
             expected=_cnnlib_grad, rtol=1e-7, atol=1e-10, check=_pair_of((5, 3)),
             hint=recipe),
        Case("projections of lengths 4 and 0.3: the normalisation's backward",
             (long_a, long_b, 0.5), expected=_cnnlib_grad, rtol=1e-7, atol=1e-10,
             check=_pair_of((5, 3)),
             hint="the loss does not change when z is stretched: remove the part of du "
                  "along u and divide by the length |z| of each row"),
        Case("tau = 0.1: the gradient grows like 1/tau", (u5, v5, 0.1),
             expected=_cnnlib_grad, rtol=1e-7, atol=1e-10, check=_pair_of((5, 3)),
             hint="the logits are S = U U^T / tau, so dU carries a factor 1/tau"),
        Case("one image: the loss is always 0, so is its gradient", (a5[:1], b5[:1], 0.5),
             expected=(np.zeros((1, 3)), np.zeros((1, 3))), rtol=0, atol=1e-12,
             check=_pair_of((1, 3))),
        Case("a batch of 4 images, tau = 0.3, against PyTorch's autograd",
             (a5[:4], b5[:4], 0.3), expected=_torch_grad, rtol=1e-7, atol=1e-10,
             check=_pair_of((4, 3)), hint=recipe),
    ])


# ------------------------------------------------------------ 11.3 two views
def _left_bar(n: int, rng) -> np.ndarray:
    """Digits-sized images with a bar in the left third: mirrored, it moves right."""
    x = np.zeros((n, 1, 28, 28))
    for i in range(n):
        top = int(rng.integers(4, 10))
        x[i, 0, top:top + 14, 3:8] = rng.uniform(0.6, 1.0)
    return x


@exercise("11.3", "Two views of every digit")
def check_two_views(make_views):
    """``make_views(x, seed) -> (x_a, x_b)``: two independently augmented copies of the
    batch x (N, 1, 28, 28) in [0, 1], the same for the same seed, never mirrored."""
    rng = check_rng(1103)
    x = _left_bar(12, rng)
    seed = int(rng.integers(0, 10_000))

    def pair(got, shape=x.shape):
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            return "return a pair (x_a, x_b)"
        for name, v in zip(("x_a", "x_b"), got):
            v = np.asarray(v)
            if v.shape != shape:
                return f"{name} must have the shape of x, {shape}, got {v.shape}"
            if not np.isfinite(v).all() or v.min() < 0 or v.max() > 1:
                return (f"{name} must stay in [0, 1], got values from {v.min():.3g} to "
                        f"{v.max():.3g} (clip after brightness and contrast)")
        return None

    def differ(got):
        msg = pair(got)
        if msg:
            return msg
        a, b = (np.asarray(v) for v in got)
        same_ab = sum(np.allclose(a[i], b[i]) for i in range(len(x)))
        same_x = sum(np.allclose(a[i], x[i]) for i in range(len(x)))
        if same_ab > 2:
            return (f"{same_ab} of {len(x)} images have identical views a and b: draw "
                    f"the second view's random parameters afresh (use the generator "
                    f"twice, not two generators with the same seed)")
        if same_x > 2:
            return f"{same_x} of {len(x)} views are the image itself: augment every image"
        return None

    def repeatable(got):
        msg = pair(got)
        if msg:
            return msg
        again = make_views(x.copy(), seed)
        if not all(np.array_equal(np.asarray(g), np.asarray(h)) for g, h in zip(got, again)):
            return ("the same seed gave different views: draw every random number from "
                    "np.random.default_rng(seed) (or the transforms' rng argument)")
        return None

    def not_mirrored(got):
        msg = pair(got)
        if msg:
            return msg
        cols = np.arange(28)
        for name, v in zip(("x_a", "x_b"), got):
            v = np.asarray(v)[:, 0]
            ink = v.sum(axis=(1, 2))
            centre = (v.sum(axis=1) * cols).sum(axis=1) / np.maximum(ink, 1e-12)
            if (centre > 13.5).any():
                return (f"{name}: a bar drawn in the left third of the image ended up in "
                        f"the right half: no horizontal flips (a mirrored 2, 3, 5 or 7 "
                        f"is no longer that digit); keep rotations and shifts small")
        return None

    return check_function(make_views, [
        Case("12 images: two views of the same shape, values in [0, 1]", (x, seed),
             check=pair),
        Case("the two views differ from each other and from the image", (x, seed),
             check=differ),
        Case("the same seed gives the same views", (x, seed), check=repeatable),
        Case("a bar in the left third stays on the left (no mirroring)", (x, seed + 1),
             check=not_mirrored),
        Case("one image", (x[:1], seed), check=lambda got: pair(got, (1, 1, 28, 28))),
    ])


# ------------------------------------------------------------ 11.4 k-NN
def _knn_reference(train, labels, test, k):
    """Cosine similarity, the k most similar, majority vote (the cases have no ties)."""
    train = np.asarray(train, float)
    test = np.asarray(test, float)
    u = train / np.linalg.norm(train, axis=1, keepdims=True)
    q = test / np.linalg.norm(test, axis=1, keepdims=True)
    nearest = np.argsort(-(q @ u.T), axis=1, kind="stable")[:, :k]
    votes = np.zeros((len(test), int(np.max(labels)) + 1))
    np.add.at(votes, (np.arange(len(test))[:, None], np.asarray(labels)[nearest]), 1)
    return votes.argmax(axis=1)


def _labels_of(n):
    def check(got):
        arr = np.asarray(got)
        if arr.shape != (n,):
            return f"return one label per test row, shape ({n},), got {arr.shape}"
        return None
    return check


@exercise("11.4", "k-nearest neighbours by cosine similarity")
def check_knn(knn_classify):
    """``knn_classify(train_features, train_labels, test_features, k)``: for every test
    row, the majority label of the k training rows with the largest cosine
    similarity."""
    rng = check_rng(1104)
    # Three tight clusters in directions 120 degrees apart, labelled 0, 1, 2.
    angles = np.repeat([0.0, 2.1, 4.2], 8) + 0.15 * rng.normal(size=24)
    train = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    train *= rng.uniform(0.5, 2.0, size=(24, 1))
    labels = np.repeat([0, 1, 2], 8)
    q_angles = np.array([0.1, 2.0, 4.3, -0.2, 2.3, 4.0])
    test = np.stack([np.cos(q_angles), np.sin(q_angles)], axis=1)
    # Lengths that fool Euclidean distance: the query is long, its cosine-nearest
    # training row short, another row long and in a slightly different direction.
    far_train = np.array([[0.1, 0.0], [5.0, 2.5], [0.0, 1.0]])
    far_labels = np.array([0, 1, 2])
    far_test = np.array([[5.0, 0.3]])
    # k matters: the single nearest neighbour is an outlier of class 1 among class 0.
    k_train = np.array([[1.0, 0.0], [1.0, 0.05], [1.0, -0.05], [1.0, 0.1], [1.0, -0.1],
                        [1.0, 0.02], [-1.0, 0.0], [-1.0, 0.1]])
    k_labels = np.array([1, 0, 0, 0, 0, 1, 1, 1])
    k_test = np.array([[1.0, 0.001], [-1.0, 0.05]])
    return check_function(knn_classify, [
        Case("k = 1: the most similar training row's label", (train, labels, test, 1),
             expected=_knn_reference, check=_labels_of(6),
             hint="the most similar rows have the LARGEST cosine: sort by -similarity "
                  "(np.argsort sorts ascending)"),
        Case("rows of very different lengths: cosine, not Euclidean distance",
             (far_train, far_labels, far_test, 1), expected=np.array([0]),
             check=_labels_of(1),
             hint="divide every row by its length before the dot products: the nearest "
                  "by cosine is the one pointing the same way, however long"),
        Case("k = 5: the majority of the five nearest, not the nearest alone",
             (k_train, k_labels, k_test, 5), expected=np.array([0, 1]),
             check=_labels_of(2),
             hint="take the k most similar rows and count their labels (np.bincount), "
                  "then the most frequent"),
        Case("three clusters, k = 7, against a reference", (train, labels, test, 7),
             expected=_knn_reference, check=_labels_of(6)),
    ])
