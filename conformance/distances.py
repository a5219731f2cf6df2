"""Distance functions for losses with a ``distance_function`` option, each carrying its math.

Each is a torch callable ``f(x1, x2)`` over the last dim whose ``symbolic(u, v)``
gives the same distance as a SymPy expression of two rows of symbols; the
specs name them as ``MODULE:ATTR``, the way a user passes their own.
"""

from __future__ import annotations

import torch

from ..spec.triplet_margin_with_distance_loss import manhattan


def manhattan_distance(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Σ |x1 − x2| over the last dim, without pairwise_distance's eps."""
    return (x1 - x2).abs().sum(dim=-1)


manhattan_distance.symbolic = manhattan
