"""cross_entropy: l_n = −Σ_c w_c·y'_c·log_softmax(x_n)_c.

Class-index targets: y' = keep·((1 − ε)·onehot(t_n) + ε/C), keep = [t_n ≠ ignore_index];
mean divides by Σ_n keep·w[t_n]. This is nll_loss(log_softmax) with the
smoothing term s_n = −Σ_c w_c·logp_c weighted by ε/C.
Probability targets (same shape as input): y' = (1 − ε)·y + ε/C; mean
divides by numel / C, never by the weights.
Input (N, C, d1..dk), (N, C) or unbatched (C,); the class axis is dim 1
(dim 0 unbatched). Gradients w.r.t. input, and w.r.t. probability targets.
Reference: ``torch.nn.functional.cross_entropy``; TorchLean
``Spec.crossEntropyLogitsSpec`` and ``Proofs.Autograd.TapeNodes.crossEntropyOneHotLast``
(gradient (softmax·Σ_c target − target)/m).
"""

import sympy as sp

from .core import (
    CLASS_INDEX,
    LOGIT,
    OPEN_PROBABILITY,
    POSITIVE_WEIGHT,
    ClassAxis,
    Convention,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)


def smoothed_target(u: Unit) -> list:
    """y'_c = keep·((1 − ε)·y_c + ε/C)."""
    eps = u.label_smoothing
    return [u.keep * ((1 - eps) * y + eps / u.num_classes) for y in u.target]


def log_softmax_cross_entropy(logits: list, weights: list, targets: list):
    """−Σ_c w_c·y_c·(x_c − log Σ_k exp(x_k)) for logits x, class weights w and targets y."""
    log_sum_exp = sp.log(sp.Add(*[sp.exp(x) for x in logits]))
    return -sp.Add(*[w * y * (x - log_sum_exp) for w, y, x in zip(weights, targets, logits)])


def loss(u: Unit):
    """−Σ_c w_c·y'_c·(x_c − log Σ_k exp(x_k))."""
    return log_softmax_cross_entropy(u.input, u.weight, smoothed_target(u))


def denominator(u: Unit):
    """Index targets: keep·w[t] (Σ over the one-hot row); probability targets: 1."""
    if u.index_target:
        return u.keep * sp.Add(*[w * y for w, y in zip(u.weight, u.target)])
    return sp.Integer(1)


_PROBS = {"target": OPEN_PROBABILITY}
_NO_IGNORE = ("ignore_index",)

IGNORE_INDEX = Option("ignore_index", -100, grid=(-100, 1), in_formula=False,
                      doc="class index whose rows count as 0")
LABEL_SMOOTHING = Option("label_smoothing", 0.0, grid=(0.0, 0.25), interval=(0.0, 1.0),
                         doc="ε mixes the target with the uniform distribution")

SPEC = LossSpec(
    name="cross_entropy",
    formula="l_n = −Σ_c w_c·y'_c·log_softmax(x_n)_c;  y' = keep·((1−ε)·y + ε/C)",
    tensors=(
        TensorArg("input", LOGIT, differentiable=True, doc="logits, class axis dim 1"),
        TensorArg("target", CLASS_INDEX, differentiable=True,
                  doc="class indices (N, d1..dk), or probabilities shaped like input"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True,
                  doc="per-class weight (C,)"),
    ),
    options=(
        IGNORE_INDEX,
        reduction_option(),
        LABEL_SMOOTHING,
    ),
    structure=ClassAxis(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("index (N,C)", {"input": (4, 5), "target": (4,), "weight": (5,)}),
        ShapeCase("index (N,C,d1,d2)", {"input": (2, 3, 2, 2), "target": (2, 2, 2), "weight": (3,)}),
        ShapeCase("index unbatched (C,)", {"input": (5,), "target": (), "weight": (5,)}),
        ShapeCase("probs (N,C)", {"input": (4, 5), "target": (4, 5), "weight": (5,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
        ShapeCase("probs (N,C,d1)", {"input": (2, 3, 3), "target": (2, 3, 3), "weight": (3,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
        ShapeCase("probs unbatched (C,)", {"input": (5,), "target": (5,), "weight": (5,)},
                  domains=_PROBS, skip_options=_NO_IGNORE),
    ),
    conventions=(
        Convention("all-ignored mean", "mean over a batch whose targets are all ignored is NaN; "
                   "its gradient is 0"),
        Convention("ignored entries", "an ignored row contributes exactly 0 to value and gradient"),
        Convention("index-target mean", "mean divides by Σ_n w[t_n] over non-ignored rows"),
        Convention("probability-target mean", "mean divides by numel / C, never by the weights"),
        Convention("smoothing weight", "the smoothing term weights class c by w_c, not w[t_n]"),
        Convention("targets unnormalised", "probability targets need not sum to 1"),
    ),
    aliases={"nnef": "softmax + log + mul + sum_reduce", "liger": "cross_entropy"},
)
