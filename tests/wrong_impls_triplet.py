"""Deliberately wrong triplet kernels, and a user-supplied distance (with its math) for
``--option distance_function=MODULE:ATTR``. Each wrong kernel must be flagged by the default
``losscheck run --impl``."""

import sympy as sp
import torch
import torch.nn.functional as F


def triplet_eps_after_norm(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean"):
    """Adds eps to the norm instead of to every element of the difference."""
    def d(u, v):
        return torch.linalg.vector_norm(u - v, ord=p, dim=-1) + eps
    negative_distance = torch.minimum(d(anchor, negative), d(positive, negative)) if swap else d(anchor, negative)
    loss = torch.clamp_min(margin + d(anchor, positive) - negative_distance, 0)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def triplet_ignores_swap(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean"):
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps, swap=False,
                                 reduction=reduction)


def triplet_with_distance_squared(anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False,
                                  reduction="mean"):
    """Uses the squared default distance."""
    if distance_function is None:
        def distance_function(u, v):
            return F.pairwise_distance(u, v) ** 2
    return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=distance_function,
                                               margin=margin, swap=swap, reduction=reduction)


def triplet_with_distance_detached_negative(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                            swap=False, reduction="mean"):
    return F.triplet_margin_with_distance_loss(anchor, positive, negative.detach(),
                                               distance_function=distance_function, margin=margin, swap=swap,
                                               reduction=reduction)


def chebyshev(x1, x2):
    """A user's distance: max_k |x1 − x2| over the last dim."""
    return (x1 - x2).abs().amax(dim=-1)


chebyshev.symbolic = lambda u, v: sp.Max(*[sp.Abs(a - b) for a, b in zip(u, v)])


def chebyshev_wrong(x1, x2):
    """Claims to be the Chebyshev distance but sums (Manhattan)."""
    return (x1 - x2).abs().sum(dim=-1)


chebyshev_wrong.symbolic = chebyshev.symbolic


FLAGGED = [
    ("triplet_margin_loss", "triplet_eps_after_norm", "value"),
    ("triplet_margin_loss", "triplet_ignores_swap", "value"),
    ("triplet_margin_with_distance_loss", "triplet_with_distance_squared", "value"),
    ("triplet_margin_with_distance_loss", "triplet_with_distance_detached_negative", "grad negative"),
]
