"""Deliberately wrong elementwise losses (branch elem). Each must make `losscheck run --impl` exit 1.

Each is a bug class real kernels have shipped; the docstring names it.
"""

import torch
import torch.nn.functional as F

FLAGGED = [  # (loss, implementation, a quantity that must fail)
    ("smooth_l1_loss", "smooth_l1_where_nan_gradient", "grad input"),
    ("smooth_l1_loss", "smooth_l1_ignores_beta", "value"),
    ("huber_loss", "huber_weighted_mean_over_weights", "value"),
    ("huber_loss", "huber_is_unscaled_smooth_l1", "value"),
    ("margin_ranking_loss", "margin_ranking_relu_at_the_hinge", "grad input1"),
    ("margin_ranking_loss", "margin_ranking_subtracts_margin", "value"),
    ("hinge_embedding_loss", "hinge_embedding_binary_labels", "value"),
    ("hinge_embedding_loss", "hinge_embedding_relu_at_the_hinge", "grad input"),
    ("soft_margin_loss", "soft_margin_mean_over_rows", "value"),
    ("soft_margin_loss", "soft_margin_exp_in_half", "value"),
    ("l1_loss", "l1_gradient_one_at_zero", "grad input"),
    ("l1_loss", "l1_weight_mean_over_numel", "value"),
    ("l1_loss", "l1_complex_conjugated_gradient", "grad input"),
    ("log_cosh_loss", "log_cosh_naive", "value"),
    ("log_cosh_loss", "log_cosh_softplus_threshold", "grad input"),
    ("hinge_loss", "hinge_relu_at_the_kink", "grad input"),
    ("hinge_loss", "hinge_without_margin", "value"),
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


def huber_weighted_mean_over_weights(input, target, reduction="mean", delta=1.0, weight=None):
    """The weighted mean divides by Σ w (mse_loss's rule) where PyTorch's huber_loss divides by numel."""
    if weight is None or reduction != "mean":
        return F.huber_loss(input, target, reduction=reduction, delta=delta, weight=weight)
    return F.huber_loss(input, target, reduction="sum", delta=delta, weight=weight) / weight.sum()


def huber_is_unscaled_smooth_l1(input, target, reduction="mean", delta=1.0, weight=None):
    """huber computed as smooth_l1(β = δ), forgetting the factor δ (equal only at δ = 1)."""
    loss = F.smooth_l1_loss(input, target, reduction="none", beta=delta)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def margin_ranking_relu_at_the_hinge(input1, input2, target, margin=0.0, reduction="mean"):
    """max(0, z) through relu, whose gradient at z = 0 is 0; PyTorch's clamp_min passes it (slope 1)."""
    return _reduce(torch.relu(-target * (input1 - input2) + margin), reduction)


def margin_ranking_subtracts_margin(input1, input2, target, margin=0.0, reduction="mean"):
    """The margin enters with the wrong sign: max(0, −y·(x1 − x2) − margin)."""
    return F.margin_ranking_loss(input1, input2, target, margin=-margin, reduction=reduction)


def hinge_embedding_binary_labels(input, target, margin=1.0, reduction="mean"):
    """Labels read as binary (1 or not 1): a label other than ±1 loses its x term."""
    loss = torch.where(target == 1, input, (margin - input).clamp_min(0))
    return _reduce(loss, reduction)


def hinge_embedding_relu_at_the_hinge(input, target, margin=1.0, reduction="mean"):
    """max(0, margin − x) through relu, whose gradient at x = margin is 0 instead of −1."""
    loss = torch.where(target != 1, torch.relu(margin - input), 0.0) + torch.where(target != -1, input, 0.0)
    return _reduce(loss, reduction)


def soft_margin_mean_over_rows(input, target, reduction="mean"):
    """mean divides by the batch size input.size(0) instead of numel."""
    if reduction != "mean" or input.dim() == 0:
        return F.soft_margin_loss(input, target, reduction=reduction)
    return F.soft_margin_loss(input, target, reduction="sum") / input.shape[0]


def soft_margin_exp_in_half(input, target, reduction="mean"):
    """exp(−y·x) taken in float16 (a mixed-precision shortcut): overflows past 11.09 in every dtype,
    and rounds to 11 bits; PyTorch's own overflow starts at log(max) of the input's dtype."""
    z = torch.exp((-target * input).half()).to(input.dtype)
    return _reduce(torch.log1p(z), reduction)


def l1_gradient_one_at_zero(input, target, reduction="mean", weight=None):
    """|d| as where(d >= 0, d, −d): the gradient at d = 0 is 1, not sign(0) = 0."""
    d = input - target
    loss = torch.where(d >= 0, d, -d)
    if weight is None:
        return _reduce(loss, reduction)
    loss = loss * weight
    return loss.sum() / weight.sum() if reduction == "mean" else _reduce(loss, reduction)


def l1_weight_mean_over_numel(input, target, reduction="mean", weight=None):
    """Weighted mean divided by numel (huber_loss's rule) instead of Σ w."""
    if weight is None or reduction != "mean":
        return F.l1_loss(input, target, reduction=reduction, weight=weight)
    return (weight * (input - target).abs()).mean()


def log_cosh_naive(input, target, reduction="mean"):
    """log(cosh(d)) as written: cosh overflows past |d| ≈ 89 in float32 (710 in float64), giving inf."""
    return _reduce(torch.log(torch.cosh(input - target)), reduction)


def log_cosh_softplus_threshold(input, target, reduction="mean"):
    """d + softplus(−2d) − log 2 with F.softplus's default threshold 20: for −2d > 20 softplus returns
    its argument, dropping log1p(exp(2d)); the gradient there is exactly −1 instead of tanh(d)."""
    d = input - target
    return _reduce(d + F.softplus(-2 * d) - 0.6931471805599453, reduction)


def hinge_relu_at_the_kink(input, target, reduction="mean"):
    """max(0, 1 − y·x) through relu: gradient 0 at y·x = 1 instead of −y."""
    return _reduce(torch.relu(1 - target * input), reduction)


def hinge_without_margin(input, target, reduction="mean"):
    """The margin 1 is dropped: max(0, −y·x) (the perceptron loss)."""
    return _reduce(torch.clamp_min(-target * input, 0), reduction)


class _ConjugateGrad(torch.autograd.Function):
    """Identity forward; the backward conjugates the gradient (the Wirtinger ∂/∂z instead of ∂/∂z̄)."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad.conj()


def l1_complex_conjugated_gradient(input, target, reduction="mean", weight=None):
    """A complex kernel returning conj(d)/|d|: right for real inputs, mirrored imaginary part for complex."""
    return F.l1_loss(_ConjugateGrad.apply(input), target, reduction=reduction, weight=weight)
