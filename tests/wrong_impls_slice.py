"""Deliberately wrong slice-structured losses. Each must make `losscheck run --impl` exit 1.

Each is a bug class real kernels have shipped; the docstring names it.
"""

import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("multilabel_soft_margin_loss", "mlsm_sum_over_classes", "value"),
    ("multilabel_soft_margin_loss", "mlsm_detached_target", "grad target"),
]


def _reduce(per_row, reduction):
    return {"none": per_row, "mean": per_row.mean(), "sum": per_row.sum()}[reduction]


def mlsm_sum_over_classes(input, target, weight=None, reduction="mean"):
    """The per-row sum over classes is not divided by C (a dropped class average)."""
    loss = -(target * F.logsigmoid(input) + (1 - target) * F.logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss.sum(dim=-1), reduction)


def mlsm_detached_target(input, target, weight=None, reduction="mean"):
    """The target is detached: its gradient is silently zero."""
    return F.multilabel_soft_margin_loss(input, target.detach(), weight=weight, reduction=reduction)

