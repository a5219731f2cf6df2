"""margin_ranking_loss: l = max(0, −y·(x1 − x2) + margin).

y is meant to be ±1 but PyTorch applies the formula to any value (0 gives
max(0, margin)), and so does this spec. The three tensors broadcast, but must
have the same number of dims. At −y·(x1 − x2) + margin = 0 the gradient of
the linear piece is taken (clamp_min passes the gradient at equality). mean
is over numel. Gradients w.r.t. input1, input2 and target.
Reference: ``torch.nn.functional.margin_ranking_loss``.
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
"""x1 − x2 then hits every margin in the grid exactly, so the hinge is met at its kink."""
OTHER_LABELS = Lattice("labels in [-1, 2] by 0.5", -1.0, 2.0, step=0.5)


def loss(u: Unit):
    """max(0, z) with z = −y·(x1 − x2) + margin; the linear piece is taken at z = 0."""
    z = -u.target * (u.input1 - u.input2) + u.margin
    return sp.Piecewise((z, z >= 0), (0, True))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="margin_ranking_loss",
    formula="l = max(0, −y·(x1 − x2) + margin);  mean over numel",
    tensors=(
        TensorArg("input1", REAL, differentiable=True),
        TensorArg("input2", REAL, differentiable=True),
        TensorArg("target", SIGN_LABEL, differentiable=True, doc="±1 (any real value is accepted)"),
    ),
    options=(
        reduction_option(),
        Option("margin", 0.0, grid=(0.0, 0.5, -0.5), interval=(-float("inf"), float("inf")),
               closed=(False, False), doc="the required gap"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("vector", {"input1": (6,), "input2": (6,), "target": (6,)}),
        ShapeCase("broadcast (N,1) (1,M) (N,M)", {"input1": (3, 1), "input2": (1, 4), "target": (3, 4)}),
        ShapeCase("broadcast target (1,M)", {"input1": (2, 3), "input2": (2, 3), "target": (1, 3)}),
        ShapeCase("kinks: half-integer lattice", {"input1": (3, 4), "input2": (3, 4), "target": (3, 4)},
                  domains={"input1": KINKS, "input2": KINKS}),
        ShapeCase("labels other than ±1", {"input1": (3, 4), "input2": (3, 4), "target": (3, 4)},
                  domains={"input1": KINKS, "input2": KINKS, "target": OTHER_LABELS}),
    ),
    conventions=(
        Convention("gradient at the hinge", "at −y·(x1 − x2) + margin = 0 the linear piece's gradient is taken",
                   kink=True),
        Convention("any label", "targets other than ±1 are used as numbers in the formula, not rejected"),
        Convention("same ndim", "input1, input2 and target broadcast but must have the same number of dims"),
    ),
    aliases={"nnef": "margin_ranking_loss"},
)
