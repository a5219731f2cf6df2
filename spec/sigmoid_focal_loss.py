"""sigmoid_focal_loss: l = α_t·CE(x, t)·(1 − p_t)^γ, p = σ(x), p_t = p·t + (1 − p)·(1 − t).

The focal loss of RetinaNet (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, eq. 5),
as torchvision (``torchvision.ops.sigmoid_focal_loss``) and fvcore (``fvcore.nn.sigmoid_focal_loss``)
write it: CE is binary cross-entropy with logits, −t·log σ(x) − (1 − t)·log σ(−x);
α_t = α·t + (1 − α)·(1 − t) weights it where α ≥ 0, and α < 0 turns the weighting off.
1 − p_t = t·σ(−x) + (1 − t)·σ(x), written without the cancellation of 1 − p_t.
mean is over numel. Gradients w.r.t. input and target. A default run checks torchvision's function
(``reference``); ``--impl sigmoid_focal_loss=fvcore.nn:sigmoid_focal_loss`` checks fvcore's.
"""

from dataclasses import dataclass

import sympy as sp

from .core import (
    PROBABILITY,
    Convention,
    Domain,
    Elementwise,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
)
from .functions import log_sigmoid


@dataclass(frozen=True)
class Logits(Domain):
    """Real logits, without the ``mixed`` probe's planted 3e4: past |x| ≈ 110, 1 − σ(x) < 10⁻⁴⁸ and the kernels'
    1 − p_t, which the tolerance evaluates at 50 digits, cancels to exactly 0."""

    def supports(self, regime: str) -> bool:
        return regime != "mixed" and super().supports(regime)


LOGITS = Logits("logits")


def _weighted(u: Unit, focal: sp.Expr) -> sp.Expr:
    """α_t·focal where α ≥ 0, else focal."""
    alpha_t = u.alpha * u.target + (1 - u.alpha) * (1 - u.target)
    return sp.Piecewise((alpha_t * focal, u.alpha >= 0), (focal, True))


def loss(u: Unit):
    """α_t·CE·(1 − p_t)^γ."""
    x, t = u.input, u.target
    cross_entropy = -t * log_sigmoid(x) - (1 - t) * log_sigmoid(-x)
    one_minus_p_t = t * sp.exp(log_sigmoid(-x)) + (1 - t) * sp.exp(log_sigmoid(x))
    return _weighted(u, cross_entropy * one_minus_p_t**u.gamma)


def kernel_form(u: Unit):
    """What torchvision and fvcore compute: p = σ(x), CE as PyTorch's BCE-with-logits kernel, then 1 − p_t
    as written (it cancels where p_t is near 1, so its rounding error is part of the tolerance)."""
    x, t = u.input, u.target
    p = sp.exp(log_sigmoid(x))
    cross_entropy = (1 - t) * x - log_sigmoid(x)
    p_t = p * t + (1 - p) * (1 - t)
    return _weighted(u, cross_entropy * (1 - p_t) ** u.gamma)


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


_REDUCTIONS = ("none", "mean", "sum")

SPEC = LossSpec(
    name="sigmoid_focal_loss",
    formula="l = α_t·CE(x, t)·(1 − p_t)^γ,  p_t = σ(x)·t + σ(−x)·(1 − t);  α < 0: α_t = 1;  mean over numel",
    tensors=(
        TensorArg("input", LOGITS, differentiable=True, doc="logits"),
        TensorArg("target", PROBABILITY, differentiable=True, doc="labels in [0, 1] (0 or 1 for hard labels)"),
    ),
    options=(
        Option("alpha", 0.25, grid=(0.25, -1.0), interval=(-1.0, 1.0),
               doc="weight of the positive class; below 0: no weighting (torchvision's default 0.25, fvcore's -1)"),
        Option("gamma", 2.0, grid=(2.0, 1.0), interval=(0.0, 5.0), doc="focusing exponent; 0 gives weighted CE"),
        Option("reduction", "none", grid=_REDUCTIONS, choices=_REDUCTIONS, in_formula=False,
               doc="how units are combined (torchvision's and fvcore's default: none)"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    computational_forms=(kernel_form,),
    shape_cases=(
        ShapeCase("anchors × classes", {"input": (4, 5), "target": (4, 5)}),
        ShapeCase("vector", {"input": (6,), "target": (6,)}),
    ),
    conventions=(
        Convention("α < 0 disables weighting", "α_t is applied only where α ≥ 0 (fvcore's default α = −1)"),
        Convention("defaults differ", "torchvision: alpha=0.25, gamma=2, reduction='none'; fvcore: alpha=-1, "
                   "gamma=2, reduction='none'"),
    ),
    aliases={"torchvision": "torchvision.ops.sigmoid_focal_loss", "fvcore": "fvcore.nn.sigmoid_focal_loss"},
    reference="torchvision.ops:sigmoid_focal_loss",
)
