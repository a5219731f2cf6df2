"""mse_loss: l = w·(x − t)²; mean = Σ w·l / Σ w, which is Σ l / numel without weight.

Shapes: input, target and weight all share one shape (PyTorch refuses to
broadcast ``weight``). Gradients w.r.t. input, target and weight.
Reference: ``torch.nn.functional.mse_loss``; TorchLean ``Spec.mseSpec`` and the
proved tape node ``Proofs.Autograd.TapeNodes.mseLoss`` (gradient 2(ŷ − t)/N).
"""

from .core import (
    POSITIVE_WEIGHT,
    REAL,
    Convention,
    Elementwise,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)


def loss(u: Unit):
    """w·(x − t)², with w = 1 when no weight is given."""
    return u.weight * (u.input - u.target) ** 2


def denominator(u: Unit):
    """Each element counts with its weight in the mean: Σ w·l / Σ w."""
    return u.weight


SPEC = LossSpec(
    name="mse_loss",
    formula="l = w·(x − t)²;  mean = Σ w·l / Σ w",
    tensors=(
        TensorArg("input", REAL, differentiable=True),
        TensorArg("target", REAL, differentiable=True),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=True, optional=True,
                  doc="same shape as input"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (4, 5), "target": (4, 5), "weight": (4, 5)}),
        ShapeCase("odd vector", {"input": (7,), "target": (7,), "weight": (7,)}),
        ShapeCase("scalar", {"input": (), "target": (), "weight": ()}),
    ),
    conventions=(
        Convention("weighted mean", "with weight=, mean divides by Σ w, not by numel"),
    ),
    aliases={"nnef": "l2_loss", "liger": "mse"},
)
