"""log_cosh_loss: l = log cosh(x − t); mean over numel.

No ``torch.nn.functional`` counterpart: TorchLean's ``Spec.logCoshSpec``
(mean of log cosh of the residual). The oracle evaluates log cosh exactly;
the PyTorch reference is a stable composition of torch ops
(``conformance/compositions.py``). Gradient tanh(x − t) w.r.t. input and
−tanh(x − t) w.r.t. target.
"""

import sympy as sp

from .core import (
    LOGIT,
    REAL,
    Convention,
    Elementwise,
    Interval,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)

MODERATE = Interval("reals in [-30, 30]", -30.0, 30.0)
"""Between the typical (|d| ≲ 8) and large (|d| ≥ 100) regimes: where exp(−2|d|) is small but not negligible."""


def loss(u: Unit):
    """log cosh(x − t)."""
    return sp.log(sp.cosh(u.input - u.target))


def stable_form(u: Unit):
    """|d| + log(1 + exp(−2|d|)) − log 2: log cosh d without forming cosh d (no overflow)."""
    d = sp.Abs(u.input - u.target)
    return d + sp.log(1 + sp.exp(-2 * d)) - sp.log(2)


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="log_cosh_loss",
    formula="l = log cosh(x − t);  mean over numel",
    tensors=(
        TensorArg("input", LOGIT, differentiable=True, doc="predictions; the large regime reaches |x| = 1e4"),
        TensorArg("target", REAL, differentiable=True, doc="broadcasts to input"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    computational_forms=(stable_form,),
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,)}),
        ShapeCase("scalar", {"input": (), "target": ()}),
        ShapeCase("moderate residuals, |x| ≤ 30", {"input": (4, 5), "target": (4, 5)},
                  domains={"input": MODERATE}),
    ),
    conventions=(
        Convention("no overflow", "log cosh(d) is finite for every finite d (≈ |d| − log 2 for large |d|); "
                   "a kernel that forms cosh(d) first overflows past |d| ≈ 89 in float32"),
    ),
    aliases={"tensorflow": "log_cosh"},
)
