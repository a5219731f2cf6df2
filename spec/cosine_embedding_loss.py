"""cosine_embedding_loss: 1 − cos if y = 1, max(0, cos − margin) if y = −1, else 0.

cos = Σ x1·x2 / sqrt((Σ x1² + ε)·(Σ x2² + ε)) over the last dim, so a zero
vector gives cos = 0. ε is PyTorch's constant 1e-12 held as a float32,
exactly 9.999999960041972e-13 (its gradients at a zero vector show the
difference from 1e-12 at 2e-9 relative). Inputs (N, D) or unbatched (D,), target (N,)
or () with one value per row; a target other than ±1 gives 0. mean is over
rows. PyTorch differentiates input1 and input2; the target only selects.
Reference: ``torch.nn.functional.cosine_embedding_loss``.
"""

import struct

import sympy as sp

from .core import (
    REAL,
    Choices,
    Convention,
    LossSpec,
    Option,
    ShapeCase,
    Slices,
    TensorArg,
    Unit,
    planted_rows,
    reduction_option,
)

EPSILON = sp.Rational(struct.unpack("f", struct.pack("f", 1e-12))[0])  # float32(1e-12), exactly


SIMILARITY_LABELS = Choices("similarity label: 1 and −1, and other values (0, 2) that make the loss 0",
                            values=(1.0, -1.0, 1.0, -1.0, 0.0, 2.0), planted=(1.0, -1.0, 0.0))


def cosine(u: Unit):
    """Σ x1·x2 / sqrt((Σ x1² + ε)·(Σ x2² + ε))."""
    dot = sp.Add(*[a * b for a, b in zip(u.input1, u.input2)])
    squares1 = sp.Add(*[a**2 for a in u.input1]) + EPSILON
    squares2 = sp.Add(*[b**2 for b in u.input2]) + EPSILON
    return dot / sp.sqrt(squares1 * squares2)


def loss(u: Unit):
    """1 − cos (y = 1); cos − margin where cos − margin ≥ 0, else 0 (y = −1); 0 otherwise."""
    cos = cosine(u)
    y = u.target
    return sp.Piecewise(
        (1 - cos, sp.Eq(y, 1)),
        (cos - u.margin, sp.And(sp.Eq(y, -1), cos - u.margin >= 0)),
        (0, True),
    )


def denominator(u: Unit):
    """mean is over rows."""
    return sp.Integer(1)


# One row of each batched input is the zero vector (cos = 0; at margin 0 it sits on the kink).
_VECTORS = planted_rows(REAL, "real, one row the zero vector", (0.0,))

SPEC = LossSpec(
    name="cosine_embedding_loss",
    formula="l = 1 − cos (y = 1), max(0, cos − margin) (y = −1), 0 otherwise;  "
            "cos = Σx1·x2 / sqrt((Σx1² + 1e-12)·(Σx2² + 1e-12))",
    tensors=(
        TensorArg("input1", _VECTORS, differentiable=True, doc="vectors (N, D) or (D,)"),
        TensorArg("input2", _VECTORS, differentiable=True, doc="vectors, input1's shape"),
        TensorArg("target", SIMILARITY_LABELS, differentiable=False,
                  doc="1 (similar), −1 (dissimilar), other values (ignored); (N,) or ()"),
    ),
    options=(
        Option("margin", 0.0, grid=(0.0, 0.5, -0.5), interval=(-1.0, 1.0),
               doc="dissimilar pairs are penalised above this cosine"),
        reduction_option(),
    ),
    structure=Slices(sliced=("input1", "input2"), axis=-1, per_unit=("target",)),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,D)", {"input1": (4, 3), "input2": (4, 3), "target": (4,)}),
        ShapeCase("unbatched (D,)", {"input1": (3,), "input2": (3,), "target": ()}),
    ),
    conventions=(
        Convention("norm epsilon", "float32(1e-12) = 9.999999960041972e-13 is added to each squared norm "
                   "before the product and sqrt, so a zero vector gives cos = 0"),
        Convention("hinge kink", "at cos = margin (y = −1) the hinge is active: value 0, gradient that of cos "
                   "(clamp_min passes the gradient where cos − margin ≥ 0)", kink=True),
        Convention("other labels", "a target other than 1 or −1 gives loss 0 and no gradient"),
        Convention("row mean", "mean divides by the number of rows N"),
    ),
)
