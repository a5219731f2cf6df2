"""l1_loss: l = w·|x − t|; mean = Σ w·l / Σ w, which is Σ l / numel without weight.

The gradient of |d| is sign(d), with sign(0) = 0. ``weight`` must have the
input's shape; the target broadcasts. Gradients w.r.t. input, target, weight.
Complex input and target give a real loss |d| = sqrt(re² + im²); the
gradient w.r.t. d is ∂l/∂re + i·∂l/∂im = d/|d| (0 at d = 0, PyTorch's sgn).
Reference: ``torch.nn.functional.l1_loss``; TorchLean ``Spec.maeSpec``.
"""

from .core import (
    POSITIVE_WEIGHT,
    REAL,
    Convention,
    Elementwise,
    Lattice,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import modulus

KINKS = Lattice("half-integers in [-2, 2]", -2.0, 2.0, step=0.5)
"""d = x − t then hits 0 exactly, where the gradient is sign(0) = 0."""
COARSE = Lattice("{-0.5, 0, 0.5}", -0.5, 0.5, step=0.5)
"""For complex d, both parts vanish together often enough (1 element in 9) to exercise sgn(0) = 0."""


def loss(u: Unit):
    """w·|x − t|, with w = 1 when no weight is given."""
    return u.weight * modulus(u.input - u.target)


def denominator(u: Unit):
    """Each element counts with its weight in the mean: Σ w·l / Σ w."""
    return u.weight


SPEC = LossSpec(
    name="l1_loss",
    formula="l = w·|x − t|;  mean = Σ w·l / Σ w",
    tensors=(
        TensorArg("input", REAL, differentiable=True),
        TensorArg("target", REAL, differentiable=True, doc="broadcasts to input"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=True, optional=True, doc="same shape as input"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("matrix", {"input": (3, 4), "target": (3, 4), "weight": (3, 4)}),
        ShapeCase("broadcast target", {"input": (2, 3), "target": (3,), "weight": (2, 3)}),
        ShapeCase("kinks: half-integer lattice", {"input": (4, 4), "target": (4, 4), "weight": (4, 4)},
                  domains={"input": KINKS, "target": KINKS}),
        ShapeCase("complex input and target", {"input": (2, 3), "target": (2, 3), "weight": (2, 3)},
                  complex_=("input", "target")),
        ShapeCase("complex kinks: coarse lattice", {"input": (3, 3), "target": (3, 3), "weight": (3, 3)},
                  domains={"input": COARSE, "target": COARSE}, complex_=("input", "target")),
    ),
    conventions=(
        Convention("sign(0) = 0", "the gradient of |d| at d = 0 is 0", kink=True),
        Convention("weighted mean", "with weight=, mean divides by Σ w, not by numel"),
        Convention("complex gradient", "for complex x, t the gradient is ∂l/∂re + i·∂l/∂im = d/|d|, and 0 at d = 0",
                   kink=True),
    ),
    aliases={"nnef": "l1_loss", "liger": "l1"},
)
