"""Checks beyond value and gradient: determinism, forward mode (JVP) and double backward (HVP).

Each is judged as a scalar projection against exact truth, with the tolerance
policy of ``tolerance.py``:

* ``twice``: a second and a third call on fresh copies of the same inputs give bit-identical
  outputs and gradients (and the second output equals the first); see ``judge.judge_repeat``.
* ``jvp``: forward mode (``torch.autograd.forward_ad``) with a random tangent ṫ.
  The output tangent J·ṫ is projected on the case's upstream δ and compared,
  by the adjoint identity, with the exact ⟨ṫ, vjp(δ)⟩ of the oracle. The
  magnitude the policy scales by is Σ|ṫ_i|·M_i over the gradient's rounding
  magnitudes M_i, each of which bounds Σ_k |δ_k·∂l_k/∂x_i| (so it also covers the rounding of
  each output tangent element (J·ṫ)_k). Nothing the implementation returned enters it.
* ``hvp``: double backward. g = vjp(δ) is built with ``create_graph=True``, then
  h = ∂⟨g, w⟩/∂x for a random w, and ⟨h, v⟩ = wᵀ·H_δ·v for a random v is compared
  with the central finite difference d/db ⟨w, vjp(x + b·v; δ)⟩ at b = 0 of the
  exact gradient at 50 digits, with two step sizes. Where the two steps
  disagree the loss is not smooth there (a kink), and no HVP claim is made.
  Magnitude: |exact| + Σ_u |c_u|·M_u, with M_u the rounding magnitude of
  the unit's vᵀ∇(wᵀ∇l) as the chain rule expands it (conditioning of the second
  derivative: 1 − tanh² near |tanh| = 1), and the allowance is scaled by the dtype's
  ``second_order`` constant (no HVP claim in float16 and bfloat16, whose
  second-order rounding drowns a projection).

A check that PyTorch's own function cannot do (no forward-mode formula, no
double backward) is ``unsupported``, not failed.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np

from ..spec import LossSpec
from .oracle import WORKING_DIGITS, Reference, gradient_at, second_order_magnitude
from .tolerance import TOLERANCES, allowed_error

EXTRA_CHECKS = ("twice", "jvp", "hvp")
FD_STEPS = (mpmath.mpf(2) ** -64, mpmath.mpf(2) ** -80)
SMOOTH_AGREEMENT = mpmath.mpf(10) ** -18


def random_like(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Uniform magnitudes in [0.5, 1.5) with random signs, shaped like ``values`` (never all ones)."""
    return np.asarray(rng.uniform(0.5, 1.5, size=values.shape) * rng.choice([-1.0, 1.0], size=values.shape))


def _projection(got: np.ndarray, weights: np.ndarray) -> mpmath.mpf:
    """Σ got_k·weights_k, exactly (both hold float64 values)."""
    return mpmath.fsum(mpmath.mpf(float(a)) * mpmath.mpf(float(b))
                       for a, b in zip(got.reshape(-1), weights.reshape(-1)))


def _inner(tangents: dict[str, np.ndarray], grads: dict[str, list]) -> mpmath.mpf:
    """Σ_n ⟨ṫ_n, g_n⟩, exactly."""
    return mpmath.fsum(mpmath.mpf(float(t)) * g for n in tangents for t, g in zip(tangents[n].reshape(-1), grads[n]))


def jvp_claim(reference: Reference, upstream: np.ndarray, tangents: dict[str, np.ndarray], got: np.ndarray,
              dtype: str, size: int) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf]:
    """(exact ⟨δ, J·ṫ⟩ = ⟨ṫ, vjp(δ)⟩, got's ⟨δ, J·ṫ⟩, allowed error); the allowance ignores ``got``.

    The tangents vanish where a domain ends, and elsewhere the reference's gradient is the
    derivative (gradient conventions differ from it only at clamped ends).
    """
    with mpmath.workdps(WORKING_DIGITS):
        exact = _inner(tangents, reference.grads)
        projected = _projection(got, upstream)
        magnitude = mpmath.fsum(abs(mpmath.mpf(float(t))) * b.magnitude for n in tangents
                                for t, b in zip(tangents[n].reshape(-1), reference.grad_bounds[n]))
        underflow = mpmath.fsum(abs(mpmath.mpf(float(t))) * b.underflow for n in tangents
                                for t, b in zip(tangents[n].reshape(-1), reference.grad_bounds[n]))
        return exact, projected, allowed_error(dtype, exact, magnitude, underflow, size)


def hvp_claim(spec: LossSpec, tensors: dict[str, np.ndarray], options: dict[str, Any], upstream: np.ndarray,
              w: dict[str, np.ndarray], v: dict[str, np.ndarray], got: dict[str, np.ndarray], dtype: str,
              size: int) -> tuple[mpmath.mpf, mpmath.mpf, mpmath.mpf] | None:
    """(exact wᵀ·H·v by finite differences, got's ⟨h, v⟩, allowed error); None where not smooth."""
    if not spec.structure.closed_form or not TOLERANCES[dtype].second_order:
        return None  # a recursion has no closed-form gradient to move; half types are not judged
    with mpmath.workdps(WORKING_DIGITS):
        def along(b: mpmath.mpf) -> mpmath.mpf:
            moved = {n: np.asarray(np.frompyfunc(lambda x, d: mpmath.mpf(float(x)) + b * mpmath.mpf(float(d)),
                                                 2, 1)(t, v[n]), dtype=object)
                     if n in v else t for n, t in tensors.items()}
            return _inner(w, gradient_at(spec, moved, options, upstream))

        estimates = []
        for step in FD_STEPS:
            high, low = along(step), along(-step)
            if not (mpmath.isfinite(high) and mpmath.isfinite(low)):
                return None
            estimates.append((high - low) / (2 * step))
        exact = estimates[-1]
        if abs(estimates[0] - estimates[1]) > SMOOTH_AGREEMENT * (abs(exact) + 1):
            return None
        projected = mpmath.fsum(_projection(got[n], v[n]) for n in v)
        magnitude = abs(exact)
        scale = TOLERANCES[dtype].second_order
        allowed = allowed_error(dtype, exact, magnitude, mpmath.mpf(0), size, scale=scale)
        # The allowance is |exact| + the second-order magnitude, whatever was returned. The latter is
        # costly for slices and only ever widens it, so it is derived only when the former does not hold.
        if not abs(projected - exact) <= allowed:
            second = second_order_magnitude(spec, tensors, options, upstream, w, v)
            if not mpmath.isfinite(second):  # a δ of a kink sits exactly at this point: no bound, so no claim
                return None
            magnitude += second
            allowed = allowed_error(dtype, exact, magnitude, mpmath.mpf(0), size, scale=scale)
        return exact, projected, allowed
