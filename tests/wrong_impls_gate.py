"""Deliberately wrong kernels of the kinds the gate's probes exist for: each is right on the option grid's
small contiguous tensors and wrong only on a layout, a size, a regime, a repeated call or a derivative
mode. Each must be flagged by the default ``losscheck run --impl``."""

import itertools

import torch
import torch.nn.functional as F


def _contiguous_strides(shape):
    strides, step = [], 1
    for size in reversed(shape):
        strides.append(step)
        step *= max(size, 1)
    return tuple(reversed(strides))


def mse_ignores_strides(input, target, reduction="mean", weight=None):
    """Reads the input's storage as if it were contiguous (a raw-pointer kernel): wrong on transposed and
    sliced views."""
    raw = torch.as_strided(input, input.shape, _contiguous_strides(input.shape), input.storage_offset())
    return F.mse_loss(raw, target, reduction=reduction, weight=weight)


def l1_accumulates_in_input_dtype(input, target, reduction="mean", weight=None):
    """Sums element by element in the input's dtype: float16 stalls once the total passes 2048."""
    if reduction == "none" or weight is not None:
        return F.l1_loss(input, target, reduction=reduction, weight=weight)
    terms = (input - target).abs().reshape(-1)
    total = torch.zeros((), dtype=input.dtype)
    for chunk in terms.split(64):  # a 64-wide vector accumulator, each partial sum rounded to the dtype
        total = total + chunk.sum(dtype=input.dtype)
    return total / terms.numel() if reduction == "mean" else total


_calls = itertools.count()


def smooth_l1_nondeterministic(input, target, reduction="mean", beta=1.0):
    """Every other call perturbs the result by one ULP (an atomics-order race, made reproducible)."""
    out = F.smooth_l1_loss(input, target, reduction=reduction, beta=beta)
    if next(_calls) % 2:
        return torch.nextafter(out, torch.full_like(out, float("inf")))
    return out


class _HuberWithWrongTangent(torch.autograd.Function):
    """Forward and backward right; the forward-mode rule forgets the target's tangent."""

    @staticmethod
    def forward(input, target, delta):
        return F.huber_loss(input, target, reduction="none", delta=delta)

    @staticmethod
    def setup_context(ctx, inputs, output):
        input, target, delta = inputs
        ctx.save_for_forward(input, target)
        ctx.save_for_backward(input, target)
        ctx.delta = delta

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        d = (input - target).clamp(-ctx.delta, ctx.delta)
        return grad * d, -grad * d, None

    @staticmethod
    def jvp(ctx, input_tangent, target_tangent, _delta_tangent):
        input, target = ctx.saved_tensors
        return (input - target).clamp(-ctx.delta, ctx.delta) * input_tangent


def huber_jvp_drops_target_tangent(input, target, reduction="mean", delta=1.0, weight=None):
    if weight is not None:
        return F.huber_loss(input, target, reduction=reduction, delta=delta, weight=weight)
    input, target = torch.broadcast_tensors(input, target)
    loss = _HuberWithWrongTangent.apply(input, target, delta)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


class _SquaredError(torch.autograd.Function):
    """(x − t)² with a hand-written backward computed outside autograd: first order right, second order 0."""

    @staticmethod
    def forward(ctx, input, target):
        ctx.save_for_backward(input, target)
        return (input - target) ** 2

    @staticmethod
    def backward(ctx, grad):
        input, target = ctx.saved_tensors
        with torch.no_grad():
            d = 2 * (input - target) * grad
        return d, -d


def mse_backward_not_differentiable(input, target, reduction="mean", weight=None):
    if weight is not None:
        return F.mse_loss(input, target, reduction=reduction, weight=weight)
    input, target = torch.broadcast_tensors(input, target)
    loss = _SquaredError.apply(input, target)
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


def cross_entropy_empty_batch_is_zero(input, target, weight=None, ignore_index=-100, reduction="mean",
                                      label_smoothing=0.0):
    """Returns 0 for an empty batch, where the mean of nothing is NaN."""
    if input.numel() == 0 and reduction == "mean":
        return (input.sum() * 0).to(input.dtype)
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def nll_squeezes_the_batch(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """``squeeze()``s its inputs, so a batch of one row is read as an unbatched input."""
    return F.nll_loss(input.squeeze(), target.squeeze(), weight=weight, ignore_index=ignore_index,
                      reduction=reduction)


def poisson_flushes_tiny_inputs(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """Flushes inputs below 1e-3 in magnitude to zero (a flush-to-zero fast path)."""
    flushed = torch.where(input.abs() < 1e-3, torch.zeros_like(input), input)
    return F.poisson_nll_loss(flushed, target, log_input=log_input, full=full, eps=eps, reduction=reduction)


def kl_div_clamps_log_input(input, target, reduction="mean", log_target=False):
    """Clamps the log-probabilities at −100 (as BCE does): wrong for the large log-probabilities of the
    mixed regime."""
    return F.kl_div(input.clamp(min=-100), target, reduction=reduction, log_target=log_target)


def bce_weight_abs(input, target, weight=None, reduction="mean"):
    """Takes |weight| (assuming weights are non-negative): wrong for the signed weights PyTorch accepts."""
    return F.binary_cross_entropy(input, target, weight=None if weight is None else weight.abs(),
                                  reduction=reduction)


FLAGGED = [
    ("mse_loss", "mse_ignores_strides", "value"),
    ("l1_loss", "l1_accumulates_in_input_dtype", "value"),
    ("smooth_l1_loss", "smooth_l1_nondeterministic", "twice"),
    ("huber_loss", "huber_jvp_drops_target_tangent", "jvp"),
    ("mse_loss", "mse_backward_not_differentiable", "hvp"),
    ("cross_entropy", "cross_entropy_empty_batch_is_zero", "value"),
    ("nll_loss", "nll_squeezes_the_batch", "value"),
    ("poisson_nll_loss", "poisson_flushes_tiny_inputs", "value"),
    ("kl_div", "kl_div_clamps_log_input", "value"),
    ("binary_cross_entropy", "bce_weight_abs", "value"),
]
