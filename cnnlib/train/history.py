"""What a training run measured, epoch by epoch.

Explained in chapter 2. One format for every loop of the book: :func:`cnnlib.train.fit`
and the Theta-notation models of chapters 1-3 all return a :class:`History`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["History"]


class History:
    """Curves by name (``"loss"``, ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"``,
    ``"lr"``, ...), one value per epoch.

    ``history["loss"]`` (or ``history.loss``) is the list of values; ``history.history``
    the dict of every curve measured (Keras's name); ``len(history)`` the number of
    epochs; :meth:`plot` draws the curves.
    """

    def __init__(self, curves: dict[str, list[float]] | None = None,
                 **more: list[float]) -> None:
        self.history: dict[str, list[float]] = {
            k: [float(x) for x in v] for k, v in {**(curves or {}), **more}.items()}

    def log(self, **values: float) -> None:
        """Append one epoch's values (a curve that is new starts now)."""
        for key, value in values.items():
            self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        if key not in self.history:
            raise KeyError(f"{key!r} was not measured; this history has "
                           f"{sorted(self.history)}")
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def keys(self):
        return self.history.keys()

    def __getattr__(self, name: str) -> list[float]:
        # history.loss, history.val_accuracy, ...: an unmeasured curve reads as empty.
        if name.startswith("_") or name == "history":
            raise AttributeError(name)
        return self.__dict__["history"].get(name, [])

    def __len__(self) -> int:
        return max((len(v) for v in self.history.values()), default=0)

    @property
    def epochs(self) -> np.ndarray:
        """Epoch numbers 1, 2, ..., for plotting."""
        return np.arange(1, len(self) + 1)

    def plot(self, title: str = "Training curves", **kwargs):
        """Loss (and accuracy, when measured) against the epoch, drawn by
        :func:`cnnlib.viz.plotting.plot_history` (keyword arguments go to it); returns
        the Figure. The learning rate, when logged, is left out (plot it on its own)."""
        from cnnlib.viz.plotting import plot_history

        if not len(self):
            raise ValueError("the history is empty: nothing to plot")
        keys = kwargs.pop("keys", [k for k in self.history if k != "lr"])
        return plot_history(self, keys, title=title, **kwargs)

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self)} epochs{': ' + last if last else ''})"
