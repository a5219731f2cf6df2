"""soft_margin_loss: l = log(1 + exp(−y·x)).

y is a ±1 label (PyTorch does not differentiate it). mean is over numel.
The oracle evaluates log1p(exp(−y·x)) exactly; PyTorch evaluates it naively,
so exp(−y·x) overflows once −y·x exceeds log of the dtype's largest value
(a recorded known deviation, see ``conformance/ledgers/pytorch.json``).
Gradient w.r.t. input: −y·σ(−y·x).
Reference: ``torch.nn.functional.soft_margin_loss``.
"""

import sympy as sp

from .core import (
    LOGIT,
    SIGN_LABEL,
    Convention,
    Elementwise,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import log1p


def loss(u: Unit):
    """log(1 + exp(−y·x)), i.e. softplus(−y·x)."""
    return log1p(sp.exp(-u.target * u.input))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="soft_margin_loss",
    formula="l = log(1 + exp(−y·x));  mean over numel",
    tensors=(
        TensorArg("input", LOGIT, differentiable=True, doc="scores"),
        TensorArg("target", SIGN_LABEL, differentiable=False, doc="±1 labels, same shape"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("vector", {"input": (5,), "target": (5,)}),
        ShapeCase("scalar", {"input": (), "target": ()}),
    ),
    conventions=(
        Convention("naive evaluation", "PyTorch computes log(1 + exp(−y·x)) as written: exp overflows for "
                   "−y·x above log(max) of the dtype, giving inf (value) and NaN (gradient)"),
    ),
    aliases={"nnef": "soft_margin_loss"},
)
