"""``cnnlib.functional``: NumPy twins of ``torch.nn.functional``.

Same names, argument order, defaults and array layout as PyTorch wherever PyTorch has
the op, so that ``import cnnlib.functional as F`` reads like PyTorch code and a
cross-check is one line. Each op ``f`` also has ``f_forward(...) -> (out, cache)`` and
``f_backward(dout, cache) -> grads``: the backward returns one array when the op has a
single differentiable input and a tuple ``(dinput, dweight, dbias)`` otherwise.
"""
from __future__ import annotations

from cnnlib.functional.activations import *  # noqa: F401,F403
from cnnlib.functional.activations import __all__ as _act
from cnnlib.functional.contrastive import *  # noqa: F401,F403
from cnnlib.functional.contrastive import __all__ as _contrastive
from cnnlib.functional.conv import *  # noqa: F401,F403
from cnnlib.functional.conv import __all__ as _conv
from cnnlib.functional.affine import *  # noqa: F401,F403
from cnnlib.functional.affine import __all__ as _lin
from cnnlib.functional.losses import *  # noqa: F401,F403
from cnnlib.functional.losses import __all__ as _loss
from cnnlib.functional.padding import *  # noqa: F401,F403
from cnnlib.functional.padding import __all__ as _pad
from cnnlib.functional.pool import *  # noqa: F401,F403
from cnnlib.functional.pool import __all__ as _pool
from cnnlib.functional.probabilities import *  # noqa: F401,F403
from cnnlib.functional.probabilities import __all__ as _soft

__all__ = [*_act, *_lin, *_loss, *_soft, *_conv, *_pool, *_pad, *_contrastive]
