"""An ImageNet ResNet-18 for readers who have its weights on disk: the recipe of
chapter 10 with a body pre-trained on 1.2 million photographs.

Explained in chapter 10. torchvision itself is not needed (and not importable
everywhere): :class:`ResNet` is ResNet-18 (He et al., 2016) written with torchvision's
parameter names, so torchvision's published ``state_dict`` loads into it unchanged.
:func:`load_resnet18` looks for that file (``resnet18-*.pth``) in PyTorch's hub cache,
``torch.hub.get_dir()/checkpoints`` (``~/.cache/torch/hub/checkpoints`` unless
``$TORCH_HOME`` says otherwise), and never downloads: without the file it raises
``FileNotFoundError`` with the one command that fetches it. :func:`probe_digits` then
does the linear probe of section 10.8: grey 28 x 28 digits resized to 64 x 64, repeated
into three channels and normalised with ImageNet's mean and standard deviation; the
512 features before the ``fc`` layer; a new linear head trained on a few labels.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["ResNet", "BasicBlock", "load_resnet18", "find_weights", "probe_digits",
           "RESNET18_URL", "IMAGENET_MEAN", "IMAGENET_STD"]

RESNET18_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
"""torchvision's ImageNet weights for ResNet-18 (44.7 MB)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BasicBlock(nn.Module):
    """conv 3x3 -> BN -> ReLU -> conv 3x3 -> BN, plus the input (through a 1x1 conv and
    BN, ``downsample``, when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.downsample = None
        if stride != 1 or c_in != c_out:
            self.downsample = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                            nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class ResNet(nn.Module):
    """ResNet-18: conv 7x7/2 -> BN -> ReLU -> max-pool 3x3/2 -> four stages of two basic
    blocks (``width``, 2, 4 and 8 ``width`` maps; stride 2 from the second stage on) ->
    global average pool -> ``fc``. Input (N, 3, H, W); ``width=64`` is torchvision's."""

    def __init__(self, num_classes: int = 1000, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        c = width
        for i in range(4):
            out = width * 2 ** i
            stride = 1 if i == 0 else 2
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(c, out, stride),
                                                         BasicBlock(out, out)))
            c = out
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.num_features = c
        self.fc = nn.Linear(c, num_classes)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """The features before ``fc``: (N, 3, H, W) -> (N, 8 width)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return torch.flatten(self.avgpool(x), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.body(x))


def find_weights(cache_dir: str | os.PathLike | None = None) -> Path:
    """The path of a ``resnet18-*.pth`` file in ``cache_dir`` (default: PyTorch's hub
    cache, ``torch.hub.get_dir()/checkpoints``); ``FileNotFoundError`` when none."""
    folder = Path(cache_dir) if cache_dir is not None else \
        Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(folder.glob("resnet18-*.pth"))
    if not found:
        raise FileNotFoundError(
            f"No ImageNet ResNet-18 weights (resnet18-*.pth) in {folder}; nothing is "
            f"downloaded here. Online, fetch torchvision's file once with\n"
            f"  python -c \"import torch; torch.hub.load_state_dict_from_url("
            f"'{RESNET18_URL}')\"\nand run this again.")
    return found[0]


def load_resnet18(path: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None) -> ResNet:
    """A :class:`ResNet` with the weights of ``path`` (default: :func:`find_weights`),
    in evaluation mode. The width is read from the file, so a small test model saved
    the same way loads too. Explained in chapter 10."""
    path = Path(path) if path is not None else find_weights(cache_dir)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "conv1.weight" not in state or "fc.weight" not in state:
        raise ValueError(f"{path} is not a ResNet-18 state_dict with torchvision's names "
                         f"(no conv1.weight / fc.weight among {list(state)[:5]}...)")
    model = ResNet(num_classes=state["fc.weight"].shape[0],
                   width=state["conv1.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()


def _imagenet_batch(X: np.ndarray, size: int) -> torch.Tensor:
    x = torch.tensor(np.asarray(X), dtype=torch.float32)[:, None]
    x = nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                  align_corners=False).repeat(1, 3, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x - mean) / std


@torch.no_grad()
def _features(model: ResNet, X, size: int, batch_size: int = 250) -> torch.Tensor:
    model.eval()
    return torch.cat([model.body(_imagenet_batch(X[i:i + batch_size], size))
                      for i in range(0, len(X), batch_size)])


def probe_digits(model: ResNet, split, *, per_class: int = 10, seed: int = 0,
                 size: int = 64, epochs: int = 200) -> float:
    """Linear probe of ``model``'s features: train a new head on ``per_class`` labelled
    images of each class of ``split`` (a ``Split`` of grey (N, 28, 28) images) and
    return its test accuracy. Explained in chapter 10."""
    from cnnlib.data.subsets import labelled_subset
    idx = labelled_subset(split.y_train, per_class, rng=seed)
    f_train = _features(model, split.X_train[idx], size)
    f_test = _features(model, split.X_test, size)
    torch.manual_seed(seed)
    head = nn.Linear(f_train.shape[1], int(split.y_train.max()) + 1)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    y = torch.as_tensor(split.y_train[idx])
    for _ in range(epochs):
        loss = nn.functional.cross_entropy(head(f_train), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = head(f_test).argmax(1).numpy()
    return float(np.mean(pred == split.y_test))
