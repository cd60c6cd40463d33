r"""cnnlib's own code, shown in the book: the book and the library cannot drift apart.

:func:`show_source` displays the source of a function, class or method as a Python
code block (highlighted in JupyterLab and on the website), headed by the file it
comes from. Its docstring is written for Sphinx, in reStructuredText; shown as it
stands, a reader would meet ``:math:`` and ``:func:`` roles. :func:`readable_source`
rewrites them for people:

* ``:func:`cnnlib.functional.conv1d``` (and ``:class:``, ``:mod:``, ``:meth:``, ...)
  becomes ``cnnlib.functional.conv1d`` (``~x.y.name`` becomes ``name``);
* ``:math:`g(z) = 1/(1 + e^{-z})``` becomes ``g(z) = 1/(1 + e^(-z))``, with common
  LaTeX commands written as their Unicode symbols (``\theta`` as θ, ``\sum`` as Σ,
  ``\le`` as ≤, ...), and a ``.. math::`` line keeps just its formula;
* double back-quoted ``literal`` text loses its quotes.

The code itself is not touched. Explained in chapter 1, where cnnlib's code first
appears.
"""
from __future__ import annotations

import inspect
import re
import textwrap
import unicodedata
from pathlib import Path

__all__ = ["show_source", "readable_source", "readable_math"]

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const|ref|doc)"
                   r":`~?([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]*)`", re.DOTALL)
_MATH_DIRECTIVE = re.compile(r"^(\s*)\.\. math::\s*(.*)$")
_LITERAL = re.compile(r"``([^`]+)``")

# LaTeX written as plain text. Longer names first, so that \leq is not read as \le + q.
_SYMBOLS = {
    r"\leftarrow": "←", r"\rightarrow": "→", r"\partial": "∂", r"\epsilon": "ε",
    r"\lambda": "λ", r"\langle": "⟨", r"\rangle": "⟩", r"\approx": "≈",
    r"\otimes": "⊗", r"\ldots": "...", r"\cdots": "...", r"\dots": "...",
    r"\alpha": "α", r"\beta": "β", r"\gamma": "γ", r"\delta": "δ", r"\Delta": "Δ",
    r"\theta": "θ", r"\Theta": "Θ", r"\sigma": "σ", r"\Sigma": "Σ", r"\infty": "∞",
    r"\nabla": "∇", r"\times": "×", r"\cdot": "·", r"\odot": "⊙", r"\sqrt": "√",
    r"\prod": "Π", r"\sum": "Σ", r"\geq": "≥", r"\leq": "≤", r"\neq": "≠",
    r"\ge": "≥", r"\le": "≤", r"\ne": "≠", r"\in": "∈", r"\mu": "μ", r"\eta": "η",
    r"\pi": "π", r"\pm": "±", r"\mid": "|", r"\to": "→", r"\top": "ᵀ", r"\ell": "ℓ",
    r"\lfloor": "⌊", r"\rfloor": "⌋", r"\lvert": "|", r"\rvert": "|",
}
_FUNCTIONS = ("arctan", "tanh", "log", "exp", "max", "min", "sin", "cos", "det")
_SPACES = (r"\qquad", r"\quad", r"\,", r"\;", r"\!", r"\ ")
_DROP = (r"\displaystyle", r"\left", r"\right", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr",
         r"\big", r"\Big")
_WRAPPERS = re.compile(r"\\(?:mathrm|operatorname|text|mathbf|boldsymbol|mathcal|"
                       r"mathbb|textrm)\{([^{}]*)\}")
_ACCENTS = {"hat": "\u0302", "tilde": "\u0303", "bar": "\u0304"}   # combining marks
_ACCENT = re.compile(r"\\(hat|tilde|bar)\s*(?:\{(\w)\}|(\w))")
_FRAC = re.compile(r"\\[dt]?frac(?:\{([^{}]*)\}|(\w))(?:\{([^{}]*)\}|(\w))")


