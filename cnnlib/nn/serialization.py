"""Saving and loading a model's weights as a NumPy ``.npz`` file.

Explained in chapter 8. The file holds the ``state_dict`` (dotted names, the same keys
as the model's PyTorch twin), so ``save(model.state_dict(), "lenet.npz")`` then
``model.load_state_dict(load("lenet.npz"))`` restores it, and
:func:`cnnlib.twins.state_to_torch` moves it into the torch twin.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["save", "load"]


def save(state: dict, path: str | os.PathLike) -> Path:
    """Write a ``state_dict`` (name -> array) to ``path`` (``.npz`` is appended when
    missing); returns the path written."""
    if not hasattr(state, "items"):
        raise TypeError(f"state must be a dict of arrays (model.state_dict()), got "
                        f"{type(state).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    np.savez(path, **{k: np.asarray(v) for k, v in state.items()})
    return path


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Read a ``state_dict`` written by :func:`save` (no pickled objects are loaded)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}
