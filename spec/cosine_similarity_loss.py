"""cosine_similarity_loss (TorchLean only): L = 1 − Σ p·t / (max_ε(‖p‖)·max_ε(‖t‖)).

The whole tensors are one vector each: ‖p‖ = sqrt(Σ p²) over every element,
and max_ε(n) = n if n > ε else ε (the norm is replaced by ε, not ε added), so
the loss is a scalar and there is no reduction. Where a norm is clamped its
derivative is 0: on that side only the dot product varies. Gradients w.r.t.
both tensors (TorchLean states the one w.r.t. the prediction).
Reference: TorchLean ``Spec.cosineSimilaritySpec`` and ``Spec.cosineSimilarityDerivSpec``
(``NN/Spec/Layers/Loss.lean``), ε = ``Context.defaultEpsilon`` = 1e-6; PyTorch
composition in ``losscheck.conformance.compositions``.
"""

import sympy as sp

from .core import REAL, Convention, LossSpec, Option, ShapeCase, Slices, TensorArg, Unit


def clamped_norm(values: list, eps):
    """sqrt(Σ v²) if it exceeds ε, else ε (TorchLean's ``if n > ε then n else ε``)."""
    norm = sp.sqrt(sp.Add(*[v**2 for v in values]))
    return sp.Piecewise((norm, norm > eps), (eps, True))


def loss(u: Unit):
    """1 − Σ p·t / (max_ε‖p‖·max_ε‖t‖)."""
    dot = sp.Add(*[p * t for p, t in zip(u.input, u.target)])
    return 1 - dot / (clamped_norm(u.input, u.eps) * clamped_norm(u.target, u.eps))


def denominator(u: Unit):
    """One unit, no reduction."""
    return sp.Integer(1)


SPEC = LossSpec(
    name="cosine_similarity_loss",
    formula="L = 1 − Σp·t / (max_ε(‖p‖)·max_ε(‖t‖)), norms over the whole tensors, max_ε(n) = n if n > ε else ε",
    tensors=(
        TensorArg("input", REAL, differentiable=True, doc="prediction, any shape"),
        TensorArg("target", REAL, differentiable=True, doc="target, input's shape"),
    ),
    options=(
        # eps = 3 clamps the norm of many typical draws (‖·‖ ≈ 2·sqrt(numel)), so both branches are checked.
        Option("eps", 1e-6, grid=(1e-6, 3.0), interval=(0.0, float("inf")), closed=(False, False),
               doc="lower clamp of each norm"),
    ),
    structure=Slices(sliced=("input", "target"), axis=None),
    loss=loss,
    denominator=denominator,
    shape_cases=(
        ShapeCase("(2,3)", {"input": (2, 3), "target": (2, 3)}),
        ShapeCase("(3,)", {"input": (3,), "target": (3,)}),
        ShapeCase("(2,)", {"input": (2,), "target": (2,)}),
    ),
    conventions=(
        Convention("whole-tensor cosine", "one cosine over all elements, not per row; the result is a scalar"),
        Convention("norm clamp", "each norm is replaced by ε when it is ≤ ε (strict n > ε keeps it); the clamped "
                   "norm is constant, so its gradient is 0 there, also at n = ε", kink=True),
    ),
)
