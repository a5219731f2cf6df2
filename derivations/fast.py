"""The fast float64 evaluator: a spec's value and VJP computed with NumPy.

Same reduction as the oracle (mean = Σ l / Σ d; see ``losscheck.conformance.oracle``),
vectorised over units with the generated NumPy functions. It is for sweeping
many inputs quickly (tests, screening); verdicts use the mpmath oracle. A
``Sequences`` spec runs its own recursion in IEEE double, reduced as the
oracle reduces it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..spec.core import LossSpec, Sequences
from .recursion import FLOAT64, evaluate_sequence, sequence_unit
from .row_layout import layout
from .symbolic import derive, variant_key
from .units import UnitTable, split_units


def evaluate_float64(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                     upstream: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(value shaped like the output, {tensor: ∂⟨δ, L⟩/∂tensor}) in float64 (real view if complex)."""
    table = split_units(spec, tensors, options)
    if not spec.structure.closed_form:
        return _evaluate_sequences(spec, table, options, upstream)
    key = variant_key(spec, tuple(tensors), table, options)
    derivation = derive(spec, key)
    kept = table.kept_units
    columns: list[np.ndarray] = []
    for name in derivation.symbols:
        values = table.values[name][kept].astype(np.float64)
        columns.extend(values.T if values.ndim == 2 else [values])
    # NumPy scalars, so an unused Piecewise branch with 1/β at β = 0 gives inf (ignored) rather than raising
    option_values = [np.float64(options.get(n, spec.option(n).default)) for n in derivation.options]
    with np.errstate(all="ignore"):
        outputs = [np.broadcast_to(np.asarray(o, dtype=np.float64), kept.shape)
                   for o in derivation.evaluator("grad", "numpy")(*columns, *option_values)]
    n_grad = len(derivation.wrt)
    at = layout(n_grad)  # a grad row: the first fields of row_layout's
    losses, shares = outputs[at.loss], outputs[at.share]
    loss_grads, share_grads = outputs[at.loss_grad], outputs[at.share_grad]
    delta = np.asarray(upstream, dtype=np.float64)
    reduction = options.get("reduction", "mean")
    share_coefficient = 0.0
    with np.errstate(all="ignore"):
        if reduction == "none":
            value = np.zeros(int(np.prod(table.out_shape, dtype=np.int64)))
            value[kept] = losses
            value = value.reshape(table.out_shape)
            coefficients = delta.reshape(-1)[kept]
        else:
            divisor = {"sum": 1.0, "mean": shares.sum(), "batchmean": float(table.batch_size)}[reduction]
            value = np.asarray(losses.sum() / divisor)
            coefficients = np.full(kept.shape, float(delta) / divisor)
            if reduction == "mean":
                share_coefficient = -float(delta) * float(value) / divisor
        grads = {name: np.zeros(table.sizes[name]) for name, _ in derivation.wrt}
        for i, (name, slot) in enumerate(derivation.wrt):
            where = table.positions[name][kept]
            where = where[:, slot] if where.ndim == 2 else where
            contribution = coefficients * loss_grads[i]
            if share_coefficient:
                contribution = contribution + share_coefficient * share_grads[i]
            np.add.at(grads[name], where, contribution)
    # a complex tensor's gradient comes in its real view: shape (..., 2), as torch.view_as_real gives
    return value, {name: g.reshape(tensors[name].shape + ((2,) if name in table.complex_ else ()))
                   for name, g in grads.items()}



def _evaluate_sequences(spec: LossSpec, table: UnitTable, options: Mapping[str, Any],
                        upstream: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """mean = Σ_u s_u·l_u / Σ_u d_u; the gradient is the spec's backward, scaled per unit."""
    assert isinstance(spec.structure, Sequences)
    units = [evaluate_sequence(spec, sequence_unit(spec, table, u, options, FLOAT64, float), with_grads=True)
             for u in range(len(table.kept))]
    losses = np.array([r.loss for r in units], dtype=np.float64)
    delta = np.asarray(upstream, dtype=np.float64).reshape(-1)
    reduction = options.get("reduction", "mean")
    with np.errstate(all="ignore"):
        if reduction == "none":
            value, coefficients = losses.reshape(table.out_shape), delta
        else:
            scales = np.array([r.scale if reduction == "mean" else 1.0 for r in units])
            divisor = sum(r.share for r in units) if reduction == "mean" else 1.0
            value = np.asarray((scales * losses).sum() / divisor)
            coefficients = delta[0] * scales / divisor
        name = spec.structure.sequence
        grad = np.zeros(table.sizes[name])
        for u, (r, c) in enumerate(zip(units, coefficients)):
            grad[table.positions[name][u]] = c * np.array(r.backward, dtype=np.float64)
    steps, classes = table.positions[name].shape[1:]
    shape = (steps, classes) if table.out_shape == () else (steps, len(units), classes)
    return value, {name: grad.reshape(shape)}
