"""binary_cross_entropy_with_logits: l = w·(−pw·y·log σ(x) − (1 − y)·log σ(−x)).

log σ(x) = −log1p(exp(−x)), evaluated stably. ``weight`` broadcasts to the
input; ``pos_weight`` broadcasts against the target from the trailing dim.
mean is over numel; there is no clamp. Gradients w.r.t. input and target.
Reference: ``torch.nn.functional.binary_cross_entropy_with_logits``; TorchLean
``Proofs.Autograd.TapeNodes.bceWithLogits`` (gradient (σ(x) − t)/N).
"""

import sympy as sp

from .core import (
    LOGIT,
    POSITIVE_WEIGHT,
    PROBABILITY,
    Convention,
    Elementwise,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import log_sigmoid


def loss(u: Unit):
    """w·(−pw·y·log σ(x) − (1 − y)·log σ(−x))."""
    x, y = u.input, u.target
    return u.weight * (-u.pos_weight * y * log_sigmoid(x) - (1 - y) * log_sigmoid(-x))


def pytorch_form(u: Unit):
    """PyTorch's kernel: (1 − y)·x − lw·log σ(x), lw = (pw − 1)·y + 1, times w.

    Equal to ``loss`` since log σ(−x) = log σ(x) − x; it cancels where y ∈ {0, 1}
    and the logit is large, so its rounding error is part of the tolerance.
    """
    x, y = u.input, u.target
    log_weight = (u.pos_weight - 1) * y + 1
    return u.weight * ((1 - y) * x - log_weight * log_sigmoid(x))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="binary_cross_entropy_with_logits",
    formula="l = w·(−pw·y·log σ(x) − (1 − y)·log σ(−x));  mean over numel",
    tensors=(
        TensorArg("input", LOGIT, differentiable=True, doc="logits"),
        TensorArg("target", PROBABILITY, differentiable=True, doc="probabilities, same shape"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True,
                  doc="broadcasts to input"),
        TensorArg("pos_weight", POSITIVE_WEIGHT, differentiable=False, optional=True,
                  doc="broadcasts against target from the trailing dim"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C), per-class pos_weight",
                  {"input": (4, 5), "target": (4, 5), "weight": (4, 5), "pos_weight": (5,)}),
        ShapeCase("(N,C,L), broadcast weight",
                  {"input": (2, 3, 4), "target": (2, 3, 4), "weight": (3, 1), "pos_weight": (1,)}),
        ShapeCase("(N,C), full pos_weight",
                  {"input": (3, 2), "target": (3, 2), "weight": (2,), "pos_weight": (3, 2)}),
    ),
    computational_forms=(pytorch_form,),
    conventions=(
        Convention("stable log-sigmoid", "log σ(x) is computed without overflow for large |x|"),
        Convention("no clamp", "unlike binary_cross_entropy there is no −100 log clamp"),
        Convention("pos_weight broadcast", "pos_weight broadcasts against the target's trailing dims"),
    ),
    aliases={"liger": "bce_with_logits"},
)
