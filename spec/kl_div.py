"""kl_div: l = xlogy(y, y) − y·x, or exp(y)·(y − x) with ``log_target``.

The input is log-probabilities. mean = Σ l / numel; batchmean = Σ l /
input.size(0) (no division for a 0-dim input); sum; none. A zero target
gives 0 (xlogy(0, 0) = 0). Gradients w.r.t. input and target.
Reference: ``torch.nn.functional.kl_div``; TorchLean
``Proofs.Autograd.TapeNodes.klDivLast`` (batchmean gradient −t/m w.r.t. the log-probs).
"""

import sympy as sp

from .core import (
    LOG_PROBABILITY,
    PROBABILITY,
    Convention,
    Elementwise,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import xlogy


def loss(u: Unit):
    """xlogy(y, y) − y·x; with log_target, exp(y)·(y − x)."""
    x, y = u.input, u.target
    if u.log_target:
        return sp.exp(y) * (y - x)
    return xlogy(y, y) - y * x


def denominator(u: Unit):
    """mean is over numel (batchmean is handled as a reduction)."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="kl_div",
    formula="l = xlogy(y, y) − y·x  |  exp(y)·(y − x) if log_target;  batchmean = Σ l / N",
    tensors=(
        TensorArg("input", LOG_PROBABILITY, differentiable=True, doc="log-probabilities"),
        TensorArg("target", PROBABILITY, differentiable=True,
                  doc="probabilities, or log-probabilities with log_target",
                  domain_when=(("log_target", True, LOG_PROBABILITY),)),
    ),
    options=(
        reduction_option("batchmean"),
        Option("log_target", False, grid=(False, True), choices=(False, True),
               doc="the target is given as log-probabilities"),
    ),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (4, 5), "target": (4, 5)}),
        ShapeCase("(N,C,L)", {"input": (3, 2, 2), "target": (3, 2, 2)}),
        ShapeCase("0-dim", {"input": (), "target": ()}),
    ),
    conventions=(
        Convention("xlogy", "a zero target contributes 0: xlogy(0, 0) = 0"),
        Convention("batchmean", "batchmean divides by input.size(0); a 0-dim input is not divided"),
    ),
    aliases={"liger": "kl_div"},
)
