"""huber_loss: l = w·(0.5·d² if |d| < δ, else δ·(|d| − 0.5·δ)), with d = x − t.

This is δ·smooth_l1(β = δ). At |d| = δ the linear branch is taken; δ ≤ 0
raises. mean is over numel, with or without ``weight``: mean(w·l), not
Σ w·l / Σ w as for mse_loss and l1_loss (PyTorch 2.13 really differs here).
``weight`` must have the input's shape. Gradients w.r.t. input, target, weight.
Reference: ``torch.nn.functional.huber_loss`` (Huber, 1964); TorchLean ``Spec.huberSpec``.
"""

import sympy as sp

from .core import (
    POSITIVE_WEIGHT,
    REAL,
    Convention,
    Elementwise,
    Lattice,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)

KINKS = Lattice("half-integers in [-2, 2]", -2.0, 2.0, step=0.5)
"""d = x − t then hits 0 and ±δ exactly for every δ in the grid."""


def loss(u: Unit):
    """w·(0.5·d² where |d| < δ, else δ·(|d| − 0.5·δ)); w = 1 without weight."""
    d = u.input - u.target
    huber = sp.Piecewise((d**2 / 2, sp.Abs(d) < u.delta), (u.delta * (sp.Abs(d) - u.delta / 2), True))
    return u.weight * huber


def denominator(u: Unit):
    """mean is over numel, even with weight= (mean(w·l))."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="huber_loss",
    formula="l = w·(0.5·d² if |d| < δ else δ·(|d| − 0.5·δ)),  d = x − t;  mean over numel",
    tensors=(
        TensorArg("input", REAL, differentiable=True),
        TensorArg("target", REAL, differentiable=True, doc="broadcasts to input"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=True, optional=True,
                  doc="same shape as input"),
    ),
    options=(
        reduction_option(),
        Option("delta", 1.0, grid=(1.0, 0.5, 2.0), interval=(0.0, float("inf")), closed=(False, False),
               doc="threshold between the quadratic and the linear piece; must be > 0"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4), "weight": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,), "weight": (2, 3)}),
        ShapeCase("kinks: half-integer lattice", {"input": (4, 4), "target": (4, 4), "weight": (4, 4)},
                  domains={"input": KINKS, "target": KINKS}),
    ),
    conventions=(
        Convention("linear at the kink", "at |d| = δ the linear branch δ·(|d| − 0.5·δ) is taken", kink=True),
        Convention("weighted mean over numel",
                   "with weight=, mean is mean(w·l) (divides by numel), unlike mse_loss/l1_loss's Σ w·l / Σ w"),
    ),
    aliases={"liger": "huber"},
)
