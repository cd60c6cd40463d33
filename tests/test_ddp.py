"""DistributedDataParallel on 2 processes (gloo, CPU) equals one process on the full
batch: the same weights after every step, to float64 rounding.

The processes are started with "spawn" (fresh interpreters: they import torch, which
takes seconds on a loaded machine), so the run is short (4 steps) and has a generous
time limit; the comparison itself is exact arithmetic up to the order of additions.
"""
import numpy as np
import pytest
import torch

from cnnlib.twins import state_from_torch
from cnnlib.twins.ddp import pick_backend, train_distributed, train_single
from cnnlib.twins.lenet import lenet5


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 28, 28)), rng.integers(0, 10, n)


@pytest.mark.timeout(240)
def test_two_processes_equal_one_process_on_the_full_batch():
    X, y = data()
    torch.manual_seed(0)
    start = state_from_torch(lenet5(dtype=torch.float64))
    kwargs = dict(state=start, batch_size=32, epochs=1, lr=0.1, momentum=0.9, seed=3)
    one, losses_one = train_single(lenet5, X, y, **kwargs)
    two, losses_two = train_distributed(lenet5, X, y, world_size=2, device="cpu",
                                        timeout_s=200, **kwargs)
    assert len(losses_one) == len(losses_two) == 4
    np.testing.assert_allclose(losses_two, losses_one, rtol=1e-12)
    moved = 0.0
    for key in one:
        # equal to float64 rounding: the all-reduce adds the two halves' gradients in
        # another order than one process summing the whole batch
        scale = np.abs(one[key]).max()
        assert np.abs(two[key] - one[key]).max() <= 1e-10 * scale, key
        moved = max(moved, np.abs(one[key] - start[key]).max() / scale)
    assert moved > 1e-3          # the weights did change: the comparison means something


def test_arguments_are_checked_before_any_process_starts():
    X, y = data(64)
    with pytest.raises(ValueError, match="divisible by world_size"):
        train_distributed(lenet5, X, y, batch_size=33, world_size=2)
    with pytest.raises(ValueError, match="same length"):
        train_distributed(lenet5, X, y[:10])
    with pytest.raises(ValueError, match="larger than the data"):
        train_single(lenet5, X, y, batch_size=128)
    with pytest.raises(TypeError, match="dtype"):
        train_single(lenet5, X, y, dtype=torch.int64)
    with pytest.raises(ValueError, match="device"):
        pick_backend(2, "tpu")
    assert pick_backend(2, "cpu") == ("gloo", "cpu")
    if torch.cuda.device_count() < 2:
        with pytest.raises(RuntimeError, match="needs 2 GPUs"):
            pick_backend(2, "cuda")
