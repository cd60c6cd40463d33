"""The captioned shapes of chapter 12 (cnnlib.data.shapes) and their tokenizer
(cnnlib.data.captions): seeded, the right attributes drawn and written, held-out
shape-colour pairs truly absent from training, unknown words refused by design."""
import numpy as np
import pytest

from cnnlib.data import captions as CAP
from cnnlib.data import shapes as S
from cnnlib.data.captions import Vocabulary, tokenize


@pytest.fixture(scope="module")
def sets():
    return S.load_captioned_shapes(1500, 300, rng=3)


# ------------------------------------------------------------------ the generator
def test_same_seed_same_data_other_seed_other_data():
    a = S.make_captioned_shapes(50, rng=7)
    b = S.make_captioned_shapes(50, rng=7)
    c = S.make_captioned_shapes(50, rng=8)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.captions == b.captions
    for name in ("shape", "colour", "position", "size"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.images, c.images) and a.captions != c.captions


def test_images_are_float32_nchw_in_unit_range(sets):
    train, seen, held = sets
    assert train.images.shape == (1500, 3, 32, 32) and train.images.dtype == np.float32
    assert seen.images.shape == held.images.shape == (300, 3, 32, 32)
    assert train.images.min() >= 0 and train.images.max() <= 1
    assert len(train) == len(train.captions) == 1500


def test_held_out_pairs_never_occur_in_training(sets):
    train, seen, held = sets
    held_pairs = {S.SHAPES.index(s) * 6 + S.COLOURS.index(c) for s, c in S.HELD_OUT_PAIRS}
    assert len(held_pairs) == 6
    assert not set(train.pair.tolist()) & held_pairs           # no image of them
    assert not set(seen.pair.tolist()) & held_pairs
    assert set(held.pair.tolist()) == held_pairs               # the test set is only them
    assert set(train.pair.tolist()) == set(range(36)) - held_pairs   # every other pair
    # ... and no training caption names a held-out pair: the caption's colour and shape
    # words are those of its own (seen) image.
    for caption, shape, colour in zip(train.captions, train.shape, train.colour):
        words = set(tokenize(caption))
        assert S.SHAPES[shape] in words and S.COLOURS[colour] in words
        assert len(words & set(S.SHAPES)) == 1 and len(words & set(S.COLOURS)) == 1


def test_every_word_of_a_held_out_pair_is_still_seen_in_training(sets):
    train = sets[0]
    vocab = Vocabulary.from_captions(train.captions)
    for shape, colour in S.HELD_OUT_PAIRS:
        assert shape in vocab and colour in vocab
    # each shape is held out with exactly one colour, each colour with one shape
    assert sorted(s for s, _ in S.HELD_OUT_PAIRS) == sorted(S.SHAPES)
    assert sorted(c for _, c in S.HELD_OUT_PAIRS) == sorted(S.COLOURS)


def test_all_attribute_values_are_drawn(sets):
    train = sets[0]
    for name, values in S.ATTRIBUTES.items():
        counts = np.bincount(train.labels(name), minlength=len(values))
        assert len(counts) == len(values) and counts.min() > 0.5 * counts.mean(), name


def test_the_shape_lies_in_its_quadrant_and_has_its_colour():
    data = S.make_captioned_shapes(300, pairs="all", rng=1)
    for i in range(len(data)):
        img = data.images[i]
        # The shape's pixels: far from the background's grey (R = G = B up to noise).
        chroma = img.max(axis=0) - img.min(axis=0)
        ys, xs = np.nonzero(chroma > 0.3)
        assert len(ys) > 5, data.captions[i]
        cy, cx = ys.mean() + 0.5, xs.mean() + 0.5     # pixel i spans [i, i + 1)
        pos = S.POSITIONS[data.position[i]]
        assert (cy < 16) == pos.startswith("top") and (cx < 16) == pos.endswith("left")
        colour = img[:, ys, xs].mean(axis=1)
        nearest = np.argmin(np.linalg.norm(S.COLOUR_RGB - colour, axis=1))
        assert nearest == data.colour[i], (data.captions[i], colour)


def test_large_shapes_cover_more_pixels_than_small_ones():
    data = S.make_captioned_shapes(400, rng=2)
    chroma = data.images.max(axis=1) - data.images.min(axis=1)
    area = (chroma > 0.3).sum(axis=(1, 2))
    for k in range(6):                 # per shape, so the comparison is fair
        small = area[(data.shape == k) & (data.size == 0)]
        large = area[(data.shape == k) & (data.size == 1)]
        assert small.max() < large.min(), S.SHAPES[k]


def test_captions_use_the_attribute_words_and_vary():
    data = S.make_captioned_shapes(400, rng=4)
    size_words = {"small": {"small", "little", "tiny"}, "large": {"large", "big"}}
    for caption, size, position in zip(data.captions, data.size, data.position):
        words = set(tokenize(caption))
        other = size_words["large" if S.SIZES[size] == "small" else "small"]
        assert not words & other, caption             # never the wrong size
        horizontal = "left" if "left" in S.POSITIONS[position] else "right"
        vertical = {"top", "upper"} if "top" in S.POSITIONS[position] else {"bottom",
                                                                             "lower"}
        if words & {"left", "right"}:                 # position written: the right one
            assert horizontal in words and words & vertical, caption
    assert len(set(data.captions)) > 300              # templates and synonyms vary
    assert any("," in c for c in data.captions) and any(c[0].isupper() for c in data.captions)
    assert any(not set(tokenize(c)) & {"left", "right"} for c in data.captions)


