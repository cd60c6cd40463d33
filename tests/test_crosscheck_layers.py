"""The layer objects and LeNet-5 against torch.nn, through the cross-check table's rows
(cnnlib/crosscheck/layers.py): random constructor arguments and inputs, the output,
the input gradient and every parameter gradient, on cpu and cuda, float64 and float32."""
import pytest

from cnnlib.crosscheck import all_cases, assert_case
from cnnlib.crosscheck.layers import CASES

from torch_devices import DEVICES


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=[c.op for c in CASES])
def test_layer_rows_pass(case, dtype, device):
    result = assert_case(case, device, dtype, trials=8, rng=11)
    assert result.ok and result.fwd_err <= result.tol and result.grad_err <= result.tol


def test_the_table_lists_the_layers():
    ops = [c.op for c in all_cases()]
    for op in ("Conv2d layer", "MaxPool2d layer", "AvgPool2d layer", "LeNet-5"):
        assert op in ops
