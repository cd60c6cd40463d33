"""The cross-check rows of batch norm and dropout (cnnlib.crosscheck.normalization): on
cpu and cuda, float64 to 1e-10 and float32 within the tolerance justified there."""
import numpy as np
import pytest
import torch

from cnnlib.crosscheck import all_cases, assert_case, run_case
from cnnlib.crosscheck.normalization import CASES, torch_dropout_mask
from cnnlib.functional.dropout import dropout
from torch_devices import DEVICES


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_crosscheck_rows(case, device, dtype):
    assert_case(case, device, dtype, trials=8, rng=9)


def test_the_rows_are_in_the_table():
    ops = [c.op for c in all_cases()]
    for op in ("batch_norm (training)", "batch_norm (eval)", "dropout (eval)",
               "dropout (fixed mask)"):
        assert op in ops


def test_a_wrong_batch_norm_fails_its_row(monkeypatch):
    """The row can fail: a running variance updated with the biased variance (a classic
    slip) is caught by the training row, whose output includes the running statistics."""
    import cnnlib.crosscheck.normalization as module

    real = module.batch_norm_forward

    def biased(x, rm, rv, *args, **kwargs):
        out, cache = real(x, rm.copy(), rv.copy(), *args, **kwargs)
        training, momentum = kwargs["training"], kwargs["momentum"]
        if training:
            axes = tuple(i for i in range(x.ndim) if i != 1)
            rm *= 1 - momentum
            rm += momentum * x.mean(axis=axes)
            rv *= 1 - momentum
            rv += momentum * x.var(axis=axes)          # should be the unbiased variance
        return out, cache

    monkeypatch.setattr(module, "batch_norm_forward", biased)
    result = run_case(CASES[0], "cpu", "float64", trials=3, rng=1)
    assert result.failed and result.fwd_err > 1e-3


def test_the_fixed_mask_is_torchs_own():
    x = np.random.default_rng(0).normal(size=(5, 7)) + 3.0      # no zeros
    mask = torch_dropout_mask(x.shape, 0.4, seed=123)
    torch.manual_seed(123)
    theirs = torch.nn.functional.dropout(torch.tensor(x), 0.4).numpy()
    np.testing.assert_array_equal(mask, theirs != 0)
    np.testing.assert_allclose(dropout(x, 0.4, mask=mask), theirs, rtol=1e-15)
