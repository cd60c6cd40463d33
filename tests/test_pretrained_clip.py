"""The optional path to a real pre-trained CLIP (cnnlib.twins.pretrained_clip).

What is tested here, and what is not:
- the clear messages when the package ``open_clip`` is missing and when the weights
  are not on disk (a stand-in ``open_clip`` module whose loader fails as an offline
  hub does);
- the whole zero-shot recipe on a folder of images the test writes, with a tiny,
  randomly initialised stand-in that follows open_clip's interface
  (``create_model_and_transforms``, ``get_tokenizer``, ``encode_image``,
  ``encode_text``, ``logit_scale``), built so that the right answer is known;
- with the real package installed, the same recipe on a randomly initialised
  open_clip model (``pretrained=None``, nothing downloaded). open_clip is not
  installed on the machines the book is tested on, so that test is skipped there,
  with the reason. No test loads real pre-trained weights.
"""
import sys
import types

import numpy as np
import pytest
import torch

from cnnlib.twins import pretrained_clip as P

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 60), "blue": (40, 70, 230)}


class TinyOpenClipModel(torch.nn.Module):
    """Image embedding: the mean colour of the picture; text embedding: the colour named
    in the prompt. Random weights elsewhere keep it honest about shapes and dtypes."""

    def __init__(self):
        super().__init__()
        self.logit_scale = torch.nn.Parameter(torch.tensor(np.log(100.0)))
        self.noise = torch.nn.Linear(3, 3)
        torch.nn.init.normal_(self.noise.weight, std=1e-3)

    def encode_image(self, x):                       # (N, 3, H, W) -> (N, 3)
        mean = x.mean(dim=(2, 3))
        return mean - mean.mean(dim=1, keepdim=True) + self.noise(mean)

    def encode_text(self, tokens):                   # (N, 3) one-hot colour -> (N, 3)
        return tokens.float() - 1 / 3


def tiny_tokenizer(texts):
    rows = [[float(name in t) for name in COLOURS] for t in texts]
    return torch.tensor(rows)


def tiny_preprocess(image):
    arr = np.asarray(image.resize((8, 8)), dtype=np.float32) / 255
    return torch.as_tensor(arr).permute(2, 0, 1)


def fake_open_clip(fail: Exception | None = None):
    module = types.ModuleType("open_clip")

    def create_model_and_transforms(model_name, pretrained=None, device="cpu"):
        if fail is not None:
            raise fail
        return TinyOpenClipModel().to(device), None, tiny_preprocess

    module.create_model_and_transforms = create_model_and_transforms
    module.get_tokenizer = lambda name: tiny_tokenizer
    return module


@pytest.fixture
def photo_folder(tmp_path):
    from PIL import Image
    rng = np.random.default_rng(0)
    truth = {}
    for i, (name, rgb) in enumerate(list(COLOURS.items()) * 2):
        pixels = np.clip(np.array(rgb) + rng.normal(0, 20, (16, 16, 3)), 0, 255)
        file = f"photo_{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / file)
        truth[file] = name
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path, truth


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "open_clip", None)      # import fails
    with pytest.raises(ModuleNotFoundError, match="pip install open_clip_torch"):
        P.load_pretrained_clip()


def test_missing_weights_give_a_clear_message_and_nothing_is_downloaded(monkeypatch):
    offline = OSError("We have no connection or you passed local_files_only")
    monkeypatch.setitem(sys.modules, "open_clip", fake_open_clip(fail=offline))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(FileNotFoundError, match="without downloading.*checkpoint file"):
        P.load_pretrained_clip("ViT-B-32", "laion2b_s34b_b79k")
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        P.load_pretrained_clip("ViT-B-32", "/nowhere/clip.pt")


def test_zero_shot_on_a_folder_with_a_stand_in_model(monkeypatch, photo_folder):
    folder, truth = photo_folder
    monkeypatch.setitem(sys.modules, "open_clip", fake_open_clip())
    torch.manual_seed(0)
    clip = P.load_pretrained_clip("tiny", None, device="cpu")
    rows = P.zero_shot_folder(clip, folder, list(COLOURS), templates=["a {} photo",
                                                                      "a photo, {}"])
    assert [r["file"] for r in rows] == sorted(truth)          # images only, sorted
    for r in rows:
        assert r["label"] == truth[r["file"]], r
        assert sum(r["probabilities"].values()) == pytest.approx(1.0)
        assert r["probability"] == max(r["probabilities"].values()) > 0.9
    emb = clip.encode_texts(["a red photo"])
    assert emb.shape == (1, 3) and np.isclose(np.linalg.norm(emb), 1.0)


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        P.load_image_folder(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="holds no images"):
        P.load_image_folder(tmp_path)


def test_real_open_clip_with_random_weights(photo_folder):
    pytest.importorskip("open_clip", reason="open_clip is not installed: the real-model "
                                            "path is tested only where it is")
    folder, truth = photo_folder
    clip = P.load_pretrained_clip("RN50", None, device="cpu")     # random, no download
    rows = P.zero_shot_folder(clip, folder, list(COLOURS))
    assert len(rows) == len(truth)
    assert all(r["label"] in COLOURS for r in rows)
