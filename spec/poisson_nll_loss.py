"""poisson_nll_loss: l = exp(x) − y·x, or x − y·log(x + eps) without ``log_input``.

``full`` adds the Stirling approximation of log(y!), y·log y − y + ½·log(2π·y),
only where y > 1 (0 for y ≤ 1, y = 1 included, so the term jumps at y = 1).
mean is over numel. Gradients w.r.t. input and target.
Reference: ``torch.nn.functional.poisson_nll_loss``; TorchLean ``Spec.poissonSpec``.
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

RATE = Interval("rate ≥ 0", 0.0, 5.0, edges=(0.0,))
COUNT = Interval("count ≥ 0", 0.0, 6.0, edges=(0.0, 1.0))


def stirling(y):
    """y·log y − y + ½·log(2π·y) where y > 1, else 0 (PyTorch masks y ≤ 1).

    Inside, y is floored at 1 so that no evaluator meets log 0 or 1/0 in the masked branch.
    """
    floored = sp.Piecewise((1, y <= 1), (y, True))
    term = floored * sp.log(floored) - floored + sp.log(2 * sp.pi * floored) / 2
    return sp.Piecewise((0, y <= 1), (term, True))


def loss(u: Unit):
    """exp(x) − y·x (log_input) or x − y·log(x + eps), plus the Stirling term if full."""
    x, y = u.input, u.target
    value = sp.exp(x) - y * x if u.log_input else x - y * sp.log(x + u.eps)
    return value + stirling(y) if u.full else value


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="poisson_nll_loss",
    formula="l = exp(x) − y·x  |  x − y·log(x + eps);  + [y > 1]·(y·log y − y + ½·log(2πy)) if full",
    tensors=(
        TensorArg("input", REAL, differentiable=True,
                  doc="log-rate, or the rate itself (≥ 0) without log_input",
                  domain_when=(("log_input", False, RATE),)),
        TensorArg("target", COUNT, differentiable=True, doc="Poisson counts (any real ≥ 0), same shape"),
    ),
    options=(
        reduction_option(),
        Option("log_input", True, grid=(True, False), choices=(True, False),
               doc="the input is the log of the rate"),
        Option("full", False, grid=(False, True), choices=(False, True),
               doc="add the Stirling term for y > 1"),
        Option("eps", 1e-8, grid=(1e-8, 0.5), interval=(0.0, math.inf), closed=(False, False),
               doc="added to the rate inside the log without log_input"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("odd vector", {"input": (5,), "target": (5,)}),
    ),
    conventions=(
        Convention("Stirling mask", "the Stirling term is 0 for y ≤ 1, y = 1 included; its gradient there is 0"),
        Convention("eps placement", "without log_input, eps is added to the rate inside the log: log(x + eps)"),
    ),
    aliases={"keras": "poisson", "tensorflow": "log_poisson_loss"},
)
