"""multi_margin_loss: l_n = Σ_{i ≠ y_n} w[y_n]·max(0, margin − x[y_n] + x[i])^p / C.

Input (N, C) or unbatched (C,), target (N,) or () of class indices, ``weight``
per class (C,), p ∈ {1, 2}. The term i = y_n is left out of the sum (it is
not merely zero: it would be max(0, margin)^p). The weight multiplies after
the power. mean is over the rows N. Gradients w.r.t. input only.
Reference: ``torch.nn.functional.multi_margin_loss`` (Crammer–Singer style
multi-class hinge; Weston & Watkins sum over the wrong classes).
"""

import sympy as sp

from .core import (
    CLASS_INDEX,
    POSITIVE_WEIGHT,
    REAL,
    ClassAxis,
    Convention,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    planted_rows,
    reduction_option,
)


def hinge(z, p: int):
    """max(0, z)^p, active only where z > 0 (PyTorch's forward and backward test z > 0)."""
    return sp.Piecewise((z**p, z > 0), (0, True))


def loss(u: Unit):
    """w[y]·Σ_i (1 − t_i)·hinge(margin − x[y] + x_i)^p / C, t the one-hot target row."""
    x_target = sp.Add(*[t * x for t, x in zip(u.target, u.input)])
    w_target = sp.Add(*[t * w for t, w in zip(u.target, u.weight)])
    terms = [(1 - t) * hinge(u.margin - x_target + x, u.p) for t, x in zip(u.target, u.input)]
    return w_target * sp.Add(*terms) / u.num_classes


def denominator(u: Unit):
    """mean is over rows, unweighted."""
    return sp.Integer(1)


# One row of every input is a ladder of steps 0.5, so x[y] − x[i] equals the margin
# (0.5, 1 or 1.5) exactly for some i: the hinge sits on its kink.
# Hinge losses have no overflow to find at large scores, so only typical values are drawn.
_INPUT = planted_rows(REAL, "real, one row a ladder of step 0.5", (0.0, 0.5, 1.0, 1.5))

SPEC = LossSpec(
    name="multi_margin_loss",
    formula="l_n = Σ_{i≠y} w[y]·max(0, margin − x[y] + x[i])^p / C;  mean over rows",
    tensors=(
        TensorArg("input", _INPUT, differentiable=True, doc="scores (N, C) or (C,)"),
        TensorArg("target", CLASS_INDEX, differentiable=False, doc="class indices (N,) or ()"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True, doc="per-class weight (C,)"),
    ),
    options=(
        Option("p", 1, grid=(1, 2), choices=(1, 2), doc="power of the hinge"),
        Option("margin", 1.0, grid=(1.0, 0.5), interval=(-float("inf"), float("inf")), closed=(False, False),
               doc="the margin the target score must win by"),
        reduction_option(),
    ),
    structure=ClassAxis(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (3, 3), "target": (3,), "weight": (3,)}),
        ShapeCase("unbatched (C,)", {"input": (3,), "target": (), "weight": (3,)}),
    ),
    conventions=(
        Convention("target class excluded", "the sum runs over i ≠ y; the i = y term is absent, not max(0, margin)"),
        Convention("hinge kink", "at margin − x[y] + x[i] = 0 the hinge is inactive: value 0 and gradient 0 "
                   "(forward and backward test z > 0), also for p = 1", kink=True),
        Convention("weight after power", "w[y] multiplies max(0, ·)^p"),
        Convention("class average", "each row's sum is divided by C"),
        Convention("row mean", "mean divides by the number of rows N, never by the weights"),
    ),
    aliases={"nnef": "multi-class hinge (no single fragment)"},
)
