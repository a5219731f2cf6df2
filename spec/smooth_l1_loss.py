"""smooth_l1_loss: l = 0.5·d²/β if |d| < β, else |d| − 0.5·β, with d = x − t.

At |d| = β the linear branch is taken (both pieces and their slopes agree
there). β = 0 is exactly l1: |d|, gradient sign(d) with sign(0) = 0. β < 0
raises. mean is over numel. Gradients w.r.t. input and target.
Reference: ``torch.nn.functional.smooth_l1_loss`` (Girshick, Fast R-CNN, 2015).
"""

import sympy as sp

from .core import (
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
"""d = x − t then hits 0 and ±β exactly for every β in the grid."""


def loss(u: Unit):
    """0.5·d²/β where |d| < β, else |d| − 0.5·β; the gradient of |d| is sign(d), sign(0) = 0."""
    d = u.input - u.target
    return sp.Piecewise((d**2 / (2 * u.beta), sp.Abs(d) < u.beta), (sp.Abs(d) - u.beta / 2, True))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="smooth_l1_loss",
    formula="l = 0.5·d²/β if |d| < β else |d| − 0.5·β,  d = x − t;  mean over numel",
    tensors=(
        TensorArg("input", REAL, differentiable=True),
        TensorArg("target", REAL, differentiable=True, doc="broadcasts to input"),
    ),
    options=(
        reduction_option(),
        Option("beta", 1.0, grid=(1.0, 0.0, 0.5, 2.0), interval=(0.0, float("inf")), closed=(True, False),
               doc="threshold between the quadratic and the linear piece; 0 gives l1"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,)}),
        ShapeCase("scalar", {"input": (), "target": ()}),
        ShapeCase("kinks: half-integer lattice", {"input": (4, 4), "target": (4, 4)},
                  domains={"input": KINKS, "target": KINKS}),
    ),
    conventions=(
        Convention("linear at the kink", "at |d| = β the linear branch |d| − 0.5·β is taken", kink=True),
        Convention("sign(0) = 0", "with β = 0 the gradient at d = 0 is 0", kink=True),
        Convention("beta = 0 is l1", "β = 0 computes |d|, value and gradient"),
    ),
    aliases={"nnef": "smooth_l1_loss"},
)
