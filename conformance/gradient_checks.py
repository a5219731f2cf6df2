"""Independent confirmations of the symbolic gradients, at high precision.

Two checks on one case, both against the VJP the oracle assembles from
``sympy.diff`` (⟨ṫ, vjp(x; δ)⟩ for a random direction ṫ):

* central finite differences: d/dh ⟨δ, L(x + h·ṫ)⟩ at h = 0 by ``mpmath.diff``;
* the adjoint identity (TorchLean's ``correct_inner``): ⟨jvp(x; ṫ), δ⟩ from
  the forward-mode expressions equals ⟨ṫ, vjp(x; δ)⟩.

A third check covers a spec's gradient conventions (what PyTorch's backward
computes instead of the derivative): at every unit, the convention with its
clamps removed equals the derivative of the loss with its clamps removed, so
a convention can only depart from the math where a clamp is active.

Values on a domain edge (a probability of exactly 0 or 1), where only
one-sided derivatives exist, and the domain's other planted edge values
(kinks such as a target of exactly 1) are first moved away. The
differentiated tensors are then jittered by a relative 1e-7, because planted
values put some cases exactly on a kink (a hinge at its margin, a zero
vector), where a central difference averages the two one-sided slopes; the
kink conventions themselves are checked against PyTorch, not here.

Where the spec states a backward convention (``Reference.math_grads``), the
finite differences check the math's gradient, not the convention. A
``Sequences`` spec (a recursion) has no forward-mode expressions, so the
adjoint identity does not apply to it; ``tests/test_ctc.py`` checks its
gradient against the unrolled SymPy expression instead.
"""

from __future__ import annotations

import mpmath
import numpy as np

from ..derivations.units import is_complex, real_view
from ..spec.core import LossSpec
from .cases import Case
from .oracle import WORKING_DIGITS, exact_reference, prepare, projected_jvp, projected_loss

AGREEMENT = mpmath.mpf(10) ** -25


KINK_JITTER = 1e-7


def _interior(spec: LossSpec, case: Case, tensors: dict[str, np.ndarray],
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Move values on a finite end of their domain a random fraction inside, other planted edges up;
    jitter differentiated ones."""
    moved = {}
    for name, values in tensors.items():
        if values.dtype.kind == "f":
            domain = case.shape_case.domains.get(name, spec.tensor(name).domain_for(case.options))
            lo, hi = domain.lo, domain.hi
            width = hi - lo if np.isfinite(hi - lo) else 2.0
            step = width * rng.uniform(0.25, 0.75, size=values.shape)
            for edge in domain.edges:
                if lo < edge < hi:  # a planted kink: step up, staying inside the domain
                    room = min(width, hi - edge)
                    values = np.where(values == edge, edge + room * rng.uniform(0.25, 0.75, size=values.shape),
                                      values)
            values = np.where(values == lo, lo + step, np.where(values == hi, hi - step, values))
            if spec.tensor(name).differentiable:
                jitter = KINK_JITTER * (np.abs(values) + 1.0) * rng.uniform(-1.0, 1.0, size=values.shape)
                values = np.clip(values + jitter, lo, hi)
        moved[name] = values
    return moved


def _agree(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    return abs(a - b) <= AGREEMENT * max(abs(a), abs(b), mpmath.mpf(10) ** -30)


def verify_gradients(spec: LossSpec, case: Case, tensors: dict[str, np.ndarray]) -> list[str]:
    """Problems found (empty when finite differences, the adjoint identity and the conventions check agree)."""
    rng = np.random.default_rng(case.seed + 7919 * case.number)
    tensors = _interior(spec, case, tensors, rng)
    upstream = case.upstream("float64")
    reference = exact_reference(spec, tensors, case.options, upstream, conventions=False)
    wrt = sorted(reference.grads)
    if not wrt:
        return []
    problems = _convention_problems(spec, case, tensors)
    gradients = reference.math_grads if reference.math_grads is not None else reference.grads
    directions = {name: rng.uniform(-1.0, 1.0, size=tensors[name].shape) for name in wrt}
    for name in wrt:
        if is_complex(tensors[name]):  # a complex direction; the gradient pairs with its real view
            directions[name] = directions[name] + 1j * rng.uniform(-1.0, 1.0, size=tensors[name].shape)
    with mpmath.workdps(WORKING_DIGITS):
        vjp_side = mpmath.fsum(
            mpmath.mpf(float(d)) * g
            for name in wrt for d, g in zip(real_view(directions[name]), gradients[name])
        )
        exact = {n: t.astype(object) if n in wrt else t for n, t in tensors.items()}

        def along(h: mpmath.mpf) -> mpmath.mpf:
            moved = {n: (t + h * directions[n].astype(object) if n in wrt else t) for n, t in exact.items()}
            return projected_loss(spec, moved, case.options, upstream)

        finite_difference = mpmath.diff(along, 0)
        recursion = not spec.structure.closed_form
        jvp_side = vjp_side if recursion else projected_jvp(spec, tensors, case.options, upstream, directions)
    if not _agree(finite_difference, vjp_side):
        problems.append(f"{spec.name} {case.name}: finite differences give {mpmath.nstr(finite_difference, 20)},"
                        f" the symbolic VJP {mpmath.nstr(vjp_side, 20)}")
    if not _agree(jvp_side, vjp_side):
        problems.append(f"{spec.name} {case.name}: adjoint identity fails: <jvp, δ> = "
                        f"{mpmath.nstr(jvp_side, 20)}, <ṫ, vjp> = {mpmath.nstr(vjp_side, 20)}")
    return problems


def _convention_problems(spec: LossSpec, case: Case, tensors: dict[str, np.ndarray]) -> list[str]:
    """Units where a gradient convention, clamps removed, is not the derivative of the unclamped loss."""
    if not spec.structure.closed_form:  # a recursion: its convention is checked through Reference.math_grads
        return []
    prepared = prepare(spec, tensors, case.options)
    derivation = prepared.derivation
    if not derivation.convention_checks:
        return []
    conventional = [derivation.wrt[i] for i in sorted(derivation.conventions)]
    problems = []
    with mpmath.workdps(WORKING_DIGITS):
        for unit, args in enumerate(prepared.unit_args):
            values = derivation.evaluator("conventions")(*args, *prepared.option_args)
            for (name, slot), stated, derivative in zip(conventional, values[::2], values[1::2]):
                if not _agree(stated, derivative):
                    problems.append(f"{spec.name} {case.name}: unit {unit}, the gradient convention for {name}"
                                    f"[{slot}] without clamps is {mpmath.nstr(stated, 20)}, the derivative of"
                                    f" the unclamped loss {mpmath.nstr(derivative, 20)}")
    return problems
