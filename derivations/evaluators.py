"""Numeric evaluators generated from SymPy expressions with ``sympy.lambdify``.

Two backends: ``mpmath`` for the oracle (runs at whatever ``mpmath.mp``
precision is current, so one evaluator serves every working precision) and
``numpy`` for the fast float64 evaluator. Functions the specs define
(``xlogy``) get an implementation per backend here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import mpmath
import numpy as np
import sympy as sp


def _mpmath_xlogy(y, x):
    return mpmath.mpf(0) if y == 0 else y * mpmath.log(x)


def _numpy_xlogy(y, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(x))


_MPMATH = {"xlogy": _mpmath_xlogy}
_NUMPY = {"xlogy": _numpy_xlogy}


def _divides(expr: sp.Basic) -> bool:
    """Does ``expr`` divide by something that is not a constant?"""
    return any(node.is_Pow and node.exp.is_negative and not node.base.is_number
               for node in sp.preorder_traversal(expr))


def _dividing_piecewises(expr: sp.Basic) -> Iterator[sp.Piecewise]:
    """The outermost Piecewise nodes of ``expr`` with a division inside."""
    if isinstance(expr, sp.Piecewise):
        if _divides(expr):
            yield expr
        return
    for arg in expr.args:
        yield from _dividing_piecewises(arg)


def _cse_outside_branches(exprs: Sequence[sp.Expr]) -> tuple[list, list]:
    """Common subexpressions, leaving alone the inside of every Piecewise that divides.

    The generated code evaluates a Piecewise lazily (only the branch taken), but
    a subexpression hoisted out of a branch is evaluated always: 1/p from the
    branch p > ε would divide by zero at p = 0.
    """
    hidden = {pw: sp.Dummy("piecewise") for e in exprs for pw in _dividing_piecewises(sp.sympify(e))}
    shown = {dummy: pw for pw, dummy in hidden.items()}
    replacements, reduced = sp.cse([sp.sympify(e).xreplace(hidden) for e in exprs])
    return ([(s, v.xreplace(shown)) for s, v in replacements], [r.xreplace(shown) for r in reduced])


def make_mpmath(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arguments) -> tuple of mpf, evaluated at the current mpmath precision."""
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_MPMATH, "mpmath"], cse=_cse_outside_branches)


def make_numpy(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arrays) -> tuple of float64 arrays (broadcast over units)."""
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_NUMPY, "numpy"], cse=True)
