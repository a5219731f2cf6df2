"""Every SymPy function a derivation meets, each declared once with all that follows from it.

A primitive is one ``Primitive`` entry in ``PRIMITIVES``. Its facets:

* ``derivative``: the function's own ``fdiff`` (SymPy's, or the spec's for ``spec.functions``; sign's
  ``_eval_derivative``, which gives 2·δ), or ``Absent`` for a function no derivation differentiates;
* ``mpmath`` and ``numpy``: its evaluation in each backend of ``evaluators``, or ``LAMBDIFY`` where
  SymPy's own printer for that backend already evaluates it;
* ``magnitude``: how it propagates rounding error (``magnitude``): ``CHAIN_RULE`` (Σ|∂f/∂a|·B(a)),
  ``SELECTION`` (the result is one of the arguments), ``EXACT`` (piecewise constant), or a function
  ``(expr, bound) -> propagated term`` where the rule needs a limit;
* ``peak_terms``: intermediates beyond |f| itself that evaluating it forms (``peak_magnitude``);
* ``branch_arguments``: the z whose sign picks its branch (``kinks``), ``()`` for a smooth function;
* ``mathlib``: its Mathlib name for the Lean printer and translator (``Mathlib``), or ``Absent``.

The evaluator tables, the magnitude rules, the kink rules, the Lean printer's names and the Lean
translator's vocabulary are all built by iterating over ``PRIMITIVES``; adding a function means adding
its entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import lru_cache
from itertools import combinations
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..spec.functions import clamp_min, complex_abs, log1p, pnorm, xlogy


@dataclass(frozen=True)
class Absent:
    """A facet a primitive does not have, and why."""

    reason: str


@dataclass(frozen=True)
class Mathlib:
    """The Mathlib function a primitive prints as. ``applied``: the Lean term is ``name a b …``, so the
    translator reads it back as the primitive; otherwise the printer writes a form around ``name``
    (its ``_print_<function>`` method)."""

    name: str
    applied: bool = True


LAMBDIFY = "SymPy's own printer for the backend"
CHAIN_RULE = "Σ|∂f/∂a|·B(a) through fdiff"
SELECTION = "the result is one of the arguments: the largest bound"
EXACT = "piecewise constant: exact"

Terms = Callable[[sp.Expr], "list[sp.Expr]"]


def _none(expr: sp.Expr) -> list[sp.Expr]:
    return []


@dataclass(frozen=True)
class Primitive:
    """One SymPy function with every facet the derivations, the evaluators and the Lean bridge need."""

    function: type
    derivative: Callable | Absent
    mpmath: Callable | str
    numpy: Callable | str
    magnitude: str | Callable
    peak_terms: Terms
    branch_arguments: Terms
    mathlib: Mathlib | Absent

    @property
    def name(self) -> str:
        """The name SymPy's printers (and lambdify's namespaces) know the function by."""
        return self.function.__name__


# -- evaluations SymPy's printers do not provide

def _mpmath_xlogy(y, x):
    return mpmath.mpf(0) if y == 0 else y * mpmath.log(x)


def _numpy_xlogy(y, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(x))


def _mpmath_heaviside(x, at_zero):
    """H(x) with H(0) = ``at_zero``: the very branches SymPy's Piecewise rewrite of Heaviside prints."""
    return 0 if x < 0 else at_zero if x == 0 else 1


def _mpmath_clamp_min(x, lo):
    return x if x >= lo or mpmath.isnan(x) else lo


def _mpmath_largest(*values):
    return max(values)


def _mpmath_least(*values):
    return min(values)


def _numpy_least(*values):
    return np.minimum.reduce(np.broadcast_arrays(*values))


def _numpy_largest(*values):
    return np.maximum.reduce(np.broadcast_arrays(*values))


def _mpmath_pnorm(p, *xs):
    return _pnorm_at(mpmath.mp.prec, p, *xs)


@lru_cache(maxsize=4096)
def _pnorm_at(precision, p, *xs):
    """‖x‖_p at ``precision`` bits, memoised: a generated evaluator calls it once per Piecewise branch
    and magnitude that reads the norm (``cse_outside_piecewise`` keeps Piecewise branches whole)."""
    with mpmath.workprec(precision):
        return mpmath.fsum(abs(x) ** p for x in xs) ** (1 / mpmath.mpf(p))


def _numpy_pnorm(p, *xs):
    return sum(np.abs(x) ** p for x in xs) ** (1 / p)


def _mpmath_dirac_delta(x: Any, order: int = 0) -> Any:
    """δ⁽ᵏ⁾(x): 0 away from 0, +inf at 0. It appears in second derivatives through a kink (d/dz Heaviside(z)),
    and with an order (``DiracDelta(x, 1)``) through a sign; a claim is made only where the loss is smooth,
    so a δ at its argument 0 leaves no finite bound."""
    return mpmath.mpf(0) if x != 0 else mpmath.inf


def _numpy_dirac_delta(x: Any, order: int = 0) -> Any:
    return np.where(np.asarray(x) != 0, 0.0, np.inf)


# -- error propagation where the chain rule needs a limit

