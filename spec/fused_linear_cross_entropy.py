"""fused_linear_cross_entropy: cross_entropy of the logits of a linear layer.

    z_n = W·x_n + b,   l_n = −Σ_v y'_v·log_softmax(z_n)_v,   y' = keep·((1 − ε)·onehot(t_n) + ε/V)

with keep = [t_n ≠ ignore_index]; mean divides by Σ_n keep (the rows not
ignored; there is no class weight), NaN when every row is ignored. This is
exactly ``F.cross_entropy(F.linear(input, weight, bias), target, ...)``,
the computation kernel libraries fuse so that the (N, V) logits are never
materialised.

Signature (Liger-Kernel's ``LigerFusedLinearCrossEntropyFunction`` order):
``fused_linear_cross_entropy(input (N, H), weight (V, H), target (N,) int,
bias (V,) = None, *, ignore_index=-100, label_smoothing=0.0, reduction='mean')``.
``weight`` is laid out as ``nn.Linear``'s (out_features, in_features), so
z = input @ weight.T + bias. Gradients w.r.t. input, weight and bias; the
weight and bias gradients sum over the rows.
Reference: ``torch.nn.functional.linear`` then ``torch.nn.functional.cross_entropy``;
Liger-Kernel ``fused_linear_cross_entropy``.
"""

import sympy as sp

from .core import (
    CLASS_INDEX,
    REAL,
    Convention,
    Domain,
    LossSpec,
    ShapeCase,
    Slices,
    TensorArg,
    Unit,
    reduction_option,
)
from .cross_entropy import IGNORE_INDEX, LABEL_SMOOTHING, log_softmax_cross_entropy, smoothed_target

# Features of ±100 make logits of several hundred: past exp's overflow in float32 (88) and float16 (11),
# so a kernel without a stable log-sum-exp is caught, while per-row losses stay far below float16's max.
FEATURE = Domain("feature", regimes=("typical", "large"), large_scale=100.0)


def linear_logits(features: list, weight: list, bias: list) -> list:
    """z_v = Σ_h W[v, h]·x_h + b_v for V = len(bias) classes, W read row-major from its flat V·H values."""
    width = len(features)
    rows = [weight[v * width:(v + 1) * width] for v in range(len(bias))]
    return [sp.Add(*[w * x for w, x in zip(row, features)]) + b for row, b in zip(rows, bias)]


def loss(u: Unit):
    """−Σ_v y'_v·(z_v − log Σ_k exp(z_k))."""
    return log_softmax_cross_entropy(linear_logits(u.input, u.weight, u.bias), [1] * u.num_classes,
                                     smoothed_target(u))


def denominator(u: Unit):
    """keep: each row not ignored counts once."""
    return u.keep


SPEC = LossSpec(
    name="fused_linear_cross_entropy",
    formula="l_n = −Σ_v y'_v·log_softmax(W·x_n + b)_v;  y' = keep·((1−ε)·onehot(t_n) + ε/V)",
    tensors=(
        TensorArg("input", FEATURE, differentiable=True, doc="features (N, H)"),
        TensorArg("weight", REAL, differentiable=True, doc="linear weight (V, H), as nn.Linear holds it"),
        TensorArg("target", CLASS_INDEX, differentiable=False, doc="class indices (N,) in [0, V)"),
        TensorArg("bias", REAL, differentiable=True, optional=True, absent=0, doc="linear bias (V,)"),
    ),
    options=(
        IGNORE_INDEX,
        reduction_option(),
        LABEL_SMOOTHING,
    ),
    structure=Slices(sliced=("input",), axis=1, index_target="target", per_class=("bias",),
                     shared=("weight",), classes=("weight", 0)),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,H) V=4", {"input": (3, 3), "weight": (4, 3), "target": (3,), "bias": (4,)}),
        # the one target is the planted index 1: ignore_index=1 ignores the whole batch
        ShapeCase("one row (1,H) V=4", {"input": (1, 3), "weight": (4, 3), "target": (1,), "bias": (4,)}),
    ),
    conventions=(
        Convention("all-ignored mean", "mean over a batch whose targets are all ignored is NaN; "
                   "its gradient is 0"),
        Convention("ignored entries", "an ignored row contributes exactly 0 to value and to every gradient, "
                   "the weight's and the bias's included"),
        Convention("mean", "mean divides by the number of rows not ignored"),
        Convention("smoothing", "label smoothing as cross_entropy's with class indices: "
                   "(1 − ε)·NLL + (ε/V)·Σ_v −log_softmax_v, 0 on ignored rows"),
    ),
    aliases={"liger": "fused_linear_cross_entropy"},
)
