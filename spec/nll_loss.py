"""nll_loss: l_n = −keep_n·w[t_n]·x[n, t_n];  mean = Σ l_n / Σ_n keep_n·w[t_n].

keep_n = [t_n ≠ ignore_index]. Input (N, C, d1..dk), (N, C) or unbatched
(C,) of log-probabilities, class axis dim 1. Gradient w.r.t. input only.
Reference: ``torch.nn.functional.nll_loss``; TorchLean
``Proofs.Autograd.TapeNodes.nllOneHotLast`` (gradient −target/m).
"""

import sympy as sp

from .core import (
    CLASS_INDEX,
    LOG_PROBABILITY,
    POSITIVE_WEIGHT,
    ClassAxis,
    Convention,
    LossSpec,
    Option,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)


def loss(u: Unit):
    """−keep·Σ_c w_c·onehot_c·x_c, i.e. −keep·w[t]·x[t]."""
    return -u.keep * sp.Add(*[w * y * x for w, y, x in zip(u.weight, u.target, u.input)])


def denominator(u: Unit):
    """keep·w[t]."""
    return u.keep * sp.Add(*[w * y for w, y in zip(u.weight, u.target)])


SPEC = LossSpec(
    name="nll_loss",
    formula="l_n = −keep_n·w[t_n]·x[n, t_n];  mean = Σ l_n / Σ keep_n·w[t_n]",
    tensors=(
        TensorArg("input", LOG_PROBABILITY, differentiable=True, doc="log-probabilities"),
        TensorArg("target", CLASS_INDEX, differentiable=False, doc="class indices"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True,
                  doc="per-class weight (C,)"),
    ),
    options=(
        Option("ignore_index", -100, grid=(-100, 1), in_formula=False,
               doc="class index whose rows count as 0"),
        reduction_option(),
    ),
    structure=ClassAxis(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (4, 5), "target": (4,), "weight": (5,)}),
        ShapeCase("(N,C,d1,d2)", {"input": (2, 3, 2, 2), "target": (2, 2, 2), "weight": (3,)}),
        ShapeCase("unbatched (C,)", {"input": (5,), "target": (), "weight": (5,)}),
    ),
    conventions=(
        Convention("all-ignored mean", "mean over a batch whose targets are all ignored is NaN; "
                   "its gradient is 0"),
        Convention("ignored entries", "an ignored entry is exactly 0, even where the input is NaN"),
        Convention("weighted mean", "mean divides by Σ_n w[t_n] over non-ignored entries"),
    ),
    aliases={"nnef": "mul + sum_reduce", "liger": "nll"},
)
