r"""SimCLR in PyTorch: a shared encoder, a projection head and the NT-Xent loss.

Explained in chapter 11.

* :func:`nt_xent_torch`: the NT-Xent loss written with torch ops straight from the
  SimCLR paper's formula (the reference cnnlib's NumPy
  :func:`~cnnlib.functional.contrastive.nt_xent` is cross-checked against);
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["nt_xent_torch"]


def nt_xent_torch(z_a: torch.Tensor, z_b: torch.Tensor,
                  temperature: float = 0.5) -> torch.Tensor:
    r"""NT-Xent as the SimCLR paper writes it (Chen et al., 2020, eq. 1 and Algorithm 1).

    z_a, z_b : (N, D), the projections of the two views of N images. With
    :math:`u = [z_a; z_b]` normalised row by row, :math:`\mathrm{sim}(u, v) = u^\top v
    / (\lVert u\rVert \lVert v\rVert)` and view k's partner :math:`p(k) = k \pm N`:

    .. math::
        \ell(k, p(k)) = -\log \frac{\exp(\mathrm{sim}(z_k, z_{p(k)}) / \tau)}
        {\sum_{l \ne k} \exp(\mathrm{sim}(z_k, z_l) / \tau)},
        \qquad \mathcal{L} = \frac{1}{2N} \sum_{k=1}^{2N} \ell(k, p(k)).

    Returns a 0-D tensor; autograd gives the gradients.
    """
    z = nn.functional.normalize(torch.cat([z_a, z_b]), dim=1)
    n2 = z.shape[0]
    sim = z @ z.T / temperature
    itself = torch.eye(n2, dtype=torch.bool, device=z.device)
    denominator = torch.logsumexp(sim.masked_fill(itself, float("-inf")), dim=1)
    partner = (torch.arange(n2, device=z.device) + n2 // 2) % n2
    numerator = sim[torch.arange(n2, device=z.device), partner]
    return (denominator - numerator).mean()