def _xlogy_error(expr: sp.Expr, bound: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """|log x|·B(y) + |y/x|·B(x), written as |xlogy(B(y), x)| so that 0·log 0 stays 0."""
    y, x = expr.args
    return sp.Abs(xlogy(bound(y), x)) + sp.Abs(y / x) * bound(x)


def _pnorm_error(expr: sp.Expr, bound: Callable[[sp.Expr], sp.Expr]) -> sp.Expr:
    """Σ_i |∂‖x‖/∂x_i|·B(x_i); the degree p is exact."""
    return sp.Add(*[sp.Abs(expr.fdiff(i + 2)) * bound(x) for i, x in enumerate(expr.args[1:])])


# -- intermediates and branch arguments

def _sum_of_squares(expr: sp.Expr) -> list[sp.Expr]:
    """Kernels form |a + ib| as sqrt(a² + b²) in the dtype."""
    return [expr.args[0] ** 2 + expr.args[1] ** 2]


def _sum_of_powers(expr: sp.Expr) -> list[sp.Expr]:
    """‖x‖_p is the p-th root of Σ|x_i|^p, which is formed first."""
    return [sp.Add(*[sp.Abs(x) ** expr.args[0] for x in expr.args[1:]])]


def _first_argument(expr: sp.Expr) -> list[sp.Expr]:
    return [expr.args[0]]


def _pairwise_differences(expr: sp.Expr) -> list[sp.Expr]:
    return [a - b for a, b in combinations(expr.args, 2)]


def _over_floor(expr: sp.Expr) -> list[sp.Expr]:
    return [expr.args[0] - expr.args[1]]


class largest(sp.Function):
    """max(a, b, …) that SymPy never simplifies (Max compares its arguments on every rebuild, which is
    slow for the hundreds of intermediates a peak holds); the evaluators implement it."""


class least(sp.Function):
    """min(a, b, …), never simplified by SymPy (see ``largest``); the evaluators implement it."""


_BOUNDS_ONLY = Absent("appears only in derived bounds, never differentiated")
_NO_MATHLIB = Absent("a derived bound, never printed to Lean")


def _unary(function: type, mathlib: str) -> Primitive:
    """A smooth elementary function SymPy's printers already evaluate."""
    return Primitive(function, function.fdiff, LAMBDIFY, LAMBDIFY, CHAIN_RULE, _none, _none, Mathlib(mathlib))


PRIMITIVES: tuple[Primitive, ...] = (
    _unary(sp.exp, "Real.exp"),
    _unary(sp.log, "Real.log"),
    _unary(sp.sinh, "Real.sinh"),
    _unary(sp.cosh, "Real.cosh"),
    _unary(sp.tanh, "Real.tanh"),
    Primitive(sp.Abs, sp.Abs.fdiff, LAMBDIFY, LAMBDIFY, CHAIN_RULE, _none, _first_argument, Mathlib("abs")),
    Primitive(sp.sign, sp.sign._eval_derivative, LAMBDIFY, LAMBDIFY, EXACT, _none, _first_argument,
              Mathlib("Real.sign")),
    Primitive(sp.Max, sp.Max.fdiff, LAMBDIFY, LAMBDIFY, SELECTION, _none, _pairwise_differences, Mathlib("max")),
    Primitive(sp.Min, sp.Min.fdiff, LAMBDIFY, LAMBDIFY, SELECTION, _none, _pairwise_differences, Mathlib("min")),
    # printed as a call: SymPy's printers rewrite it as a Piecewise and fold every enclosing condition (slow)
    Primitive(sp.Heaviside, sp.Heaviside.fdiff, _mpmath_heaviside, LAMBDIFY, EXACT, _none, _first_argument,
              Absent("only in derivatives through a kink, which the bridge prints as the Piecewise")),
    Primitive(sp.DiracDelta, sp.DiracDelta.fdiff, _mpmath_dirac_delta, _numpy_dirac_delta, CHAIN_RULE, _none,
              _none, Absent("no real Mathlib counterpart")),
    Primitive(log1p, log1p.fdiff, LAMBDIFY, LAMBDIFY, CHAIN_RULE, _none, _none, Mathlib("Real.log", applied=False)),
    Primitive(xlogy, xlogy.fdiff, _mpmath_xlogy, _numpy_xlogy, _xlogy_error, _none, _none,
              Mathlib("Real.log", applied=False)),
    Primitive(complex_abs, complex_abs.fdiff, mpmath.hypot, np.hypot, CHAIN_RULE, _sum_of_squares, _none,
              Mathlib("Real.sqrt", applied=False)),
    Primitive(clamp_min, clamp_min.fdiff, _mpmath_clamp_min, np.maximum, SELECTION, _none, _over_floor,
              Mathlib("max", applied=False)),
    Primitive(pnorm, pnorm.fdiff, _mpmath_pnorm, _numpy_pnorm, _pnorm_error, _sum_of_powers, _none,
              Mathlib("Real.rpow", applied=False)),
    Primitive(largest, _BOUNDS_ONLY, _mpmath_largest, _numpy_largest, SELECTION, _none, _none, _NO_MATHLIB),
    Primitive(least, _BOUNDS_ONLY, _mpmath_least, _numpy_least, SELECTION, _none, _none, _NO_MATHLIB),
)

FACETS = tuple(f.name for f in fields(Primitive))

_BY_TYPE = {p.function: p for p in PRIMITIVES}


def primitive_of(expr: sp.Basic) -> Primitive | None:
    """The declared primitive ``expr`` applies (through its class's ancestry), or None."""
    for cls in type(expr).__mro__:
        if cls in _BY_TYPE:
            return _BY_TYPE[cls]
    return None


def evaluator_table(backend: str) -> dict[str, Callable]:
    """The functions a generated ``backend`` ("mpmath" or "numpy") evaluator calls by name, beyond the backend's own."""
    return {p.name: getattr(p, backend) for p in PRIMITIVES if callable(getattr(p, backend))}
