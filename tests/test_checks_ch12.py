"""The checks of chapter 12 (cnnlib.checks.ch12): right answers pass, the typical wrong
ones fail on the case meant to catch them, with its hint, and no traceback."""
import numpy as np
import pytest

from cnnlib.checks import ch12, exercises_for_notebook


# ------------------------------------------------------------- right answers
def similarity_matrix(image_emb, text_emb, logit_scale):
    return logit_scale * np.asarray(image_emb) @ np.asarray(text_emb).T


def log_softmax_rows(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def clip_loss(image_emb, text_emb, logit_scale):
    logits = similarity_matrix(image_emb, text_emb, logit_scale)
    n = len(logits)
    rows = -np.mean(log_softmax_rows(logits)[np.arange(n), np.arange(n)])
    cols = -np.mean(log_softmax_rows(logits.T)[np.arange(n), np.arange(n)])
    return (rows + cols) / 2


def unit(x, axis=-1):
    return x / np.linalg.norm(x, axis=axis, keepdims=True)


def ensemble_prompts(prompt_emb):
    return unit(unit(np.asarray(prompt_emb, float)).mean(axis=1))


def zero_shot_accuracy(image_emb, class_emb, labels):
    pred = (unit(np.asarray(image_emb, float)) @ unit(np.asarray(class_emb, float)).T).argmax(1)
    return float(np.mean(pred == labels))


def top_k(query_emb, gallery_emb, k):
    sims = unit(np.asarray(query_emb, float)) @ unit(np.asarray(gallery_emb, float)).T
    return np.argsort(-sims, axis=1)[:, :k]


RIGHT = [(ch12.check_similarity_matrix, similarity_matrix, 5),
         (ch12.check_clip_loss, clip_loss, 7),
         (ch12.check_prompt_ensemble, ensemble_prompts, 4),
         (ch12.check_zero_shot_accuracy, zero_shot_accuracy, 4),
         (ch12.check_top_k, top_k, 5)]


@pytest.mark.parametrize("check, answer, cases", RIGHT,
                         ids=lambda v: getattr(v, "__name__", ""))
def test_right_answers_pass(check, answer, cases, capsys):
    assert check(answer)
    out = capsys.readouterr().out
    assert out.startswith("✅ Exercise 12.") and f"all {cases} cases passed" in out


def test_the_notebook_has_these_five_exercises():
    ids = [info.id for info in exercises_for_notebook("12_clip.ipynb")]
    assert ids == ["12.1", "12.2", "12.3", "12.4", "12.5"]


# ------------------------------------------------------------- wrong answers
def failing_case(check, answer, capsys):
    assert not check(answer)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "Traceback" not in out
    return out


def test_a_transposed_similarity_matrix_and_a_missing_scale(capsys):
    out = failing_case(ch12.check_similarity_matrix,
                       lambda i, t, s: s * np.asarray(t) @ np.asarray(i).T, capsys)
    assert "case 'two orthogonal pairs, s = 1' failed" not in out
    assert "3 images against 5 captions: rows are images" in out
    assert "did you compute text_emb @ image_emb.T?" in out
    out = failing_case(ch12.check_similarity_matrix,
                       lambda i, t, s: np.asarray(i) @ np.asarray(t).T, capsys)
    assert "s = 14.3" in out.splitlines()[0]


def test_a_loss_over_the_rows_only_or_without_the_half(capsys):
    def rows_only(i, t, s):
        logits = similarity_matrix(i, t, s)
        n = len(logits)
        return -np.mean(log_softmax_rows(logits)[np.arange(n), np.arange(n)])

    out = failing_case(ch12.check_clip_loss, rows_only, capsys)
    assert "rows and columns that differ" in out and "average the two directions" in out
    out = failing_case(ch12.check_clip_loss, lambda i, t, s: 2 * clip_loss(i, t, s), capsys)
    assert "case 's -> 0: every caption equally likely, loss log N' failed" in out


def test_a_naive_softmax_overflows_on_large_logits(capsys):
    def naive(i, t, s):
        logits = similarity_matrix(i, t, s)
        n = len(logits)
        p_rows = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        p_cols = np.exp(logits) / np.exp(logits).sum(axis=0, keepdims=True)
        d = np.arange(n)
        return -(np.mean(np.log(p_rows[d, d])) + np.mean(np.log(p_cols[d, d]))) / 2

    out = failing_case(ch12.check_clip_loss, naive, capsys)
    assert "logits up to 10,000" in out and "log-sum-exp" in out


def test_a_loss_array_instead_of_a_number(capsys):
    def per_row(i, t, s):
        logits = similarity_matrix(i, t, s)
        n = len(logits)
        return -log_softmax_rows(logits)[np.arange(n), np.arange(n)]

    out = failing_case(ch12.check_clip_loss, per_row, capsys)
    assert "expected shape ()" in out and "got shape (6,)" in out


def test_averaging_before_normalising_the_prompts(capsys):
    out = failing_case(ch12.check_prompt_ensemble,
                       lambda e: unit(np.asarray(e, float).mean(axis=1)), capsys)
    assert "prompts of very different lengths" in out and "BEFORE averaging" in out
    out = failing_case(ch12.check_prompt_ensemble,
                       lambda e: unit(np.asarray(e, float)).mean(axis=1), capsys)
    assert "case 'unit prompt embeddings: their mean must be normalised again'" in out
    assert "normalise the average too" in out


def test_dot_products_instead_of_cosines(capsys):
    def dot(image_emb, class_emb, labels):
        return float(np.mean((np.asarray(image_emb) @ np.asarray(class_emb).T).argmax(1)
                             == labels))

    out = failing_case(ch12.check_zero_shot_accuracy, dot, capsys)
    assert "class vectors of unequal length" in out and "a long class vector" in out


def test_least_similar_first_and_dot_product_ranking(capsys):
    out = failing_case(ch12.check_top_k,
                       lambda q, g, k: np.argsort(unit(np.asarray(q)) @ unit(np.asarray(g)).T,
                                                  axis=1)[:, :k], capsys)
    assert "case 'a tiny gallery' failed" in out and "the minus sign" in out
    out = failing_case(ch12.check_top_k,
                       lambda q, g, k: np.argsort(-(np.asarray(q) @ np.asarray(g).T),
                                                  axis=1)[:, :k], capsys)
    assert "gallery items of unequal length" in out


def test_not_implemented_is_reported_kindly(capsys):
    def stub(*args):
        raise NotImplementedError("Exercise 12.1: replace this line with your code")

    assert not ch12.check_similarity_matrix(stub)
    assert "⏳ Exercise 12.1" in capsys.readouterr().out
