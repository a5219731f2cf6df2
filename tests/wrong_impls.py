"""Deliberately wrong loss implementations. Each must make `losscheck run --impl` exit 1.

Each is a bug class real kernels have shipped; the docstring names it.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("mse_loss", "mse_half_gradient", "grad input"),
    ("mse_loss", "mse_sum_is_mean", "value"),
    ("mse_loss", "mse_weight_mean_over_numel", "value"),
    ("mse_loss", "returns_float32", "value"),
    ("mse_loss", "modifies_input", "inputs unchanged"),
    ("cross_entropy", "cross_entropy_log_softmax_overflow", "value"),
    ("cross_entropy", "cross_entropy_drops_smoothing", "value"),
    ("cross_entropy", "cross_entropy_detached_target", "grad target"),
    ("nll_loss", "nll_mean_over_rows", "value"),
    ("binary_cross_entropy_with_logits", "bce_detached_target", "grad target"),
    ("binary_cross_entropy_with_logits", "bce_naive_log_sigmoid", "value"),
    ("kl_div", "kl_div_batchmean_is_mean", "value"),
    ("kl_div", "kl_div_detached_target", "grad target"),
]


class _ScaleGrad(torch.autograd.Function):
    """Identity forward; the backward multiplies the gradient by ``scale``."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


def mse_half_gradient(input, target, reduction="mean", weight=None):
    """Wrong gradient scale: d/dx of (x − t)² taken as (x − t), not 2(x − t)."""
    return F.mse_loss(_ScaleGrad.apply(input, 0.5), target, reduction=reduction, weight=weight)


def mse_sum_is_mean(input, target, reduction="mean", weight=None):
    """A `sum` that returns the mean."""
    return F.mse_loss(input, target, reduction="mean" if reduction == "sum" else reduction, weight=weight)


def mse_weight_mean_over_numel(input, target, reduction="mean", weight=None):
    """Weighted mean divided by numel instead of Σ w."""
    if weight is None or reduction != "mean":
        return F.mse_loss(input, target, reduction=reduction, weight=weight)
    return (weight * (input - target) ** 2).mean()


def cross_entropy_log_softmax_overflow(input, target, weight=None, ignore_index=-100, reduction="mean",
                                       label_smoothing=0.0):
    """log(softmax) computed naively as log(exp(x) / Σ exp(x)): overflows on large logits.

    cross_entropy(log_softmax(z)) equals cross_entropy(z), so the (wrong) log-probs are passed
    on as logits: every option keeps its meaning and only the overflow is added.
    """
    dim = 0 if input.dim() == 1 else 1
    exps = input.exp()
    log_probs = (exps / exps.sum(dim, keepdim=True)).log()
    return F.cross_entropy(log_probs, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def cross_entropy_drops_smoothing(input, target, weight=None, ignore_index=-100, reduction="mean",
                                          label_smoothing=0.0):
    """Label smoothing ignored for class-index targets (a dropped option)."""
    if target.dtype == torch.int64:
        label_smoothing = 0.0
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def cross_entropy_detached_target(input, target, weight=None, ignore_index=-100, reduction="mean",
                                  label_smoothing=0.0):
    """Probability targets detached: no gradient w.r.t. the target."""
    return F.cross_entropy(input, target.detach(), weight=weight, ignore_index=ignore_index,
                           reduction=reduction, label_smoothing=label_smoothing)


def nll_mean_over_rows(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Weighted mean divided by the row count instead of Σ w[t]."""
    if reduction != "mean":
        return F.nll_loss(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)
    per_row = F.nll_loss(input, target, weight=weight, ignore_index=ignore_index, reduction="none")
    return per_row.sum() / max((target != ignore_index).sum().item(), 1)


def bce_detached_target(input, target, weight=None, reduction="mean", pos_weight=None):
    """The target is detached: its gradient is silently zero."""
    return F.binary_cross_entropy_with_logits(input, target.detach(), weight=weight, reduction=reduction,
                                              pos_weight=pos_weight)


def bce_naive_log_sigmoid(input, target, weight=None, reduction="mean", pos_weight=None):
    """log σ(x) as log(1 / (1 + exp(−x))): inf/NaN for large |x|."""
    log_sig = torch.log(1 / (1 + torch.exp(-input)))
    log_sig_neg = torch.log(1 / (1 + torch.exp(input)))
    pw = 1 if pos_weight is None else pos_weight
    loss = -(pw * target * log_sig + (1 - target) * log_sig_neg)
    if weight is not None:
        loss = loss * weight
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def kl_div_batchmean_is_mean(input, target, reduction="mean", log_target=False):
    """batchmean computed as mean (divides by numel, not the batch size)."""
    return F.kl_div(input, target, reduction="mean" if reduction == "batchmean" else reduction,
                    log_target=log_target)


def kl_div_detached_target(input, target, reduction="mean", log_target=False):
    """The target is detached: its gradient is silently zero."""
    return F.kl_div(input, target.detach(), reduction=reduction, log_target=log_target)


def crashes(input, target, **kwargs):
    """Raises on every call."""
    raise RuntimeError("kernel launch failed")


def hangs(input, target, **kwargs):
    """Never returns."""
    import time

    while True:
        time.sleep(0.05)


def returns_float32(input, target, reduction="mean", weight=None):
    """Right value, wrong output dtype (always float32)."""
    return F.mse_loss(input.float(), target.float(), reduction=reduction,
                      weight=None if weight is None else weight.float())


def modifies_input(input, target, reduction="mean", weight=None):
    """Right value, but writes into its target argument."""
    out = F.mse_loss(input, target, reduction=reduction, weight=weight)
    with torch.no_grad():
        target.add_(1)
    return out


def no_half_kernel(input, target, reduction="mean", weight=None):
    """Claims float16 is not implemented, although PyTorch supports it."""
    if input.dtype == torch.float16:
        raise RuntimeError('"mse_half" not implemented for \'Half\'')
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


def exits(input, target, **kwargs):
    """Calls sys.exit(0) instead of returning: must not end the run as a pass."""
    import sys

    sys.exit(0)
