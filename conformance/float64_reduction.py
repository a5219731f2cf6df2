"""The oracle's reduction (``exact_reduction.reduce_units``) in float64 with NumPy, for the first pass, with the error
bound of every element it produces.

Same formulas as the oracle (see its module docstring and ``_unit_terms``), vectorised over units; every
quantity q also gets an error bound e(q) on |q_float64 − q_exact|, from the units' bounds e(l), e(∂l/∂s),
e(d), e(∂d/∂s) (``first_pass``) and the reduction's own roundings, to first order:

    T = Σ l (correctly rounded, ``math.fsum``):   e(T) = Σ e(l) + u·|T|
    D = Σ d (mean), ε_D = (Σ e(d))/|D| + u;  L = T/D:   e(L) = e(T)/|D| + |L|·(ε_D + u)
    c = δ/D:  e(c) = |c|·(ε_D + u);   t = −δ·L/D:  e(t) = |δ/D|·e(L) + |t|·(ε_D + 2u)
    c·∂l + t·∂d:  |c|·e(∂l) + e(c)·|∂l| + |t|·e(∂d) + e(t)·|∂d| + 2u·(|c·∂l| + |t·∂d|)
    an entry summing k of these (``np.add.at``, one after another):  Σ e + (k − 1)·u·Σ|terms|

with u = 2^-53. The Bound fields are the same expressions as the oracle's, evaluated in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np

from ..derivations.row_layout import view
from .reference import Bound, Reference

U64 = 2.0 ** -53


@dataclass
class Quantity:
    """One output of the reduction (the value, or one tensor's gradient), flat: values, error bounds, and the
    Bound fields per element."""

    values: np.ndarray
    errors: np.ndarray
    magnitude: np.ndarray
    underflow: np.ndarray
    peak: np.ndarray
    slack: np.ndarray
    at_kink: np.ndarray
    summands: np.ndarray
    count: np.ndarray

    def to_mpf(self) -> tuple[list[mpmath.mpf], list[Bound]]:
        """The exact mpf values and their Bounds (equal elements share one object, as the oracle's do)."""
        values: list[mpmath.mpf] = []
        bounds: list[Bound] = []
        made: dict[tuple, tuple[mpmath.mpf, Bound]] = {}
        columns = (self.values, self.magnitude, self.underflow, self.peak, self.slack, self.at_kink,
                   self.summands, self.count)
        for row in zip(*(c.tolist() for c in columns)):
            pair = made.get(row)
            if pair is None:
                v, m, a, p, s, k, total, n = row
                pair = made[row] = (mpmath.mpf(v), Bound(mpmath.mpf(m), mpmath.mpf(a), mpmath.mpf(p), mpmath.mpf(s),
                                                         bool(k), mpmath.mpf(total), int(n)))
            values.append(pair[0])
            bounds.append(pair[1])
        return values, bounds


@dataclass
class Reduced:
    shape: tuple[int, ...]
    value: Quantity
    grads: dict[str, Quantity]
    unit_total: float
    unit_total_error: float

    def reference(self) -> Reference:
        value, value_bounds = self.value.to_mpf()
        grads, grad_bounds = {}, {}
        for name, quantity in self.grads.items():
            grads[name], grad_bounds[name] = quantity.to_mpf()
        return Reference(self.shape, value, value_bounds, grads, grad_bounds, mpmath.mpf(self.unit_total))


def _zeros(size: int) -> Quantity:
    z = np.zeros(size)
    return Quantity(z.copy(), z.copy(), z.copy(), z.copy(), z.copy(), np.full(size, np.inf), np.zeros(size, bool),
                    z.copy(), np.ones(size, dtype=np.int64))


def reduce_float64(prepared: Any, columns: np.ndarray, errors: dict[str, np.ndarray], smallest: np.ndarray,
                   reduction: str, upstream: np.ndarray) -> Reduced | str:
    """The reduction of the kept units' ``full`` rows ``columns`` (columns × kept units, float64), with the
    units' error bounds ``errors`` (loss, gradient (n × units), share, share_gradient) and each unit's smallest
    nonzero |input|; or why it cannot be done in float64 (a mean over a zero or uncertain denominator)."""
    derivation, table = prepared.derivation, prepared.table
    n = len(derivation.wrt)
    row = view(columns, n)  # one column per unit (row_layout)
    loss, share, gradient, share_gradient = row.loss, row.share, row.loss_grad, row.share_grad
    loss_m, grad_m = row.loss_magnitude, row.grad_magnitude
    loss_a, grad_a = row.loss_underflow, row.grad_underflow
    peak, grad_peak = row.peak, row.grad_peak
    slack, at_kink = row.slack, row.distance == 0
    kept = table.kept_units
    units = len(kept)
    delta = np.asarray(upstream, dtype=np.float64).reshape(-1)
    total = math.fsum(loss)
    total_error = float(errors["loss"].sum()) + U64 * abs(total)

    condition, term, term_error = 0.0, 0.0, 0.0
    if reduction == "none":
        size = int(np.prod(table.out_shape, dtype=np.int64))
        value = _zeros(size)
        value.values[kept], value.errors[kept] = loss, errors["loss"]
        value.magnitude[kept], value.underflow[kept], value.peak[kept] = loss_m, loss_a, peak
        value.slack[kept], value.at_kink[kept], value.summands[kept] = slack, at_kink, np.abs(loss)
        coefficient, coefficient_error = delta[kept], np.zeros(units)
        shape = tuple(table.out_shape)
    else:
        relative = 0.0
        if reduction == "sum":
            divisor = 1.0
        elif reduction == "batchmean":
            divisor = float(table.batch_size)
            relative = U64
        elif reduction == "mean":
            divisor = math.fsum(share)
            share_error = float(errors["share"].sum())
            if divisor == 0 or 4 * share_error > abs(divisor):
                return "a mean whose denominator is 0 or uncertain"
            relative = share_error / abs(divisor) + U64
            condition = math.fsum(np.abs(share)) / abs(divisor)
        else:
            raise ValueError(f"unknown reduction {reduction!r}")
        mean = total / divisor
        error = total_error / abs(divisor) + abs(mean) * (relative + U64)
        value = Quantity(np.array([mean]), np.array([error]),
                         np.array([math.fsum(loss_m) / abs(divisor) + abs(mean) * (1 + condition)]),
                         np.array([math.fsum(loss_a) / abs(divisor) + 1]), np.array([peak.max(initial=0.0)]),
                         np.array([slack.min(initial=np.inf)]), np.array([bool(at_kink.any())]),
                         np.array([math.fsum(np.abs(loss)) / abs(divisor) + abs(mean) * condition]),
                         np.array([max(units, 1)]))
        coefficient = np.full(units, delta[0] / divisor)
        coefficient_error = np.abs(coefficient) * (relative + U64)
        if reduction == "mean" and units:
            term = -delta[0] * (mean / divisor)
            term_error = abs(delta[0] / divisor) * error + abs(term) * (relative + 2 * U64)
        shape = ()

    all_peak = peak.max(initial=0.0)
    raw_upstream = abs(delta[0]) if reduction != "none" else 0.0
    grads: dict[str, Quantity] = {}
    absolute: dict[str, np.ndarray] = {}
    for i, (name, slot) in enumerate(derivation.wrt):
        where = table.positions[name][kept]
        where = where[:, slot] if where.ndim == 2 else where
        c = np.abs(coefficient)
        contribution = coefficient * gradient[i]
        # the raw upstream δ multiplies the unit's factors before a mean divides (exact_reduction._unit_terms)
        own_peak = np.maximum(np.maximum(peak, np.abs(gradient[i])), np.maximum(np.maximum(c, raw_upstream), 1)
                              * grad_peak[i])
        magnitude = c * grad_m[i] + np.abs(contribution) * condition
        underflow = np.maximum(c, 1) * grad_a[i] + 1 + np.abs(gradient[i]) / smallest
        error = (c * errors["gradient"][i] + coefficient_error * np.abs(gradient[i]) + 2 * U64 * np.abs(contribution)
                 + abs(term) * errors["share_gradient"][i] + term_error * np.abs(share_gradient[i]))
        terms = term * share_gradient[i]
        shared = share_gradient[i] != 0
        contribution = np.where(shared, contribution + terms, contribution)
        error = error + 2 * U64 * np.abs(terms)
        # the denominator term reads the mean L, so it carries L's whole error: |δ·∂d/∂s/D|·(M(L), S(L), N)
        reader = c * np.abs(share_gradient[i]) if reduction == "mean" else np.zeros(units)
        magnitude = np.where(shared, magnitude + reader * value.magnitude[0] + np.abs(terms) * (1 + condition),
                             magnitude)
        underflow = np.where(shared, underflow + 1, underflow)
        own_peak = np.where(shared, np.maximum(own_peak, all_peak), own_peak)
        summands = np.where(shared, np.abs(contribution) + reader * value.summands[0], np.abs(contribution))
        counts = np.where(shared, 1 + value.count[0], 1) if reduction == "mean" else np.ones(units)
        if name not in grads:
            grads[name] = _zeros(table.sizes[name])
            grads[name].count[:] = 0
            absolute[name] = np.zeros(table.sizes[name])
        _scatter(grads[name], absolute[name], where, contribution, error, magnitude, underflow, own_peak, slack,
                 at_kink, summands, counts)
    for name, quantity in grads.items():  # k terms summed one after another: (k − 1)·u·Σ|terms| more
        quantity.errors += np.maximum(quantity.count - 1, 0) * U64 * absolute[name]
    return Reduced(shape, value, grads, total, total_error)


def _scatter(quantity: Quantity, absolute: np.ndarray, where: np.ndarray, contribution: np.ndarray,
             error: np.ndarray, magnitude: np.ndarray, underflow: np.ndarray, peak: np.ndarray, slack: np.ndarray,
             at_kink: np.ndarray, summands: np.ndarray, counts: np.ndarray) -> None:
    """Add each unit's term to its entry: values, errors, M, A and S summed, P the largest, slack the least,
    kinks any, counts summed (``Bound.sum``); ``absolute`` sums the terms' |value|."""
    np.add.at(quantity.values, where, contribution)
    np.add.at(quantity.errors, where, error)
    np.add.at(quantity.magnitude, where, magnitude)
    np.add.at(quantity.underflow, where, underflow)
    np.maximum.at(quantity.peak, where, peak)
    np.minimum.at(quantity.slack, where, slack)
    np.logical_or.at(quantity.at_kink, where, at_kink)
    np.add.at(quantity.summands, where, summands)
    np.add.at(absolute, where, np.abs(contribution))
    np.add.at(quantity.count, where, counts)
