"""hinge_loss: l = max(0, 1 − y·x), the SVM hinge; mean over numel.

No ``torch.nn.functional`` counterpart: TorchLean's ``Spec.hingeSpec``. The
PyTorch reference is ``clamp_min(1 − y·x, 0)`` (``conformance/compositions.py``),
whose gradient at y·x = 1 is that of the linear piece (−y). y is a ±1 label
and is not differentiated. Gradient w.r.t. input: −y where y·x ≤ 1, else 0.
"""

import sympy as sp

from .core import (
    REAL,
    SIGN_LABEL,
    Convention,
    Elementwise,
    Lattice,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)

KINKS = Lattice("half-integers in [-2, 2]", -2.0, 2.0, step=0.5)
"""y·x then equals 1 exactly somewhere, the hinge's kink."""


def loss(u: Unit):
    """max(0, z) with z = 1 − y·x; the linear piece is taken at z = 0."""
    z = 1 - u.target * u.input
    return sp.Piecewise((z, z >= 0), (0, True))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="hinge_loss",
    formula="l = max(0, 1 − y·x);  mean over numel",
    tensors=(
        TensorArg("input", REAL, differentiable=True, doc="scores"),
        TensorArg("target", SIGN_LABEL, differentiable=False, doc="±1 labels, broadcast to input"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,)}),
        ShapeCase("kinks: half-integer lattice", {"input": (3, 4), "target": (3, 4)}, domains={"input": KINKS}),
    ),
    conventions=(
        Convention("gradient at the hinge", "at y·x = 1 the linear piece's gradient −y is taken (clamp_min)",
                   kink=True),
    ),
    aliases={"liger": "hinge", "sklearn": "hinge_loss"},
)
