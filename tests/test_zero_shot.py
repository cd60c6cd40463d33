"""The zero-shot classifier built from words (cnnlib.models.zero_shot) and the small CLIP
twin that produces its embeddings (cnnlib.twins.clip)."""
import numpy as np
import pytest
import torch

from cnnlib.models import zero_shot as Z
from torch_devices import DEVICES


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# ------------------------------------------------------------------ the classifier
def test_fill_prompts_puts_each_name_in_each_template():
    assert Z.fill_prompts(["a {}", "a photo of a {}"], ["red circle", "blue star"]) == [
        ["a red circle", "a photo of a red circle"], ["a blue star", "a photo of a blue star"]]
    with pytest.raises(ValueError, match="exactly one"):
        Z.fill_prompts(["a photo"], ["cat"])
    with pytest.raises(TypeError, match="not one string"):
        Z.fill_prompts("a {}", ["cat"])


def test_class_embeddings_average_unit_prompts_and_renormalise():
    rng = np.random.default_rng(0)
    e = rng.standard_normal((3, 4, 5)) * rng.uniform(0.1, 10, size=(3, 4, 1))
    w = Z.class_embeddings(e)
    unit = e / np.linalg.norm(e, axis=2, keepdims=True)
    mean = unit.mean(axis=1)
    np.testing.assert_allclose(w, mean / np.linalg.norm(mean, axis=1, keepdims=True),
                               rtol=1e-12)
    # a prompt's length does not weigh it: scaling one prompt changes nothing
    e2 = e.copy()
    e2[0, 0] *= 1000
    np.testing.assert_allclose(Z.class_embeddings(e2), w, rtol=1e-12)
    np.testing.assert_allclose(Z.class_embeddings(e[:, 0]), unit[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="prompt_emb must be 2-D or 3-D"):
        Z.class_embeddings(np.ones(3))


def test_zero_shot_predicts_the_most_similar_class_and_counts_accuracy():
    rng = np.random.default_rng(1)
    classes = unit_rows(rng, 5, 8)
    labels = rng.integers(0, 5, size=40)
    images = classes[labels] + 0.3 * rng.standard_normal((40, 8))
    logits = Z.zero_shot_logits(images, classes, logit_scale=100.0)
    unit = images / np.linalg.norm(images, axis=1, keepdims=True)
    np.testing.assert_allclose(logits, 100 * unit @ classes.T, rtol=1e-12)
    pred = Z.zero_shot_predict(images, classes)
    assert pred.dtype == np.int64 and np.array_equal(pred, logits.argmax(axis=1))
    assert Z.zero_shot_accuracy(images, classes, labels) == np.mean(pred == labels) > 0.9
    shuffled = Z.zero_shot_accuracy(images, classes[::-1], labels)
    assert shuffled < 0.5
    with pytest.raises(ValueError, match="one entry per image"):
        Z.zero_shot_accuracy(images, classes, labels[:3])
    with pytest.raises(ValueError, match="same embedding size"):
        Z.zero_shot_logits(images, classes[:, :4])


def test_top_k_returns_the_nearest_first():
    gallery = np.array([[1.0, 0], [0, 1], [-1, 0], [0.8, 0.6]])
    query = np.array([[1.0, 0.1], [0.0, -1.0]])
    np.testing.assert_array_equal(Z.top_k(query, gallery, 2), [[0, 3], [0, 2]])
    # ties keep the smaller index first
    np.testing.assert_array_equal(Z.top_k([[0.0, -1.0]], gallery[:3], 3), [[0, 2, 1]])
    with pytest.raises(ValueError, match="k must be at most the gallery size 4"):
        Z.top_k(query, gallery, 5)


# ------------------------------------------------------------------ the torch twin
@pytest.fixture(scope="module")
def tiny():
    from cnnlib.data.captions import Vocabulary
    from cnnlib.data.shapes import make_captioned_shapes
    data = make_captioned_shapes(256, rng=0)
    vocab = Vocabulary.from_captions(data.captions)
    return data, vocab


def test_clip_twin_gives_unit_embeddings_and_clamps_its_scale(tiny):
    from cnnlib.twins.clip import MAX_LOGIT_SCALE, TinyCLIP, encode_images, encode_texts
    data, vocab = tiny
    torch.manual_seed(0)
    model = TinyCLIP(len(vocab), embed_dim=16)
    image, text, s = model(torch.as_tensor(data.images[:8]),
                           torch.as_tensor(vocab.encode(data.captions[:8])))
    assert image.shape == text.shape == (8, 16)
    torch.testing.assert_close(image.norm(dim=1), torch.ones(8))
    torch.testing.assert_close(text.norm(dim=1), torch.ones(8))
    assert s.item() == pytest.approx(1 / 0.07, rel=1e-6)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    model.clamp_logit_scale_()
    assert model.logit_scale.exp().item() == pytest.approx(MAX_LOGIT_SCALE, rel=1e-6)
    emb = encode_images(model, data.images[:5])
    assert emb.shape == (5, 16) and emb.dtype == np.float32
    # padding does not change a caption's embedding: the bag is a mean over its words
    ids = vocab.encode(["a red circle"])
    padded = np.concatenate([ids, np.zeros((1, 5), dtype=np.int64)], axis=1)
    np.testing.assert_allclose(encode_texts(model, ids), encode_texts(model, padded),
                               rtol=1e-6, atol=1e-7)
    # and word order does not either: a bag of words
    np.testing.assert_allclose(encode_texts(model, vocab.encode(["red circle a"])),
                               encode_texts(model, ids), rtol=1e-6, atol=1e-7)


def test_the_default_bag_of_words_is_linear_in_its_words(tiny):
    """Without the MLP a caption's vector is the mean of its words' vectors, so the
    encoding of a pair that never met in training is built from its two words."""
    from cnnlib.twins.clip import BagOfWordsEncoder, TinyCLIP
    _, vocab = tiny
    torch.manual_seed(4)
    enc = BagOfWordsEncoder(len(vocab), dim=8)
    assert enc.out_features == 8
    with torch.no_grad():
        whole = enc(torch.as_tensor(vocab.encode(["a yellow circle"])))[0]
        words = enc(torch.as_tensor(vocab.encode(["a", "yellow", "circle"])))
        torch.testing.assert_close(whole, words.mean(dim=0))
        assert enc(torch.zeros(1, 3, dtype=torch.int64)).abs().max() == 0  # all padding
    mlp = BagOfWordsEncoder(len(vocab), dim=8, hidden=12)
    assert mlp.out_features == 12 and mlp(torch.as_tensor(vocab.encode(["a"]))).shape == (1, 12)
    with pytest.raises(ValueError, match="hidden"):
        BagOfWordsEncoder(len(vocab), hidden=0)
    model = TinyCLIP(len(vocab), embed_dim=16, text_hidden=32)
    assert model.text_projection.in_features == 32
    assert TinyCLIP(len(vocab), embed_dim=16).text_projection.in_features == 64


def test_the_image_encoder_ends_linear_unless_asked(tiny):
    from cnnlib.twins.clip import ImageEncoder, TinyCLIP
    data, _ = tiny
    x = torch.as_tensor(data.images[:16])
    torch.manual_seed(5)
    with torch.no_grad():
        plain = ImageEncoder(width=24).eval()(x)
        torch.manual_seed(5)
        relu = ImageEncoder(width=24, final_relu=True).eval()(x)
    assert plain.shape == relu.shape == (16, 24)
    assert (plain < 0).any() and (relu >= 0).all()
    torch.testing.assert_close(relu, plain.clamp(min=0))
    assert TinyCLIP(40, image_relu=True).image_encoder.final_relu
    with pytest.raises(ValueError, match="divisible by 8"):
        ImageEncoder(image_size=30)


@pytest.mark.parametrize("device", DEVICES)
def test_a_few_steps_of_training_lower_the_loss_and_are_seeded(tiny, device):
    from cnnlib.twins.clip import TinyCLIP, train_clip
    data, vocab = tiny
    ids = vocab.encode(data.captions)
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = TinyCLIP(len(vocab), embed_dim=16, width=32)
        history = train_clip(model, data.images, ids, epochs=6, batch_size=64, lr=3e-3,
                             device=device, seed=1, progress=False,
                             evaluate=lambda m, epoch: {"epoch_seen": epoch})
        runs.append(history)
    h = runs[0]
    assert len(h) == 6 and len(h.step_loss) == 24
    assert h.loss[-1] < min(h.loss[0], np.log(64))      # below guessing, and falling
    assert h.epoch_seen == [1, 2, 3, 4, 5, 6]
    assert all(1 <= s <= 100 for s in h.logit_scale)
    if device == "cpu":       # same seeds, same run
        np.testing.assert_allclose(runs[0].step_loss, runs[1].step_loss, rtol=1e-5)


def test_training_with_the_torch_loss_matches_the_numpy_loss(tiny):
    from cnnlib.twins.clip import TinyCLIP, train_clip
    data, vocab = tiny
    ids = vocab.encode(data.captions)
    losses = {}
    for loss in ("numpy", "torch"):
        torch.manual_seed(2)
        model = TinyCLIP(len(vocab), embed_dim=16, width=32)
        losses[loss] = train_clip(model, data.images, ids, epochs=2, batch_size=64,
                                  loss=loss, seed=2, progress=False).step_loss
    # float32 on both sides, one rounding order each: the runs agree to about 1e-5
    np.testing.assert_allclose(losses["numpy"], losses["torch"], rtol=1e-4)


def test_train_clip_rejects_mismatched_data(tiny):
    from cnnlib.twins.clip import TinyCLIP, train_clip
    data, vocab = tiny
    model = TinyCLIP(len(vocab))
    with pytest.raises(ValueError, match="one row per pair"):
        train_clip(model, data.images, vocab.encode(data.captions[:10]), progress=False)
    with pytest.raises(ValueError, match="batch_size 512 is larger"):
        train_clip(model, data.images, vocab.encode(data.captions), batch_size=512,
                   progress=False)
    with pytest.raises(ValueError, match="loss must be one of"):
        train_clip(model, data.images, vocab.encode(data.captions), loss="jax",
                   progress=False)


def test_the_shapes_classifiers_and_report(tiny):
    from cnnlib.data.shapes import make_captioned_shapes
    from cnnlib.twins.clip import TinyCLIP
    from cnnlib.twins import clip_shapes as CS
    data, vocab = tiny
    torch.manual_seed(3)
    model = TinyCLIP(len(vocab), embed_dim=16, width=32)
    assert CS.pair_classifier(model, vocab).shape == (36, 16)
    assert CS.combination_classifier(model, vocab).shape == (288, 16)
    # class k of the pair classifier is the pair code shape * 6 + colour
    assert CS.PAIR_NAMES[2 * 6 + 4] == "blue triangle"
    combo = CS.COMBINATIONS[137]
    prompt = CS.combination_prompts()[137][0]
    words = prompt.split()
    assert [S for S in ("small", "large") if S in words][0] == ("small", "large")[combo[3]]
    test = make_captioned_shapes(40, rng=9)
    report = CS.zero_shot_report(model, vocab, test)
    assert set(report) == {"pair (36 classes)", "shape", "colour", "position", "size",
                           "shape and colour"}
    assert all(0.0 <= v <= 1.0 for v in report.values())
    with pytest.raises(KeyError, match="'picture'"):
        CS.pair_classifier(model, vocab, ["a picture of a {}"])
    assert CS.pair_classifier(model, vocab, ["a picture of a {}"], unknown="unk").shape == (36, 16)
