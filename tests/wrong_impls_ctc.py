"""Deliberately wrong ctc_loss implementations. Each must make `losscheck run --impl` exit 1.

Each is a bug class CTC kernels and wrappers have shipped; the docstring names it.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("ctc_loss", "ctc_mean_over_total_target_length", "value"),
    ("ctc_loss", "ctc_mean_is_none_mean", "value"),
    ("ctc_loss", "ctc_zero_infinity_by_masking", "grad log_probs"),
    ("ctc_loss", "ctc_blank_ignored", "value"),
    ("ctc_loss", "ctc_float64_through_float32", "value"),
]


def ctc_mean_over_total_target_length(log_probs, targets, input_lengths, target_lengths, blank=0,
                                      reduction="mean", zero_infinity=False):
    """Wrong denominator: mean = Σ_n l_n / Σ_n S_n instead of mean_n(l_n / max(S_n, 1))."""
    losses = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank, reduction="none",
                        zero_infinity=zero_infinity)
    if reduction == "mean":
        return losses.sum() / torch.as_tensor(target_lengths).sum().clamp_min(1).to(losses.dtype)
    return losses.sum() if reduction == "sum" else losses


def ctc_mean_is_none_mean(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                          zero_infinity=False):
    """Forgotten per-sequence normalisation: mean = none.mean()."""
    losses = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank, reduction="none",
                        zero_infinity=zero_infinity)
    return {"mean": losses.mean(), "sum": losses.sum()}.get(reduction, losses)


def ctc_zero_infinity_by_masking(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                                 zero_infinity=False):
    """zero_infinity done as torch.where(isinf(l), 0, l) after an unmasked kernel: the value is right,
    but the infeasible sequence's NaN gradient leaks through the where."""
    losses = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank, reduction="none",
                        zero_infinity=False)
    if zero_infinity:
        losses = torch.where(torch.isinf(losses), torch.zeros_like(losses), losses)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    lengths = torch.as_tensor(target_lengths, device=losses.device).clamp_min(1).to(losses.dtype)
    return (losses / lengths).mean()


def ctc_blank_ignored(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                      zero_infinity=False):
    """The blank option dropped on the way to the kernel: blank is always 0."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction=reduction,
                      zero_infinity=zero_infinity)


def ctc_float64_through_float32(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
                                zero_infinity=False):
    """A kernel that runs its recursion in float32 whatever the input dtype (output cast back)."""
    out = F.ctc_loss(log_probs.float(), targets, input_lengths, target_lengths, blank=blank, reduction=reduction,
                     zero_infinity=zero_infinity)
    return out.to(log_probs.dtype)
