"""Deliberately wrong fused_linear_cross_entropy kernels. Each must make `losscheck run --impl` exit 1.

Each is a bug class fused linear-cross-entropy kernels have shipped; the docstring names it.
All take the spec's signature: (input (N, H), weight (V, H), target (N,), bias=None, *,
ignore_index, label_smoothing, reduction).
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("fused_linear_cross_entropy", "flce_ignored_rows_in_gradient", "grad weight"),
    ("fused_linear_cross_entropy", "flce_label_smoothing_dropped", "value"),
    ("fused_linear_cross_entropy", "flce_mean_over_all_rows", "value"),
    ("fused_linear_cross_entropy", "flce_chunk_means_averaged", "value"),
    ("fused_linear_cross_entropy", "flce_naive_log_sum_exp", "value"),
    ("fused_linear_cross_entropy", "flce_bias_gradient_of_first_row_only", "grad bias"),
    ("fused_linear_cross_entropy", "flce_weight_detached", "grad weight"),
]


def _rows(input, weight, target, bias, ignore_index, label_smoothing):
    """Per-row losses (0 on ignored rows) and the keep mask, as F.cross_entropy computes them."""
    rows = F.cross_entropy(F.linear(input, weight, bias), target, ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction="none")
    return rows, target != ignore_index


def _reduce(rows, keep, reduction):
    if reduction == "none":
        return rows
    return rows.sum() if reduction == "sum" else rows.sum() / keep.sum()


def flce_ignored_rows_in_gradient(input, weight, target, bias=None, *, ignore_index=-100,
                                  label_smoothing=0.0, reduction="mean"):
    """Ignored rows are masked out of the loss but not out of the backward: their softmax − onehot
    still flows into grad weight (and grad input, grad bias). The value is right."""
    keep = target != ignore_index
    rows = F.cross_entropy(F.linear(input, weight, bias), torch.where(keep, target, 0),
                           label_smoothing=label_smoothing, reduction="none")
    leaked = torch.where(keep, rows, rows - rows.detach())
    return _reduce(leaked, keep, reduction)


def flce_label_smoothing_dropped(input, weight, target, bias=None, *, ignore_index=-100,
                                 label_smoothing=0.0, reduction="mean"):
    """label_smoothing is accepted and ignored: plain NLL of the log-softmax."""
    rows, keep = _rows(input, weight, target, bias, ignore_index, 0.0)
    return _reduce(rows, keep, reduction)


def flce_mean_over_all_rows(input, weight, target, bias=None, *, ignore_index=-100,
                            label_smoothing=0.0, reduction="mean"):
    """mean divides by N, counting the ignored rows (0, not NaN, when every row is ignored)."""
    rows, keep = _rows(input, weight, target, bias, ignore_index, label_smoothing)
    return rows.mean() if reduction == "mean" else _reduce(rows, keep, reduction)


def flce_chunk_means_averaged(input, weight, target, bias=None, *, ignore_index=-100,
                              label_smoothing=0.0, reduction="mean"):
    """Rows are processed in chunks of 2 and mean returns the average of the chunks' means, which
    weights a short last chunk's rows more than the others."""
    if reduction != "mean":
        rows, keep = _rows(input, weight, target, bias, ignore_index, label_smoothing)
        return _reduce(rows, keep, reduction)
    means = [F.cross_entropy(F.linear(x, weight, bias), t, ignore_index=ignore_index,
                             label_smoothing=label_smoothing)
             for x, t in zip(input.split(2), target.split(2))]
    return torch.stack(means).mean()


def flce_naive_log_sum_exp(input, weight, target, bias=None, *, ignore_index=-100,
                           label_smoothing=0.0, reduction="mean"):
    """log Σ exp(z) without subtracting max z: logits of a few hundred overflow exp to inf."""
    logits = F.linear(input, weight, bias)
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=1, keepdim=True))
    keep = target != ignore_index
    picked = log_probs.gather(1, torch.where(keep, target, 0).unsqueeze(1)).squeeze(1)
    smooth = log_probs.mean(dim=1)
    rows = -((1 - label_smoothing) * picked + label_smoothing * smooth)
    return _reduce(torch.where(keep, rows, torch.zeros_like(rows)), keep, reduction)


def flce_bias_gradient_of_first_row_only(input, weight, target, bias=None, *, ignore_index=-100,
                                         label_smoothing=0.0, reduction="mean"):
    """grad bias is the first row's contribution, not the sum over rows (a missing accumulation).
    The value and the other gradients are right."""
    logits = F.linear(input, weight)
    if bias is not None:
        first = torch.zeros(input.shape[0], 1, dtype=input.dtype)
        first[0] = 1
        logits = logits + bias.detach() + first * (bias - bias.detach())
    return F.cross_entropy(logits, target, ignore_index=ignore_index, label_smoothing=label_smoothing,
                           reduction=reduction)


def flce_weight_detached(input, weight, target, bias=None, *, ignore_index=-100,
                         label_smoothing=0.0, reduction="mean"):
    """The weight is detached: its gradient is silently zero."""
    return F.cross_entropy(F.linear(input, weight.detach(), bias), target, ignore_index=ignore_index,
                           label_smoothing=label_smoothing, reduction=reduction)
