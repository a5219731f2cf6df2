"""cross_entropy_probs (TorchLean only): L = −mean_r Σ_c y_rc·log(clip(p_rc, ε, 1 − ε)).

Cross-entropy between probability tensors, as TorchLean's spec layer defines
it: each predicted probability is clamped to [ε, 1 − ε] before the log
(p ↦ p if p > ε else ε, then ↦ p if p < 1 − ε else 1 − ε), the target is
any nonnegative weight (not normalised), the sum runs over the class axis and
the mean over the slices orthogonal to it; a lone class vector (C,) is one
slice. The class axis is dim 1 (dim 0 unbatched), as in PyTorch. A clamped
probability is constant, so its gradient is 0 there, also at p = ε and
p = 1 − ε; a one-hot prediction equal to a one-hot target gives −log(1 − ε),
not 0. Gradients w.r.t. both tensors.
Reference: TorchLean ``Spec.crossEntropySpec`` and ``Spec.crossEntropyDerivSpec``
(``NN/Spec/Layers/Loss.lean``), ε = ``Context.defaultEpsilon`` = 1e-6; PyTorch
composition in ``losscheck.conformance.compositions``.
"""

import sympy as sp

from .core import PROBABILITY, Convention, LossSpec, Option, ShapeCase, Slices, TensorArg, Unit


def clip(p, eps):
    """p inside (ε, 1 − ε), else the nearer bound (TorchLean's two-sided clamp, strict comparisons)."""
    return sp.Piecewise((eps, p <= eps), (1 - eps, p >= 1 - eps), (p, True))


def loss(u: Unit):
    """−Σ_c y_c·log(clip(p_c, ε, 1 − ε)) for one slice."""
    return -sp.Add(*[y * sp.log(clip(p, u.eps)) for p, y in zip(u.input, u.target)])


def denominator(u: Unit):
    """mean over the slices orthogonal to the class axis."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="cross_entropy_probs",
    formula="L = −mean_r Σ_c y_rc·log(clip(p_rc, ε, 1−ε));  class axis dim 1 (dim 0 unbatched)",
    tensors=(
        TensorArg("input", PROBABILITY, differentiable=True, doc="predicted probabilities, class axis dim 1"),
        TensorArg("target", PROBABILITY, differentiable=True, doc="target weights, input's shape"),
    ),
    options=(
        # ε = 0.1 clamps about a fifth of the drawn probabilities; 0 and 1 are planted in every tensor.
        Option("eps", 1e-6, grid=(1e-6, 0.1), interval=(0.0, 0.5), closed=(False, False),
               doc="probabilities are clamped to [ε, 1 − ε]"),
    ),
    structure=Slices(sliced=("input", "target"), axis=1),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(N,C)", {"input": (3, 4), "target": (3, 4)}),
        ShapeCase("(N,C,d1)", {"input": (2, 3, 2), "target": (2, 3, 2)}),
        ShapeCase("unbatched (C,)", {"input": (4,), "target": (4,)}),
    ),
    conventions=(
        Convention("probability clamp", "p is clamped to [ε, 1 − ε] before the log (p > ε keeps p, then "
                   "p < 1 − ε keeps p); a clamped probability has gradient 0, also exactly at ε and 1 − ε", kink=True),
        Convention("slice mean", "the sum over classes is divided by the number of slices orthogonal to the "
                   "class axis (1 for a lone class vector), never by the target mass"),
        Convention("targets unnormalised", "target rows need not sum to 1"),
    ),
)
