"""Deliberately wrong poisson_nll_loss, binary_cross_entropy and gaussian_nll_loss kernels.

Each must make `losscheck run --impl` exit 1; the docstring names the bug class.
"""

import math

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("poisson_nll_loss", "poisson_stirling_mask_strict", "value"),
    ("poisson_nll_loss", "poisson_eps_ignored", "value"),
    ("binary_cross_entropy", "bce_composed_from_autograd_ops", "grad input"),
    ("binary_cross_entropy", "bce_without_log_clamp", "value"),
    ("binary_cross_entropy", "bce_detached_target", "grad target"),
    ("gaussian_nll_loss", "gaussian_clamp_with_grad", "grad var"),
    ("gaussian_nll_loss", "gaussian_eps_added", "value"),
]


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def poisson_stirling_mask_strict(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """`>` where `≥` belongs at a kink: the Stirling term masked for y < 1 only, so y = 1 gets −1 + ½·log 2π."""
    loss = F.poisson_nll_loss(input, target, log_input=log_input, full=False, eps=eps, reduction="none")
    if full:
        stirling = target * torch.log(target) - target + 0.5 * torch.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target < 1, 0)
    return _reduce(loss, reduction)


def poisson_eps_ignored(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """A dropped term: x − y·log(x) without eps, so a zero rate gives inf where the loss is −y·log(eps)."""
    if log_input:
        return F.poisson_nll_loss(input, target, log_input=True, full=full, eps=eps, reduction=reduction)
    return F.poisson_nll_loss(input, target, log_input=False, full=full, eps=0.0, reduction=reduction)


def bce_composed_from_autograd_ops(input, target, weight=None, reduction="mean"):
    """The clamped forward differentiated by autograd: NaN where p is 0 or 1 (log 0's gradient times 0)."""
    log_p = torch.clamp(torch.log(input), min=-100)
    log_q = torch.clamp(torch.log1p(-input), min=-100)
    loss = -(target * log_p + (1 - target) * log_q)
    return _reduce(loss if weight is None else weight * loss, reduction)


def bce_without_log_clamp(input, target, weight=None, reduction="mean"):
    """The −100 clamp dropped: inf where p is 0 or 1 against a target that is not."""
    loss = -(target * torch.log(input) + (1 - target) * torch.log1p(-input))
    return _reduce(loss if weight is None else weight * loss, reduction)


def bce_detached_target(input, target, weight=None, reduction="mean"):
    """A detached target: its gradient is silently zero."""
    return F.binary_cross_entropy(input, target.detach(), weight=weight, reduction=reduction)


def _gaussian(input, target, v, full, reduction):
    loss = 0.5 * (torch.log(v) + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _var_like(input, var):
    return var.unsqueeze(-1) if var.dim() == input.dim() - 1 else var


def gaussian_clamp_with_grad(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """The clamp recorded by autograd: the var gradient is 0 where var < eps, not passed through."""
    return _gaussian(input, target, _var_like(input, var).clamp(min=eps), full, reduction)


def gaussian_eps_added(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Wrong eps placement: v = var + eps instead of max(var, eps)."""
    return _gaussian(input, target, _var_like(input, var) + eps, full, reduction)
