"""Arithmetic backends and per-unit evaluation for ``Sequences`` specs (losses defined by a recursion).

A ``Sequences`` spec writes its loss, gradient and error bound once, against
an ``ops`` object (exp, log-sum-exp, exact sum, the constants it needs). The
same code then runs:

* ``MPMATH``: at the current ``mpmath.mp`` precision, for the oracle;
* ``FLOAT64``: in IEEE double, for the fast evaluator;
* ``SYMPY``: on SymPy symbols, which unrolls the recursion into one closed
  expression for tiny shapes, so ``sympy.diff`` can check the spec's gradient.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import sympy as sp

from ..spec.core import LossSpec, Sequences, Unit
from .forward_backward_bounds import forward_backward_magnitudes
from .units import UnitTable


class MpmathOps:
    """mpmath at the working precision; log-sum-exp shifted by the largest finite term."""

    neg_inf = mpmath.ninf
    nan = mpmath.nan
    zero = mpmath.mpf(0)
    one = mpmath.mpf(1)

    @staticmethod
    def exp(x: Any) -> Any:
        return mpmath.exp(x)

    @staticmethod
    def fsum(terms: Iterable[Any]) -> Any:
        return mpmath.fsum(terms)

    @staticmethod
    def lse(terms: Iterable[Any]) -> Any:
        """log Σ exp(t): the largest term plus log(1 + Σ exp(t − top)) over the others (≤ 3 terms here,
        so plain additions at the working precision lose nothing the 70-digit re-evaluation would see)."""
        finite = sorted(t for t in terms if t != mpmath.ninf)
        if not finite:
            return mpmath.ninf
        top = finite.pop()
        rest = mpmath.mpf(1)
        for t in finite:
            rest += mpmath.exp(t - top)
        return top + mpmath.log(rest)


class Float64Ops:
    """IEEE double: Python floats, log-sum-exp shifted by the largest finite term."""

    neg_inf = -math.inf
    nan = math.nan
    zero = 0.0
    one = 1.0

    @staticmethod
    def exp(x: Any) -> Any:
        return math.exp(x)

    @staticmethod
    def fsum(terms: Iterable[Any]) -> Any:
        return math.fsum(terms)

    @staticmethod
    def lse(terms: Iterable[Any]) -> Any:
        finite = [t for t in terms if t != -math.inf]
        if not finite:
            return -math.inf
        top = max(finite)
        return top + math.log(math.fsum(math.exp(t - top) for t in finite))


class SympyOps:
    """SymPy: log-sum-exp is log Σ exp, unshifted, so the result is a plain closed form."""

    neg_inf = -sp.oo
    nan = sp.nan
    zero = sp.Integer(0)
    one = sp.Integer(1)

    @staticmethod
    def exp(x: Any) -> Any:
        return sp.exp(x)

    @staticmethod
    def fsum(terms: Iterable[Any]) -> Any:
        return sp.Add(*terms)

    @staticmethod
    def lse(terms: Iterable[Any]) -> Any:
        finite = [t for t in terms if t != -sp.oo]
        return sp.log(sp.Add(*[sp.exp(t) for t in finite])) if finite else -sp.oo


MPMATH, FLOAT64, SYMPY = MpmathOps(), Float64Ops(), SympyOps()


def sequence_unit(spec: LossSpec, table: UnitTable, u: int, options: Mapping[str, Any], ops: Any,
                  convert: Any = None) -> Unit:
    """Unit ``u`` of ``table`` with its sequence rows as ``ops`` numbers (``convert`` maps each value)."""
    structure = spec.structure
    assert isinstance(structure, Sequences)
    tensors: dict[str, Any] = {}
    for name, values in table.values.items():
        row = values[u]
        if name == structure.sequence:
            tensors[name] = [[convert(v) if convert else v for v in step] for step in row]
        elif name == structure.labels:
            tensors[name] = [int(v) for v in row]
        else:
            tensors[name] = int(row)
    settings = {o.name: options.get(o.name, o.default) for o in spec.options}
    return Unit(tensors, settings, num_classes=table.num_classes, ops=ops)


@dataclass
class SequenceResult:
    """One unit's loss l, mean share d and scale, and (with gradients) the backward and math
    gradients as T rows of C, with the rounding magnitudes of l and of each backward entry."""

    loss: Any
    share: Any
    scale: Any
    backward: list[list[Any]] | None = None
    gradient: list[list[Any]] | None = None
    loss_magnitude: Any = None
    magnitudes: list[list[Any]] | None = None


def evaluate_sequence(spec: LossSpec, unit: Unit, with_grads: bool) -> SequenceResult:
    """Run the spec's recursion on one unit."""
    structure = spec.structure
    assert isinstance(structure, Sequences)
    scale = structure.mean_scale(unit) if structure.mean_scale else unit.ops.one
    result = SequenceResult(spec.loss(unit), spec.denominator(unit), scale)
    if with_grads:
        gradient = structure.gradient(unit)
        result.gradient = gradient
        result.backward = structure.backward(unit, gradient) if structure.backward else gradient
        result.loss_magnitude, result.magnitudes = forward_backward_magnitudes(
            structure.forward_backward(unit), gradient, unit.num_classes, unit.ops)
    return result

