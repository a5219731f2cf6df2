"""Deliberately wrong elementwise losses (branch elem). Each must make `losscheck run --impl` exit 1.

Each is a bug class real kernels have shipped; the docstring names it.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("smooth_l1_loss", "smooth_l1_where_nan_gradient", "grad input"),
    ("smooth_l1_loss", "smooth_l1_ignores_beta", "value"),
]


def _reduce(loss, reduction):
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def smooth_l1_where_nan_gradient(input, target, reduction="mean", beta=1.0):
    """Both branches through torch.where: with β = 0 the unused d/β branch is 0/0 at d = 0,
    and its masked gradient 0·NaN poisons the gradient (the classic torch.where NaN)."""
    d = input - target
    loss = torch.where(d.abs() < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta)
    return _reduce(loss, reduction)


def smooth_l1_ignores_beta(input, target, reduction="mean", beta=1.0):
    """The beta argument is dropped: every call uses the default β = 1."""
    return F.smooth_l1_loss(input, target, reduction=reduction)
