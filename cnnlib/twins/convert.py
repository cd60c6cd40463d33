"""Moving weights between a cnnlib model and its PyTorch twin.

Explained in chapter 2 and chapter 8.
"""
from __future__ import annotations

import numpy as np
import torch

from cnnlib.nn.module import Module

__all__ = ["state_from_torch", "state_to_torch"]


def state_from_torch(model: torch.nn.Module) -> dict[str, np.ndarray]:
    """The torch model's ``state_dict`` (parameters and buffers) as NumPy arrays on the
    CPU, for ``numpy_model.load_state_dict(...)``."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def state_to_torch(source: Module | dict, model: torch.nn.Module) -> torch.nn.Module:
    """Copy a cnnlib model's weights (or a ``state_dict`` of arrays) into the torch model
    with the same names, keeping each torch tensor's dtype and device; returns it.

    The keys must match exactly and every array must have its tensor's shape.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if isinstance(source, Module):
        state = source.state_dict()
    elif hasattr(source, "items"):
        state = dict(source)
    else:
        raise TypeError(f"source must be a cnnlib Module or a state_dict, got "
                        f"{type(source).__name__}")
    target = model.state_dict()
    missing = sorted(set(target) - set(state))
    unexpected = sorted(set(state) - set(target))
    if missing or unexpected:
        raise ValueError(f"state_dict keys do not match the torch model: missing "
                         f"{missing}, unexpected {unexpected}")
    with torch.no_grad():
        for key, tensor in target.items():
            value = np.asarray(state[key])
            if tuple(value.shape) != tuple(tensor.shape):
                raise ValueError(f"{key}: the array has shape {value.shape}, the torch "
                                 f"tensor {tuple(tensor.shape)}")
            tensor.copy_(torch.as_tensor(value).to(dtype=tensor.dtype))
    return model
