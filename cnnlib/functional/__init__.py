"""``cnnlib.functional``: NumPy twins of ``torch.nn.functional``.

Same names, argument order, defaults and array layout as PyTorch wherever PyTorch has
the op, so that ``import cnnlib.functional as F`` reads like PyTorch code and a
cross-check is one line. Each op ``f`` also has ``f_forward(...) -> (out, cache)`` and
``f_backward(dout, cache) -> grads``: the backward returns one array when the op has a
single differentiable input and a tuple ``(dinput, dweight, dbias)`` otherwise.

Three rules hold for every op:

* **Caches are snapshots.** The backward pass computes with the values the arrays had
  at forward time: a cache never shares memory with an array you passed in (input,
  weight, target, ...) or got back (the output), so changing one in place between
  ``f_forward`` and ``f_backward`` (an optimiser step on the weight, ``x *= 2``) does
  not change the gradient. Where an op would otherwise keep your array, the cache
  holds a copy (weights are small; a convolution's input is copied into its column
  matrix anyway); a read-only array that owns its memory cannot change and is kept
  as it is (training loops make their mini-batches so with
  :func:`cnnlib._validate.frozen_rows`). PyTorch raises an error in that situation
  instead.
* **One precision per op.** float32 in, float32 out (gradients too); float64 likewise.
  Floating arrays of different precision in one call (a float32 ``input`` with a
  float64 ``weight``, ``bias``, ``target`` or ``pos_weight``) raise a ``TypeError``
  that names both and says how to convert: cnnlib never promotes silently. Python
  numbers, lists and integer or boolean arrays (class labels, 0/1 targets) adopt the
  precision of the floating arrays; with none, the op computes in float64. PyTorch
  raises too for ``linear``, the convolutions, ``binary_cross_entropy`` and
  ``cross_entropy``'s class weights, but promotes to float64 in ``mse_loss``,
  ``binary_cross_entropy_with_logits`` and for ``cross_entropy``'s probability
  targets, and silently casts the ``weight``/``pos_weight`` of the binary losses to
  the input's dtype: there cnnlib is stricter. ``dout`` is the exception, as in
  PyTorch's autograd: any numeric ``dout`` of the right shape is cast to the
  forward's dtype.
* **Empty arrays as in PyTorch, where that means something.** An empty batch gives an
  empty output (a loss's mean over nothing, also when every target is ignored, is NaN
  with a zero gradient); a linear map without input features gives its bias; a
  softmax over an empty axis is empty. Other empty sizes (a convolution or pooling
  without channels, a kernel with an empty axis, a cross-entropy over no classes)
  raise a ``ValueError`` naming the argument, never an error from inside NumPy.
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
from cnnlib.functional.dropout import *  # noqa: F401,F403
from cnnlib.functional.dropout import __all__ as _drop
from cnnlib.functional.losses import *  # noqa: F401,F403
from cnnlib.functional.losses import __all__ as _loss
from cnnlib.functional.normalization import *  # noqa: F401,F403
from cnnlib.functional.normalization import __all__ as _norm
from cnnlib.functional.padding import *  # noqa: F401,F403
from cnnlib.functional.padding import __all__ as _pad
from cnnlib.functional.pool import *  # noqa: F401,F403
from cnnlib.functional.pool import __all__ as _pool
from cnnlib.functional.probabilities import *  # noqa: F401,F403
from cnnlib.functional.probabilities import __all__ as _soft

__all__ = [*_act, *_lin, *_loss, *_soft, *_conv, *_pool, *_pad, *_norm, *_drop,
           *_contrastive]
