"""Independent confirmations of the symbolic gradients, at high precision.

Two checks on one case, both against the VJP the oracle assembles from
``sympy.diff`` (⟨ṫ, vjp(x; δ)⟩ for a random direction ṫ):

* central finite differences: d/dh ⟨δ, L(x + h·ṫ)⟩ at h = 0 by ``mpmath.diff``;
* the adjoint identity (TorchLean's ``correct_inner``): ⟨jvp(x; ṫ), δ⟩ from
  the forward-mode expressions equals ⟨ṫ, vjp(x; δ)⟩.

Values on a domain edge (a probability of exactly 0 or 1), where only
one-sided derivatives exist, are first moved inside the domain.

Where the spec states a backward convention (``Reference.math_grads``), the
finite differences check the math's gradient, not the convention. A
``Sequences`` spec (a recursion) has no forward-mode expressions, so the
adjoint identity does not apply to it; ``tests/test_ctc.py`` checks its
gradient against the unrolled SymPy expression instead.
"""

from __future__ import annotations

import mpmath
import numpy as np

from ..spec.core import LossSpec, Sequences
from .cases import Case
from .oracle import WORKING_DIGITS, exact_reference, projected_jvp, projected_loss

AGREEMENT = mpmath.mpf(10) ** -25


def _interior(spec: LossSpec, case: Case, tensors: dict[str, np.ndarray],
              rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Move values sitting on a finite end of their domain one step (or a random fraction) inside."""
    moved = {}
    for name, values in tensors.items():
        if values.dtype.kind == "f":
            domain = case.shape_case.domains.get(name, spec.tensor(name).domain_for(case.options))
            lo, hi = domain.lo, domain.hi
            width = hi - lo if np.isfinite(hi - lo) else 2.0
            step = width * rng.uniform(0.25, 0.75, size=values.shape)
            values = np.where(values == lo, lo + step, np.where(values == hi, hi - step, values))
        moved[name] = values
    return moved


def _agree(a: mpmath.mpf, b: mpmath.mpf) -> bool:
    return abs(a - b) <= AGREEMENT * max(abs(a), abs(b), mpmath.mpf(10) ** -30)


def verify_gradients(spec: LossSpec, case: Case, tensors: dict[str, np.ndarray]) -> list[str]:
    """Problems found (empty when finite differences and the adjoint identity confirm the VJP)."""
    rng = np.random.default_rng(case.seed + 7919 * case.number)
    tensors = _interior(spec, case, tensors, rng)
    upstream = case.upstream("float64")
    reference = exact_reference(spec, tensors, case.options, upstream)
    wrt = sorted(reference.grads)
    if not wrt:
        return []
    gradients = reference.math_grads if reference.math_grads is not None else reference.grads
    directions = {name: rng.uniform(-1.0, 1.0, size=tensors[name].shape) for name in wrt}
    problems = []
    with mpmath.workdps(WORKING_DIGITS):
        vjp_side = mpmath.fsum(
            mpmath.mpf(float(d)) * g
            for name in wrt for d, g in zip(directions[name].reshape(-1), gradients[name])
        )
        exact = {n: t.astype(object) if n in wrt else t for n, t in tensors.items()}

        def along(h: mpmath.mpf) -> mpmath.mpf:
            moved = {n: (t + h * directions[n].astype(object) if n in wrt else t) for n, t in exact.items()}
            return projected_loss(spec, moved, case.options, upstream)

        finite_difference = mpmath.diff(along, 0)
        recursion = isinstance(spec.structure, Sequences)
        jvp_side = vjp_side if recursion else projected_jvp(spec, tensors, case.options, upstream, directions)
    if not _agree(finite_difference, vjp_side):
        problems.append(f"{spec.name} {case.name}: finite differences give {mpmath.nstr(finite_difference, 20)},"
                        f" the symbolic VJP {mpmath.nstr(vjp_side, 20)}")
    if not _agree(jvp_side, vjp_side):
        problems.append(f"{spec.name} {case.name}: adjoint identity fails: <jvp, δ> = "
                        f"{mpmath.nstr(jvp_side, 20)}, <ṫ, vjp> = {mpmath.nstr(vjp_side, 20)}")
    return problems
