"""gaussian_nll_loss: l = ½·(log v + (x − y)²/v), v = max(var, eps), plus ½·log(2π) if ``full``.

``var`` has the input's shape, the input's shape without its last dim (a
trailing dim of 1 is added), or the input's shape with one dim of size 1
(plain broadcasting); a 1-D input also takes a 0-dim var. var < 0 raises.
The clamp is applied without grad: PyTorch's gradient w.r.t. var is that of
l w.r.t. v, passed through the clamp as if it were the identity.
mean is over numel. Gradients w.r.t. input, target and var.
Reference: ``torch.nn.functional.gaussian_nll_loss``.
"""

import math

import sympy as sp

from .core import (
    REAL,
    Convention,
    Elementwise,
    Interval,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import clamp_min

VARIANCE = Interval("variance ≥ 0", 0.0, 3.0, edges=(0.0,))


def variance(u: Unit):
    """v = max(var, eps)."""
    return clamp_min(u.var, u.eps)


def loss(u: Unit):
    """½·(log v + (x − y)²/v), plus ½·log(2π) if full."""
    v = variance(u)
    value = (sp.log(v) + (u.input - u.target) ** 2 / v) / 2
    return value + sp.log(2 * sp.pi) / 2 if u.full else value


def var_gradient(u: Unit):
    """PyTorch's backward: ∂l/∂v = ½·(1/v − (x − y)²/v²) at v = max(var, eps), even where var < eps."""
    v = variance(u)
    return (1 / v - (u.input - u.target) ** 2 / v**2) / 2


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="gaussian_nll_loss",
    formula="l = ½·(log v + (x − y)²/v) [+ ½·log 2π],  v = max(var, eps);  mean over numel",
    tensors=(
        TensorArg("input", REAL, differentiable=True, doc="the predicted mean"),
        TensorArg("target", REAL, differentiable=True, doc="same shape as input"),
        TensorArg("var", VARIANCE, differentiable=True,
                  doc="input's shape, without its last dim, or with one dim of size 1"),
    ),
    options=(
        reduction_option(),
        Option("full", False, grid=(False, True), choices=(False, True), doc="add ½·log(2π)"),
        Option("eps", 1e-6, grid=(1e-6, 0.25), interval=(0.0, math.inf), closed=(False, False),
               doc="var is clamped below at eps"),
    ),
    structure=Elementwise(align_last=("var",)),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("same shape", {"input": (3, 4), "target": (3, 4), "var": (3, 4)}),
        ShapeCase("var without the last dim", {"input": (3, 4), "target": (3, 4), "var": (3,)}),
        ShapeCase("var with a dim of size 1", {"input": (2, 3, 2), "target": (2, 3, 2), "var": (2, 1, 2)}),
        ShapeCase("vector, 0-dim var", {"input": (4,), "target": (4,), "var": ()}),
    ),
    gradient_conventions={"var": var_gradient},
    conventions=(
        Convention("variance clamp", "v = max(var, eps) is applied under no_grad to a clone of var", kink=True),
        Convention("pass-through gradient", "∂l/∂var = ½·(1/v − (x − y)²/v²) evaluated at v, also where "
                                            "var < eps (the derivative of the clamped loss is 0 there)"),
        Convention("var shapes", "a var one dim short of the input gets a trailing dim of 1"),
    ),
)
