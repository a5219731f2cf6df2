"""multilabel_soft_margin_loss: l_n = −(1/C)·Σ_c w_c·(y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c)).

One unit per row along the last dim of input (N, C) or unbatched (C,); the
target has the input's shape, ``weight`` is per class (C,). mean and sum are
over the rows (N), never over numel. log σ is evaluated stably. PyTorch
differentiates input and target (the loss is linear in y: ∂l/∂y_c = −w_c·x_c/C).
Reference: ``torch.nn.functional.multilabel_soft_margin_loss`` (binary
cross-entropy with logits per class, averaged over the classes of a row).
"""

import sympy as sp

from .core import (
    LOGIT,
    POSITIVE_WEIGHT,
    PROBABILITY,
    Convention,
    LossSpec,
    ShapeCase,
    Slices,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import log_sigmoid


def loss(u: Unit):
    """−(1/C)·Σ_c w_c·(y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c))."""
    terms = [w * (y * log_sigmoid(x) + (1 - y) * log_sigmoid(-x)) for x, y, w in zip(u.input, u.target, u.weight)]
    return -sp.Add(*terms) / u.num_classes


def denominator(u: Unit):
    """mean is over rows."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="multilabel_soft_margin_loss",
    formula="l_n = −(1/C)·Σ_c w_c·(y_c·log σ(x_c) + (1 − y_c)·log σ(−x_c));  mean over rows",
    tensors=(
        TensorArg("input", LOGIT, differentiable=True, doc="logits (N, C) or (C,)"),
        TensorArg("target", PROBABILITY, differentiable=True, doc="per-class targets in [0, 1], input's shape"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True, doc="per-class weight (C,)"),
    ),
    options=(reduction_option(),),
    structure=Slices(sliced=("input", "target"), axis=-1, per_class=("weight",)),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (3, 4), "target": (3, 4), "weight": (4,)}),
        ShapeCase("unbatched (C,)", {"input": (4,), "target": (4,), "weight": (4,)}),
    ),
    conventions=(
        Convention("class average", "each row's sum over classes is divided by C, also when weighted"),
        Convention("row mean", "mean divides by the number of rows N, not by numel"),
        Convention("last-dim classes", "the class axis is the input's last dim"),
        Convention("stable log-sigmoid", "log σ(±x) is computed without overflow for large |x|"),
    ),
    aliases={"nnef": "sigmoid + log + mul + sum_reduce (per row) / C"},
)
