"""``cnnlib.functional``: NumPy twins of ``torch.nn.functional``.

Same names, argument order, defaults and array layout as PyTorch wherever PyTorch has
the op, so that ``import cnnlib.functional as F`` reads like PyTorch code and a
cross-check is one line. Each op ``f`` also has ``f_forward(...) -> (out, cache)`` and
``f_backward(dout, cache) -> grads``: the backward returns one array when the op has a
single differentiable input and a tuple ``(dinput, dweight, dbias)`` otherwise.
"""
from __future__ import annotations

from .activations import *  # noqa: F401,F403
from .activations import __all__ as _act
from .conv import *  # noqa: F401,F403
from .conv import __all__ as _conv
from .linear import *  # noqa: F401,F403
from .linear import __all__ as _lin
from .losses import *  # noqa: F401,F403
from .losses import __all__ as _loss
from .padding import *  # noqa: F401,F403
from .padding import __all__ as _pad
from .pool import *  # noqa: F401,F403
from .pool import __all__ as _pool
from .softmax import *  # noqa: F401,F403
from .softmax import __all__ as _soft

__all__ = [*_act, *_lin, *_loss, *_soft, *_conv, *_pool, *_pad]
