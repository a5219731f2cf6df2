"""The oracle's reduction of evaluated units, in mpmath at the current precision.

Reduction, for units u with losses l_u and denominator shares d_u, and an
upstream gradient δ:

    none: L_u = l_u          sum: L = Σ l_u
    mean: L = Σ l_u / D, D = Σ d_u      batchmean: L = Σ l_u / input.size(0)
    ∂⟨δ, L⟩/∂z = Σ_u c_u·∂l_u/∂z − [mean] δ·(L/D)·Σ_u ∂d_u/∂z,
    c_u = δ_u (none), δ (sum), δ/D (mean), δ/B (batchmean).

A ``Sequences`` spec (a loss defined by a recursion, such as CTC) is evaluated
by running the spec's own recursion in mpmath (``derivations.recursion``); its
mean is Σ_u s_u·l_u / Σ_u d_u with the spec's ``mean_scale`` s_u, its
denominators hold no differentiable input, and where the spec states a
backward convention the reference gradient is that convention, with the
math's own gradient kept alongside (``Reference.math_grads``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import mpmath
import numpy as np

from ..derivations.recursion import MPMATH, evaluate_sequence, sequence_unit
from ..derivations.row_layout import Row, layout, view
from ..derivations.symbolic import Derivation, derive, variant_key
from ..derivations.units import UnitTable, split_units
from ..spec.core import LossSpec, Sequences
from .reference import _NO_BOUND, Bound, Reference

LOSS, SHARE = layout(0).loss, layout(0).share  # the same in every row (row_layout)


def divide(numerator: mpmath.mpf, denominator: mpmath.mpf) -> mpmath.mpf:
    """IEEE-style division: x/0 is ±inf and 0/0 is NaN (the all-ignored mean)."""
    if denominator == 0:
        if numerator == 0 or mpmath.isnan(numerator):
            return mpmath.mpf("nan")
        return mpmath.mpf("inf") if numerator > 0 else mpmath.mpf("-inf")
    return numerator / denominator


@dataclass
class Prepared:
    derivation: Derivation
    table: UnitTable
    unit_args: list[list[mpmath.mpf]]
    option_args: list[mpmath.mpf]


def as_mpf(value: Any) -> mpmath.mpf:
    return value if isinstance(value, mpmath.mpf) else mpmath.mpf(float(value))


def prepare(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> Prepared:
    """Split into units, fetch the cached derivation, and convert inputs to mpf once."""
    table = split_units(spec, tensors, options)
    key = variant_key(spec, tuple(tensors), table, options)
    derivation = derive(spec, key)
    unit_args = []
    seen: dict[tuple, list[mpmath.mpf]] = {}  # a large reduction repeats its units (rows cycled): one list each
    for u in table.kept_units:
        raw = tuple(x for name in derivation.symbols for x in np.ravel(table.values[name][u]).tolist())
        if raw not in seen:
            seen[raw] = [as_mpf(x) for x in raw]
        unit_args.append(seen[raw])
    option_args = [mpmath.mpf(float(options.get(n, spec.option(n).default))) for n in derivation.options]
    return Prepared(derivation, table, unit_args, option_args)


def upstream_values(upstream: np.ndarray) -> list[mpmath.mpf]:
    return [mpmath.mpf(float(v)) for v in np.asarray(upstream, dtype=np.float64).reshape(-1)]


def position(table: UnitTable, name: str, unit: int, slot: int) -> int:
    where = table.positions[name][unit]
    return int(where[slot] if np.ndim(where) else where)


def _unit_terms(row: Row, c: mpmath.mpf, n_grad: int,
                denominator_term: mpmath.mpf, all_peak: mpmath.mpf,
                smallest_input: mpmath.mpf, denominator_condition: mpmath.mpf,
                mean: Bound | None = None, reader: mpmath.mpf | int = 0,
                upstream: mpmath.mpf | int = 0) -> list[tuple[mpmath.mpf, Bound]]:
    """One unit's contribution c·∂l/∂s (+ the mean's denominator term) to each gradient entry, with its Bound.

    A gradient entry with a denominator term reads the mean L, so its peak is every unit's (``all_peak``).
    Backpropagation multiplies the upstream c into the unit's factors before the rest of the chain,
    so c·s for an input s may round into the subnormal range with absolute error η, relative η/|c·s|,
    and the chain carries it on: the gradient's underflow magnitude includes |c·∂l/∂s_i|/|c·s| =
    |∂l/∂s_i|/s, with s the unit's smallest nonzero |input| (negligible unless c·s is near the
    dtype's underflow threshold: a float16 mean over 4097 rows has c ≈ 2.4e-4). For the same reason
    the η errors of ∂l/∂s's own operations, A(∂l/∂s), are not scaled down by a |c| < 1: every
    intermediate is formed already scaled by c, so each may round in the subnormal range.
    A reduced loss's backward multiplies the raw ``upstream`` δ into the unit's factors before it divides
    by a mean's D (float16 binary_cross_entropy_with_logits: δ·pos_weight·log σ(x) = 1.27·56865 overflows
    where δ/20 times it would not), so the partial products are scaled by max(|c|, |δ|, 1).
    ``denominator_condition`` is κ = Σ|d_u|/|D| for a mean (see ``_denominator_condition``), else 0:
    a term divided by D once carries κ·|term| more. The denominator term −δ·L/D·∂d/∂s reads the mean L
    itself, so it carries L's whole error, |δ·∂d/∂s/D|·(u·M(L) + g(N)·u·S(L)) with ``mean`` L's Bound
    (the rounding of every w·l_u in Σ w·l_u, large where signed weights cancel: l1_loss float32 with
    weights [0.9, −0.9, 0.3, 0.7]), and κ·|term| more for its second division by D.
    """
    loss_grad, share_grad = row.loss_grad, row.share_grad
    magnitudes, underflows, gradient_peaks = row.grad_magnitude, row.grad_underflow, row.grad_peak
    peak = row.peak  # the unit's largest intermediate, shared by its gradients
    slack, distance = row.slack, row.distance
    terms = []
    for i in range(n_grad):
        contribution = c * loss_grad[i]
        # a backward may form the unit's own ∂l/∂s, or c times its large factors, before the rest
        own_peak = max(peak, abs(loss_grad[i]), max(abs(c), upstream, 1) * gradient_peaks[i])
        bound = Bound(abs(c) * magnitudes[i] + abs(contribution) * denominator_condition,
                      max(abs(c), 1) * underflows[i] + 1 + abs(loss_grad[i]) / smallest_input,
                      own_peak, slack, distance == 0, abs(contribution), undefined=not mpmath.isfinite(c))
        if share_grad[i] != 0:
            term = denominator_term * share_grad[i]
            contribution += term
            scale = reader * abs(share_grad[i]) if mean is not None else 0  # |δ·∂d/∂s/D|: what multiplies L
            bound = Bound(bound.magnitude + (scale * mean.magnitude if mean is not None else 0)
                          + abs(term) * (1 + denominator_condition), bound.underflow + 1, max(own_peak, all_peak),
                          slack, distance == 0, abs(contribution) + (scale * mean.summands if mean is not None else 0),
                          1 + (mean.count if mean is not None else 0), undefined=bound.undefined)
        terms.append((contribution, bound))
    return terms


def _denominator_condition(shares: Sequence[mpmath.mpf]) -> mpmath.mpf:
    """κ = Σ|d_u|/|Σ d_u|: a mean divides by D = Σ d_u, which a kernel sums with rounding error u·Σ|d_u|,
    relative u·κ; every term divided by D carries it. Signed weights that nearly cancel make κ large
    (l1_loss with weights summing to about 0); nonnegative ones make it 1. 0 where D is 0 (no claim
    to scale: the mean is ±inf or NaN)."""
    total = abs(mpmath.fsum(shares))
    return divide(mpmath.fsum(abs(d) for d in shares), total) if total else mpmath.mpf(0)


def _unit_values(row: Sequence, c: mpmath.mpf, n_grad: int, denominator_term: mpmath.mpf
                 ) -> list[tuple[mpmath.mpf, Bound]]:
    """``_unit_terms`` without the Bounds: c·∂l/∂s (+ the mean's denominator term), for a pass that only
    confirms the values (the Bounds come from one evaluation, see ``exact_reference``)."""
    at = layout(n_grad)
    loss_grad, share_grad = row[at.loss_grad], row[at.share_grad]
    return [(c * g + denominator_term * s if s != 0 else c * g, _NO_BOUND) for g, s in zip(loss_grad, share_grad)]


def reduce_units(prepared: Prepared, reduction: str, upstream: np.ndarray, with_grads: bool,
            conventions: bool = True, bounds: bool = True) -> Reference:
    """The reduction of the module docstring at the current precision; with ``bounds=False`` only the values
    and gradients (every Bound zero), from the derivation's ``grad`` rows rather than its ``full`` rows."""
    d = prepared.derivation
    table = prepared.table
    n_grad = len(d.wrt)
    kept = table.kept_units
    with_bounds = with_grads and bounds
    if with_grads:
        kind = "full" if with_bounds else "grad"
        kind += "" if conventions else "/math"
    else:
        kind = "forward"
    evaluate = d.evaluator(kind)
    memo: dict[int, Any] = {}  # repeated units share one argument list (see prepare): evaluate each once
    rows = [memo[key] if (key := id(a)) in memo else memo.setdefault(key, evaluate(*a, *prepared.option_args))
            for a in prepared.unit_args]
    smallest = {}  # per distinct argument list, not per cycled row of a large reduction
    for a in prepared.unit_args if with_bounds else ():
        if id(a) not in smallest:
            smallest[id(a)] = min((abs(x) for x in a if x != 0), default=mpmath.inf)
    losses = [r[LOSS] for r in rows]
    shares = [r[SHARE] for r in rows]
    condition = _denominator_condition(shares) if reduction == "mean" and with_bounds else mpmath.mpf(0)
    named: dict[int, Row] = {}  # each distinct full row read by name (row_layout)
    for r in rows if with_bounds else ():
        if id(r) not in named:
            named[id(r)] = view(r, n_grad)
    loss_bounds = [Bound(v.loss_magnitude, v.loss_underflow, v.peak, v.slack, v.distance == 0, abs(v.loss))
                   for v in (named[id(r)] for r in rows)] if with_bounds else [_NO_BOUND] * len(rows)
    delta = upstream_values(upstream)

    denominator_term = mpmath.mpf(0)
    if reduction == "none":
        size = int(np.prod(table.out_shape, dtype=np.int64))
        value = [mpmath.mpf(0)] * size
        value_bounds = [Bound.zero()] * size
        for u, loss, bound in zip(kept, losses, loss_bounds):
            value[u], value_bounds[u] = loss, bound
        coefficients = [delta[u] for u in kept]
        shape = table.out_shape
    else:
        total = mpmath.fsum(losses)
        if reduction == "sum":
            divisor = mpmath.mpf(1)
        elif reduction == "mean":
            divisor = mpmath.fsum(shares)
        elif reduction == "batchmean":
            divisor = mpmath.mpf(table.batch_size)
        else:
            raise ValueError(f"unknown reduction {reduction!r}")
        loss = divide(total, divisor)
        value = [loss]
        summed = Bound.sum(loss_bounds) if with_bounds else _NO_BOUND
        value_bounds = [Bound(divide(summed.magnitude, abs(divisor)) + abs(loss) * (1 + condition),
                              divide(summed.underflow, abs(divisor)) + 1, summed.peak, summed.slack, summed.at_kink,
                              divide(summed.summands, abs(divisor)) + abs(loss) * condition, max(len(kept), 1))]
        coefficients = [divide(delta[0], divisor)] * len(kept)
        if reduction == "mean":
            denominator_term = -delta[0] * divide(loss, divisor) if len(kept) else mpmath.mpf(0)
        shape = ()

    grads: dict[str, list[list[mpmath.mpf]]] = {}
    grad_bounds: dict[str, list[list[Bound]]] = {}
    if with_grads:
        for name in {name for name, _ in d.wrt}:
            grads[name] = [[] for _ in range(table.sizes[name])]
            grad_bounds[name] = [[] for _ in range(table.sizes[name])]
        scattered: dict[tuple, list[tuple[mpmath.mpf, Bound]]] = {}  # repeated units scatter the same terms
        all_peak = max((b.peak for b in loss_bounds), default=mpmath.mpf(0))
        for u, row, c, args in zip(kept, rows, coefficients, prepared.unit_args):
            key = (id(row), c)
            if key not in scattered:
                scattered[key] = (_unit_terms(named[id(row)], c, n_grad, denominator_term, all_peak,
                                              smallest[id(args)], condition,
                                              value_bounds[0] if reduction == "mean" else None, abs(c),
                                              abs(delta[0]) if reduction != "none" else 0)
                                  if with_bounds else _unit_values(row, c, n_grad, denominator_term))
            for (name, slot), (contribution, bound) in zip(d.wrt, scattered[key]):
                at = position(table, name, u, slot)
                grads[name][at].append(contribution)
                grad_bounds[name][at].append(bound)
    return Reference(
        shape=tuple(shape),
        value=value,
        value_bounds=value_bounds,
        grads={n: [c[0] if len(c) == 1 else mpmath.fsum(c) for c in g] for n, g in grads.items()},
        grad_bounds={n: [_NO_BOUND if not with_bounds else b[0] if len(b) == 1 else Bound.sum(b) for b in g]
                     for n, g in grad_bounds.items()},
        unit_total=mpmath.fsum(losses),
    )


@singledispatch
def evaluation(structure: Any, spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
               upstream: np.ndarray, conventions: bool = True) -> Callable[..., Reference]:
    """The case's evaluation at the current precision, as ``evaluate(with_grads, bounds)``: the units split
    (and converted) once, evaluated as often as called. A closed-form structure evaluates the derivation's
    rows (``reduce_units``); each other structure registers its own below."""
    prepared = prepare(spec, tensors, options)
    reduction = options.get("reduction", "mean")

    def evaluate(with_grads: bool = True, bounds: bool = True) -> Reference:
        return reduce_units(prepared, reduction, upstream, with_grads, conventions=conventions, bounds=bounds)
    return evaluate


@evaluation.register
def _(structure: Sequences, spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
      upstream: np.ndarray, conventions: bool = True) -> Callable[..., Reference]:
    """A recursion: each unit run through the spec's recursion (``reduce_sequences``); its Bounds come with
    its values, and its stated backward is the reference gradient."""
    table = split_units(spec, tensors, options)
    reduction = options.get("reduction", "mean")

    def evaluate(with_grads: bool = True, bounds: bool = True) -> Reference:
        return reduce_sequences(spec, table, options, reduction, upstream, with_grads)
    return evaluate


def reduce_sequences(spec: LossSpec, table: UnitTable, options: Mapping[str, Any], reduction: str,
                      upstream: np.ndarray, with_grads: bool) -> Reference:
    """The reduction above for a ``Sequences`` spec, each unit evaluated by the spec's recursion."""
    structure = spec.structure
    assert isinstance(structure, Sequences)
    units = [evaluate_sequence(spec, sequence_unit(spec, table, u, options, MPMATH, as_mpf), with_grads)
             for u in range(len(table.kept))]
    delta = upstream_values(upstream)
    losses = [r.loss for r in units]
    bounds = [Bound(r.loss_magnitude, mpmath.mpf(1), summands=abs(r.loss)) if with_grads else Bound.zero()
              for r in units]
    if reduction == "none":
        value, value_bounds, coefficients = losses, bounds, delta
    elif reduction in ("sum", "mean"):
        scales = [r.scale if reduction == "mean" else mpmath.mpf(1) for r in units]
        divisor = mpmath.fsum(r.share for r in units) if reduction == "mean" else mpmath.mpf(1)
        loss = divide(mpmath.fsum(s * v for s, v in zip(scales, losses)), divisor)
        value = [loss]
        value_bounds = [Bound(divide(mpmath.fsum(s * b.magnitude for s, b in zip(scales, bounds)), abs(divisor))
                              + abs(loss), mpmath.mpf(len(units) + 1),
                              summands=divide(mpmath.fsum(abs(s * v) for s, v in zip(scales, losses)), abs(divisor)),
                              count=max(len(units), 1))]
        coefficients = [divide(delta[0] * s, divisor) for s in scales]
    else:
        raise ValueError(f"reduction {reduction!r} does not apply to {spec.name}")
    grads: dict[str, list[mpmath.mpf]] = {}
    math_grads: dict[str, list[mpmath.mpf]] = {}
    grad_bounds: dict[str, list[Bound]] = {}
    if with_grads:
        name = structure.sequence
        size = table.sizes[name]
        grads[name], math_grads[name] = [mpmath.mpf(0)] * size, [mpmath.mpf(0)] * size
        grad_bounds[name] = [Bound.zero()] * size
        for u, (r, c) in enumerate(zip(units, coefficients)):
            where = table.positions[name][u]
            for t, (backward, gradient, magnitudes) in enumerate(zip(r.backward, r.gradient, r.magnitudes)):
                for k, (b, g, m) in enumerate(zip(backward, gradient, magnitudes)):
                    at = int(where[t][k])
                    grads[name][at], math_grads[name][at] = c * b, c * g
                    grad_bounds[name][at] = Bound(abs(c) * m, mpmath.mpf(1), summands=abs(c * b))
    return Reference(
        shape=tuple(table.out_shape) if reduction == "none" else (),
        value=value,
        value_bounds=value_bounds,
        grads=grads,
        grad_bounds=grad_bounds,
        unit_total=mpmath.fsum(losses),
        math_grads=math_grads if structure.backward else None,
    )
