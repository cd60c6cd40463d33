"""cnnlib.viz.source: the book shows cnnlib's code with readable docstrings (no raw
reStructuredText roles) and the code itself unchanged."""
import inspect
import re
import textwrap

import pytest

import cnnlib.functional as F
from cnnlib.functional.conv import conv2d_loop_forward
from cnnlib.models.multiclass import OneVsRest, softmax_regression_loss
from cnnlib.viz.source import readable_math, readable_source, show_source

ROLE = re.compile(r":(?:math|func|class|mod|meth|attr|data|obj):`")


@pytest.mark.parametrize("tex, plain", [
    (r"g(z) = 1 / (1 + e^{-z})", "g(z) = 1 / (1 + e^(-z))"),
    (r"\frac{\lambda}{2}\sum_{k\ge1}\theta_k^2", "λ/2 Σ_(k≥1)θ_k^2"),
    (r"\frac1m X_1^\top (h - y)", "1/m X_1ᵀ (h - y)"),
    (r"z_k - \log\sum_j e^{z_j}", "z_k - log Σ_j e^(z_j)"),
    (r"\ell_n = -\sum_k a_{nk} \log\mathrm{softmax}(z_n)_k",
     "ℓ_n = -Σ_k a_(nk) log softmax(z_n)_k"),
    (r"\frac{\partial J}{\partial z}", "∂J/∂z"),
    (r"s \odot (d - \langle d, s\rangle)", "s ⊙ (d - ⟨d, s⟩)"),
    (r"\tilde y", "ỹ"),
])
def test_readable_math(tex, plain):
    assert readable_math(tex) == plain


def test_roles_literals_and_math_directives_become_plain_text():
    source = textwrap.dedent('''\
        def f(x):
            """Uses :func:`cnnlib.functional.conv1d` and :class:`~cnnlib.nn.Module`.

            .. math:: (I * K)(i, j) = \\sum_m \\sum_n I(i + m, j + n)\\, K(m, n)
                      + \\frac{1}{2}

            The ``x`` of :math:`\\theta^\\top x`, over two
            lines: :math:`\\sum_{k \\ge
            1} \\theta_k`.
            """
            return x  # `x` stays
        ''')
    out = readable_source(source)
    assert not ROLE.search(out) and ".. math::" not in out and "``" not in out
    assert "cnnlib.functional.conv1d and Module." in out
    assert "(I * K)(i, j) = Σ_m Σ_n I(i + m, j + n) K(m, n)" in out
    assert "+ 1/2" in out
    assert "The x of θᵀ x" in out and "Σ_(k ≥ 1) θ_k" in out
    assert out.splitlines()[0] == "def f(x):" and "return x  # `x` stays" in out


@pytest.mark.parametrize("obj", [F.sigmoid, F.binary_cross_entropy_with_logits_forward,
                                 F.one_hot, OneVsRest.fit, softmax_regression_loss,
                                 conv2d_loop_forward, F.log_softmax,
                                 F.cross_entropy_forward])
def test_the_functions_the_book_shows_have_no_roles_left(obj):
    source = textwrap.dedent(inspect.getsource(obj))
    out = readable_source(source)
    assert not ROLE.search(out)
    # only docstring lines change: the code lines are the same, in the same order
    code = [line for line in source.splitlines() if line.strip() and ":" not in line]
    assert all(line in out for line in code if "`" not in line and "\\" not in line)


def test_show_source_displays_a_python_block_with_its_file(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    show_source(F.sigmoid, OneVsRest.fit)
    assert len(shown) == 2
    first, second = shown
    assert re.match(r"\*cnnlib/functional/activations\.py, line \d+\*\n\n```python\n"
                    r"def sigmoid\(", first)
    assert first.rstrip().endswith("```") and ":math:" not in first
    assert "\ndef fit(self" in second                    # a method, dedented