def test_write_caption_templates():
    assert S.write_caption(0, 0, 0, 0, rng=0, template=0) in {
        f"a {s} red circle {p}" for s in ("small", "little", "tiny")
        for p in ("in the top left", "at the top left", "in the upper left corner",
                  "top left")} | {
        f"A {s} red circle {p}" for s in ("small", "little", "tiny")
        for p in ("in the top left", "at the top left", "in the upper left corner",
                  "top left")}


def test_subset_and_labels(sets):
    train = sets[0]
    part = train.subset(np.arange(10))
    assert len(part) == 10 and part.captions == train.captions[:10]
    mask = train.shape == 0
    assert len(train.subset(mask)) == mask.sum()
    np.testing.assert_array_equal(train.labels("pair"), train.shape * 6 + train.colour)
    with pytest.raises(ValueError, match="attribute must be one of"):
        train.labels("texture")
    with pytest.raises(ValueError, match="boolean index must have shape"):
        train.subset(np.ones(3, dtype=bool))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="pairs must be 'seen', 'held_out' or 'all'"):
        S.make_captioned_shapes(5, pairs="unseen")
    with pytest.raises(ValueError, match="held-out pair"):
        S.make_captioned_shapes(5, held_out=[("circle", "pink")])
    with pytest.raises(ValueError, match=r"n must be >= 1"):
        S.make_captioned_shapes(0)
    with pytest.raises(ValueError, match="image_size must be at least 16"):
        S.render_shapes([0], [0], [0], [0], image_size=8)
    with pytest.raises(ValueError, match=r"colour must hold indices in \[0, 6\)"):
        S.render_shapes([0], [6], [0], [0])
    with pytest.raises(ValueError, match="same length"):
        S.render_shapes([0, 1], [0], [0], [0])


# ------------------------------------------------------------------ the tokenizer
def test_tokenize_lowercases_and_drops_punctuation():
    assert tokenize("Red circle, upper-left corner!") == ["red", "circle", "upper", "left",
                                                          "corner"]
    assert tokenize("") == []
    with pytest.raises(TypeError, match="text must be a str"):
        tokenize(3)


def test_vocabulary_reserves_pad_and_unk_and_orders_by_frequency():
    vocab = Vocabulary.from_captions(["a red circle", "a blue circle", "A red square"])
    assert vocab.itos[:2] == [CAP.PAD, CAP.UNK]
    assert vocab.itos[2:] == ["a", "circle", "red", "blue", "square"]
    assert len(vocab) == 7 and "red" in vocab and "pink" not in vocab
    assert CAP.PAD not in vocab and CAP.UNK not in vocab


def test_encode_pads_with_zeros_and_decodes_back():
    vocab = Vocabulary.from_captions(["a red circle", "a blue circle in the top left"])
    ids = vocab.encode(["a red circle", "a blue circle in the top left"])
    assert ids.shape == (2, 7) and ids.dtype == np.int64
    assert (ids[0, 3:] == 0).all() and (ids[1] > 1).all()
    assert vocab.decode(ids[0]) == "a red circle"
    assert vocab.encode("red circle", length=4).tolist() == [[vocab.stoi["red"],
                                                              vocab.stoi["circle"], 0, 0]]
    assert vocab.encode(["a red circle"], length=2).shape == (1, 2)     # cut


def test_unknown_words_get_a_clear_error_or_the_unknown_token_by_design():
    vocab = Vocabulary.from_captions(["a red circle", "a blue square"])
    with pytest.raises(KeyError, match=r"'crimson' in 'a crimson circle' is not in the "
                                       r"vocabulary.*unknown='unk'"):
        vocab.encode(["a crimson circle"])
    with pytest.raises(KeyError, match=r"close: circle"):
        vocab.encode(["a circel"])
    unk = vocab.encode(["a crimson circle"], unknown="unk")
    assert unk[0].tolist() == [vocab.stoi["a"], 1, vocab.stoi["circle"]]
    assert vocab.encode(["a crimson circle"], unknown="drop")[0].tolist() == [
        vocab.stoi["a"], vocab.stoi["circle"]]
    assert vocab.unknown_words("a crimson circle, glowing") == ["crimson", "glowing"]
    with pytest.raises(ValueError, match="unknown must be one of"):
        vocab.encode(["a circle"], unknown="ignore")


def test_vocabulary_rejects_bad_words():
    with pytest.raises(ValueError, match="distinct"):
        Vocabulary(["red", "red"])
    with pytest.raises(ValueError, match="other than"):
        Vocabulary(["<pad>"])
    with pytest.raises(ValueError, match="at least one word"):
        Vocabulary.from_captions(["", "!!"])
    with pytest.raises(ValueError, match="ids must lie in"):
        Vocabulary(["red"]).decode([5])
