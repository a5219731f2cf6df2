"""Honest kernels that support only part of a loss, and dishonest ones that misuse "not supported".

Each is correct wherever it answers; what differs is how it says what it does not support.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy_nc_index_only(input, target, weight=None, ignore_index=-100, reduction="mean",
                                label_smoothing=0.0):
    """Like a Triton kernel library's adapter: only (N, C) logits with class-index targets."""
    if input.dim() != 2 or target.is_floating_point():
        raise NotImplementedError("only (N, C) logits with class-index targets")
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def mse_float32_first_order(input, target, reduction="mean", weight=None):
    """Declares float32 only, and no forward mode or double backward."""
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


mse_float32_first_order.losscheck_supports = {"dtypes": ["float32"], "modes": ["value", "backward"]}


def mse_float32_with_a_reason(input, target, reduction="mean", weight=None):
    """Declares float32 only, and says why."""
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


mse_float32_with_a_reason.losscheck_supports = {"dtypes": ["float32"], "why": "the half kernels\nare not written yet"}


def mse_with_a_malformed_reason(input, target, reduction="mean", weight=None):
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


mse_with_a_malformed_reason.losscheck_supports = {"dtypes": ["float32"], "why": ["not", "a", "string"]}


def mse_not_implemented(input, target, reduction="mean", weight=None):
    """Raises NotImplementedError for everything: it must not pass."""
    raise NotImplementedError("nothing is implemented")


def mse_dodges_large_inputs(input, target, reduction="mean", weight=None):
    """Calls large values 'not supported', inside a form it accepts for other values: a failure."""
    if input.detach().abs().max() > 100 if input.numel() else False:
        raise NotImplementedError("large inputs are not supported")
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


def mse_silent_zero_backward(input, target, reduction="mean", weight=None):
    """Returns the right value with a gradient of zero: silence is not 'unsupported'."""
    return _ZeroGrad.apply(F.mse_loss(input.detach(), target.detach(), reduction=reduction,
                                      weight=None if weight is None else weight.detach()), input)


class _ZeroGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, value, input):
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        return None, torch.zeros(())