def readable_math(tex: str) -> str:
    r"""A LaTeX formula written as plain text: ``\frac{a}{b}`` as ``a/b`` (with
    parentheses where needed), Greek letters and operators as Unicode, ``e^{-z}`` as
    ``e^(-z)``, ``x_{i+j}`` as ``x_(i+j)``, ``\log`` as log, spacing commands dropped."""
    text = " ".join(tex.split())                 # one line
    for name in _FUNCTIONS:
        text = re.sub(r"\\" + name + r"(?![A-Za-z])", f" {name} ", text)
    for name in sorted(_SYMBOLS, key=len, reverse=True):
        text = re.sub(re.escape(name) + r"(?![A-Za-z])", _SYMBOLS[name], text)
    text = _ACCENT.sub(lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)], text)
    for name in _SPACES:
        text = text.replace(name, " ")
    for name in _DROP:
        text = re.sub(re.escape(name) + r"(?![A-Za-z])", "", text)
    text = text.replace("∂ ", "∂")
    for _ in range(3):                           # nested \mathrm{...} and fractions
        text = _WRAPPERS.sub(r"\1", text)
        text = _FRAC.sub(lambda m: f"{_group(m.group(1) or m.group(2))}/"
                                   f"{_group(m.group(3) or m.group(4))} ", text)
    text = re.sub(r"([_^])\{([^{}]*)\}",
                  lambda m: m.group(1) + (m.group(2) if len(m.group(2)) == 1
                                          else f"({m.group(2)})"), text)
    text = text.replace(r"\{", "{").replace(r"\}", "}").replace("{", "").replace("}", "")
    text = text.replace("^ᵀ", "ᵀ")
    text = re.sub(r"\s+([),;⟩])", r"\1", re.sub(r"([(\[⟨])\s+", r"\1", text))
    return unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", text).strip())


def _group(text: str) -> str:
    return text if re.fullmatch(r"[\w.∂]+", text) else f"({text})"


def readable_source(source: str) -> str:
    """``source`` with the reStructuredText of its docstrings made plain (see the module
    docstring): roles, ``:math:`` and ``.. math::`` formulas and literals. The code is
    not touched (a role cannot occur in Python code outside a string)."""
    lines, formula_indent = [], None
    for line in source.split("\n"):
        indent = len(line) - len(line.lstrip())
        if formula_indent is not None and line.strip() and indent > formula_indent:
            lines.append(" " * (formula_indent + 4) + readable_math(line))
            continue                             # a continuation line of the formula
        formula_indent = None
        directive = _MATH_DIRECTIVE.match(line)
        if directive:
            lead, formula = directive.groups()
            formula_indent = len(lead)
            line = f"{lead}    {readable_math(formula)}" if formula.strip() else ""
        lines.append(line)
    text = "\n".join(lines)
    text = _MATH_ROLE.sub(lambda m: readable_math(m.group(1)), text)
    text = _ROLE.sub(lambda m: m.group(1).split(".")[-1] if m.group(0).count("~")
                     else m.group(1), text)
    return _LITERAL.sub(r"\1", text)


def _where(obj) -> str:
    """'cnnlib/functional/activations.py, line 40' for an object of cnnlib."""
    try:
        path = Path(inspect.getsourcefile(obj) or "")
        line = inspect.getsourcelines(obj)[1]
    except (TypeError, OSError):
        return ""
    parts = path.parts
    if "cnnlib" in parts:
        path = Path(*parts[len(parts) - 1 - parts[::-1].index("cnnlib"):])
    else:
        path = Path(path.name)
    return f"{path.as_posix()}, line {line}"


def show_source(*objects) -> None:
    """Display the source of each object (function, class, method) as a Python code
    block, headed by its file and line, with its docstring made readable
    (:func:`readable_source`). Explained in chapter 1."""
    from IPython.display import Markdown, display

    for obj in objects:
        source = textwrap.dedent(inspect.getsource(obj))   # a method: no indent
        if not source.endswith("\n"):
            source += "\n"
        where = _where(obj)
        head = f"*{where}*\n\n" if where else ""
        # a fence longer than any run of back-quotes in the code
        fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)),
                                     default=0))
        text = f"{head}{fence}python\n{readable_source(source)}{fence}"
        display(Markdown(text))
