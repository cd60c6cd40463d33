"""The checks of chapter 11 (cnnlib.checks.ch11): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import ch11, exercises_for_notebook
from cnnlib.data import transforms as T


# ------------------------------------------------------------- right answers
def unit(x):
    x = np.asarray(x, float)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def logits_of(z_a, z_b, tau, mask=True):
    u = unit(np.concatenate([z_a, z_b]))
    s = u @ u.T / tau
    if mask:
        np.fill_diagonal(s, -np.inf)
    return u, s


def partners(n):
    return np.concatenate([np.arange(n) + n, np.arange(n)])


def nt_xent_loss(z_a, z_b, temperature, mask=True, anchors=None):
    n = len(z_a)
    _, s = logits_of(z_a, z_b, temperature, mask)
    m = s.max(axis=1, keepdims=True)
    lse = (m + np.log(np.exp(s - m).sum(axis=1, keepdims=True)))[:, 0]
    per = lse - s[np.arange(2 * n), partners(n)]
    return float(per[:anchors].mean())


def nt_xent_grad(z_a, z_b, temperature, both=True, through_norm=True):
    n = len(z_a)
    z = np.concatenate([z_a, z_b]).astype(float)
    u, s = logits_of(z_a, z_b, temperature)
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(2 * n), partners(n)] -= 1
    g = p / (2 * n)
    du = ((g + g.T) if both else g) @ u / temperature
    if through_norm:
        length = np.linalg.norm(z, axis=1, keepdims=True)
        dz = (du - u * (u * du).sum(axis=1, keepdims=True)) / length
    else:
        dz = du
    return dz[:n], dz[n:]


VIEW = T.Compose([T.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
                  T.ColorJitter(brightness=0.3, contrast=0.3)])


def make_views(x, seed):
    rng = np.random.default_rng(seed)
    return VIEW(x, rng), VIEW(x, rng)


def knn_classify(train, labels, test, k):
    sims = unit(test) @ unit(train).T
    nearest = np.argsort(-sims, axis=1)[:, :k]
    return np.array([np.bincount(np.asarray(labels)[row]).argmax() for row in nearest])


RIGHT = [(ch11.check_nt_xent, nt_xent_loss, 7),
         (ch11.check_nt_xent_grad, nt_xent_grad, 5),
         (ch11.check_two_views, make_views, 5),
         (ch11.check_knn, knn_classify, 4)]


@pytest.mark.parametrize("check, answer, cases", RIGHT,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 11.") and f"all {cases} cases passed" in out


def test_the_notebook_has_these_four_exercises():
    ids = [info.id for info in exercises_for_notebook("11_contrastive_learning.ipynb")]
    assert ids == ["11.1", "11.2", "11.3", "11.4"]


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_loss_mistakes(capsys):
    out = failing_case(ch11.check_nt_xent,
                       lambda a, b, t: nt_xent_loss(a, b, t, mask=False), capsys)
    assert "log(2N - 1)" in out and "leave out the diagonal" in out
    out = failing_case(ch11.check_nt_xent,
                       lambda a, b, t: nt_xent_loss(a, b, t, anchors=len(a)), capsys)
    assert "anchors from both halves count" in out and "all 2N anchors" in out

    def unnormalised(a, b, t):
        n = len(a)
        s = np.concatenate([a, b]) @ np.concatenate([a, b]).T / t
        np.fill_diagonal(s, -np.inf)
        m = s.max(axis=1, keepdims=True)
        lse = (m + np.log(np.exp(s - m).sum(axis=1, keepdims=True)))[:, 0]
        return float((lse - s[np.arange(2 * n), partners(n)]).mean())

    out = failing_case(ch11.check_nt_xent, unnormalised, capsys)
    assert "case 'projections of very different lengths" in out
    assert "divide every row of z_a and z_b by its length" in out

    def naive(a, b, t):
        n = len(a)
        _, s = logits_of(a, b, t)
        p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
        return float(-np.log(p[np.arange(2 * n), partners(n)]).mean())

    out = failing_case(ch11.check_nt_xent, naive, capsys)
    assert "logits up to 1,000" in out and "log-sum-exp" in out
    out = failing_case(ch11.check_nt_xent,
                       lambda a, b, t: np.full(3, nt_xent_loss(a, b, t)), capsys)
    assert "got shape (3,)" in out


def test_gradient_mistakes(capsys):
    out = failing_case(ch11.check_nt_xent_grad,
                       lambda a, b, t: nt_xent_grad(a, b, t, both=False), capsys)
    assert "row k AND column k" in out
    out = failing_case(ch11.check_nt_xent_grad,
                       lambda a, b, t: nt_xent_grad(a, b, t, through_norm=False), capsys)
    assert "dz = (du - u * sum(u * du)) / |z|" in out
    out = failing_case(ch11.check_nt_xent_grad,
                       lambda a, b, t: tuple(t * g for g in nt_xent_grad(a, b, t)), capsys)
    assert "case 'unit projections" in out
    out = failing_case(ch11.check_nt_xent_grad,
                       lambda a, b, t: np.concatenate(nt_xent_grad(a, b, t)), capsys)
    assert "case 'unit projections" in out and "shape" in out


def test_view_mistakes(capsys):
    flip = T.Compose([VIEW, T.RandomHorizontalFlip(p=0.5)])

    def flipped(x, seed):
        rng = np.random.default_rng(seed)
        return flip(x, rng), flip(x, rng)

    out = failing_case(ch11.check_two_views, flipped, capsys)
    assert "no horizontal flips" in out

    def same_twice(x, seed):
        return VIEW(x, seed), VIEW(x, seed)

    out = failing_case(ch11.check_two_views, same_twice, capsys)
    assert "identical views a and b" in out

    def unseeded(x, seed):
        rng = np.random.default_rng()
        return VIEW(x, rng), VIEW(x, rng)

    out = failing_case(ch11.check_two_views, unseeded, capsys)
    assert "the same seed gave different views" in out

    def too_bright(x, seed):
        a, b = make_views(x, seed)
        return a * 1.5, b

    out = failing_case(ch11.check_two_views, too_bright, capsys)
    assert "must stay in [0, 1]" in out
    out = failing_case(ch11.check_two_views, lambda x, seed: (x, x), capsys)
    assert "identical views" in out


def test_knn_mistakes(capsys):
    def farthest(train, labels, test, k):
        nearest = np.argsort(unit(test) @ unit(train).T, axis=1)[:, :k]
        return np.array([np.bincount(np.asarray(labels)[r]).argmax() for r in nearest])

    out = failing_case(ch11.check_knn, farthest, capsys)
    assert "LARGEST cosine" in out

    def euclidean(train, labels, test, k):
        d = ((np.asarray(test)[:, None] - np.asarray(train)[None]) ** 2).sum(-1)
        nearest = np.argsort(d, axis=1)[:, :k]
        return np.array([np.bincount(np.asarray(labels)[r]).argmax() for r in nearest])

    out = failing_case(ch11.check_knn, euclidean, capsys)
    assert "cosine, not Euclidean distance" in out
    out = failing_case(ch11.check_knn, lambda tr, lab, te, k: knn_classify(tr, lab, te, 1),
                       capsys)
    assert "k = 5: the majority" in out
