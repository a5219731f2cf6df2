"""binary_cross_entropy: l = −w·(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)).

p is a probability in [0, 1] (outside raises); log(1 − p) is evaluated as log1p(−p).
``weight`` broadcasts to the input and is not differentiable. mean is over numel.
PyTorch's backward is not the derivative of the clamped forward:
∂l/∂p = w·(p − y)/max(p·(1 − p), ε) with ε the float literal 1e-12 (9.99999996e-13),
∂l/∂y = −w·logit(p) = w·(log(1 − p) − log p), unclamped (±inf at p = 0, 1).
Reference: ``torch.nn.functional.binary_cross_entropy``; TorchLean
``Spec.binaryCrossEntropySpec`` and ``Spec.binaryCrossEntropyTensorSpec``.
"""

import struct

import sympy as sp

from .core import (
    POSITIVE_WEIGHT,
    PROBABILITY,
    Convention,
    Elementwise,
    LossSpec,
    ShapeCase,
    TensorArg,
    Unit,
    reduction_option,
)
from .functions import clamp_min, log1p

LOG_FLOOR = -100
FLOOR = sp.exp(LOG_FLOOR)  # log p < −100 exactly where p < e^−100
BACKWARD_EPS = sp.Rational(struct.unpack("f", struct.pack("f", 1e-12))[0])  # the kernel's float 1e-12


def _held_inside(p):
    """p held in [e^−100, 1 − e^−100]: p itself wherever no log clamp is active.

    The evaluators compute every subexpression, chosen branch or not, so the logs
    take this instead of p: the branches a clamp discards never meet log 0 or 1/0.
    """
    return -clamp_min(-clamp_min(p, FLOOR), FLOOR - 1)


def clamped_log(p):
    """max(log p, −100)."""
    return sp.Piecewise((LOG_FLOOR, p <= FLOOR), (sp.log(_held_inside(p)), True))


def clamped_log1m(p):
    """max(log(1 − p), −100), evaluated as log1p(−p)."""
    return sp.Piecewise((LOG_FLOOR, 1 - p <= FLOOR), (log1p(-_held_inside(p)), True))


def loss(u: Unit):
    """−w·(y·max(log p, −100) + (1 − y)·max(log1p(−p), −100))."""
    p, y = u.input, u.target
    return -u.weight * (y * clamped_log(p) + (1 - y) * clamped_log1m(p))


def input_gradient(u: Unit):
    """PyTorch's backward: w·(p − y)/max(p·(1 − p), ε), ε = 1e-12 as a float."""
    p, y = u.input, u.target
    return u.weight * (p - y) / clamp_min(p * (1 - p), BACKWARD_EPS)


def target_gradient(u: Unit):
    """PyTorch's backward: −w·logit(p), with no clamp: +inf at p = 0 and −inf at p = 1."""
    p = u.input
    inside = _held_inside(p)
    return u.weight * sp.Piecewise((sp.oo, p <= 0), (-sp.oo, p >= 1), (log1p(-inside) - sp.log(inside), True))


def denominator(u: Unit):
    """mean is over numel."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="binary_cross_entropy",
    formula="l = −w·(y·max(log p, −100) + (1 − y)·max(log(1 − p), −100));  mean over numel",
    tensors=(
        TensorArg("input", PROBABILITY, differentiable=True, doc="probabilities in [0, 1]"),
        TensorArg("target", PROBABILITY, differentiable=True, doc="probabilities, same shape"),
        TensorArg("weight", POSITIVE_WEIGHT, differentiable=False, optional=True,
                  doc="broadcasts to input; PyTorch refuses to differentiate it"),
    ),
    options=(reduction_option(),),
    structure=Elementwise(),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C), per-class weight", {"input": (3, 4), "target": (3, 4), "weight": (4,)}),
        ShapeCase("vector, full weight", {"input": (5,), "target": (5,), "weight": (5,)}),
    ),
    gradient_conventions={"input": input_gradient, "target": target_gradient},
    conventions=(
        Convention("log clamp", "forward: each log is clamped below at −100, so p = 0 or 1 gives a finite loss "
                                "(100·w·y at p = 0, 100·w·(1 − y) at p = 1)"),
        Convention("backward clamp", "∂l/∂p = w·(p − y)/max(p·(1 − p), 1e-12) with the float 1e-12 "
                                     "(9.99999996e-13; rounded again to bfloat16, and to 0 in float16): not the "
                                     "derivative of the clamped forward where p·(1 − p) < 1e-12 or a log is clamped",
                   kink=True),
        Convention("target gradient", "∂l/∂y = −w·logit(p) without the forward's clamp: +inf at p = 0, −inf at p = 1"),
    ),
    aliases={"keras": "binary_crossentropy"},
)
