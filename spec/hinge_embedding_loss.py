"""hinge_embedding_loss: l = (y ≠ 1)·max(0, margin − x) + (y ≠ −1)·x.

For y = −1 this is max(0, margin − x), for y = 1 it is x (negative for a
negative input), and a label other than ±1 gets both terms. At x = margin
the gradient of the linear piece (−1) is taken (clamp_min passes the
gradient at equality). mean is over numel. Gradient w.r.t. input only (the
labels enter through comparisons).
Reference: ``torch.nn.functional.hinge_embedding_loss``.
"""

import sympy as sp

from .core import (
    REAL,
    SIGN_LABEL,
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
"""The input then equals every margin in the grid somewhere, so the hinge is met at its kink."""
OTHER_LABELS = Lattice("labels in [-1, 2] by 0.5", -1.0, 2.0, step=0.5)


def loss(u: Unit):
    """(y ≠ 1)·max(0, margin − x) + (y ≠ −1)·x; the linear piece is taken at x = margin."""
    x, y = u.input, u.target
    hinge = sp.Piecewise((u.margin - x, u.margin - x >= 0), (0, True))
    return sp.Piecewise((0, sp.Eq(y, 1)), (hinge, True)) + sp.Piecewise((0, sp.Eq(y, -1)), (x, True))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="hinge_embedding_loss",
    formula="l = (y ≠ 1)·max(0, margin − x) + (y ≠ −1)·x;  mean over numel",
    tensors=(
        TensorArg("input", REAL, differentiable=True, doc="distances (any real)"),
        TensorArg("target", SIGN_LABEL, differentiable=False, doc="±1; other values get both terms"),
    ),
    options=(
        reduction_option(),
        Option("margin", 1.0, grid=(1.0, 0.5, -0.5), interval=(-float("inf"), float("inf")),
               closed=(False, False), doc="the hinge point for y = −1"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,)}),
        ShapeCase("kinks: half-integer lattice", {"input": (3, 4), "target": (3, 4)},
                  domains={"input": KINKS}),
        ShapeCase("labels other than ±1", {"input": (3, 4), "target": (3, 4)},
                  domains={"input": KINKS, "target": OTHER_LABELS}),
    ),
    conventions=(
        Convention("gradient at the hinge", "at x = margin the linear piece's gradient −1 is taken", kink=True),
        Convention("labels other than ±1", "a label that is neither 1 nor −1 gets max(0, margin − x) + x"),
        Convention("y = 1 is the input", "for y = 1 the loss is x itself, negative for a negative input"),
    ),
)
