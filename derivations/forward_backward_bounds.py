"""The rounding magnitudes of a log-space forward–backward recursion (``spec.structure.ForwardBackward``):
the error model of a ``Sequences`` spec, derived here from its lattice as ``magnitude`` derives a closed form's.

Each log-space step α_t(s) = lse(…) + x rounds the sum and its log-sum-exp (three exps, a sum, a log: an
absolute error of about u·(|α_t(s)| + 3)); a step's error reaches l weighted by the posterior occupation of
state s at t, w_t(s) = exp(α_t(s) + β_t(s) − x[t, l'_s] + l) (Σ_s w_t(s) = 1). Each input x[t, k] carries
u·|x[t, k]| into l with weight |∂l/∂x| = γ_t(k). So

    M(l) = |l| + Σ_t Σ_s w_t(s)·(|α_t(s)| + 3) + Σ_{t,k} γ_t(k)·|x[t, k]|.

A backward entry exp(x) − γ (the gradient through a log_softmax; the math's −γ is bounded by its second
term) with γ = exp(E), E = α + β − x + l, errs by γ times the absolute error of E, which the forward bound
covers for α, the same bound for β (the mirror recursion) and u·M(l) for l; exp(x) errs by exp(x)·|x|
relative to its input. So

    M(exp(x) − γ) = exp(x)·(1 + |x|) + γ·(3·M(l) + |x| + 1)

for the steps read, and 0 for the steps past the input length and where no path exists (the entry is then
exactly 0, or NaN by convention).
"""

from __future__ import annotations

from typing import Any

from ..spec.core import ForwardBackward


def forward_backward_magnitudes(lattice: ForwardBackward, gradient: list[list[Any]], num_classes: int, ops: Any
                       ) -> tuple[Any, list[list[Any]]]:
    """(M(l), M of each backward entry, T rows of C like ``gradient``) in ``ops`` arithmetic (module docstring)."""
    x, alpha, weights, gamma = lattice.inputs, lattice.forward, lattice.posterior, lattice.occupation
    steps = len(x)
    if lattice.loss == -ops.neg_inf or not steps:
        return ops.zero, [[ops.zero] * num_classes for _ in gradient]
    states = len(lattice.states)
    steps_error = ops.fsum(weights[t][s] * (abs(alpha[t][s]) + 3)
                           for t in range(steps) for s in range(states) if weights[t][s] != 0)
    inputs_error = ops.fsum(gamma[t][k] * abs(x[t][k]) for t in range(steps) for k in range(num_classes))
    loss_bound = abs(lattice.loss) + steps_error + inputs_error
    rows = []
    for t, row in enumerate(gradient):
        if t >= steps:
            rows.append([ops.zero] * len(row))
            continue
        rows.append([ops.exp(v) * (1 + abs(v)) + g * (3 * loss_bound + abs(v) + 1)
                     for v, g in zip(x[t], gamma[t])])
    return loss_bound, rows
