"""The devices every PyTorch cross-check runs on: ``cpu`` always, ``cuda`` when PyTorch
finds a GPU (otherwise the case is skipped, with the reason in the summary)."""
import pytest
import torch

# Strict comparisons: with TF32 on, float32 matrix products on recent NVIDIA GPUs keep
# only about three significant digits.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA GPU on this machine")),
]
