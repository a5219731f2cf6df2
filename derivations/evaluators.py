"""Numeric evaluators generated from SymPy expressions with ``sympy.lambdify``.

Two backends: ``mpmath`` for the oracle (runs at whatever ``mpmath.mp``
precision is current, so one evaluator serves every working precision) and
``numpy`` for the fast float64 evaluator. A function SymPy's printers do not
evaluate gets its implementation per backend from its declaration in
``primitives`` (``_MPMATH``, ``_NUMPY``: name → implementation).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
import sympy as sp
from sympy.printing.pycode import MpmathPrinter

from .primitives import evaluator_table


def _select(condlist: Sequence, choicelist: Sequence, default: object = 0) -> np.ndarray:
    """``numpy.select`` with each condition taken by its truth, as a Python conditional (the mpmath backend)
    takes it: a condition cse has turned into a number (an array of 1.0) is accepted, not a TypeError."""
    return np.select([np.asarray(c, dtype=bool) for c in condlist], choicelist, default=default)


_MPMATH = evaluator_table("mpmath")
_NUMPY = {**evaluator_table("numpy"), "select": _select}


def cse_outside_piecewise(exprs: Sequence[sp.Expr]) -> tuple[list, Sequence[sp.Expr]]:
    """``sympy.cse`` that never hoists a subexpression out of a Piecewise branch.

    A Piecewise prints as a Python conditional expression, which evaluates only
    the branch taken; plain cse would pull a guarded subexpression (the 1/β of
    ``d²/(2β) if |d| < β``, with β = 0) out of its guard and evaluate it
    unconditionally (ZeroDivisionError in mpmath). Each Piecewise is hidden
    behind a placeholder during cse and put back whole afterwards.
    """
    pieces: dict[sp.Expr, sp.Symbol] = {}

    def hide(expr: sp.Basic) -> sp.Basic:
        if isinstance(expr, sp.Piecewise):
            return pieces.setdefault(expr, sp.Dummy("piecewise"))
        if not expr.args:
            return expr
        return expr.func(*[hide(a) for a in expr.args])

    hidden = [hide(sp.sympify(e)) for e in exprs]
    if not pieces:
        return sp.cse(exprs, list=False)
    replacements, reduced = sp.cse(hidden, list=False)
    restore = {placeholder: piece for piece, placeholder in pieces.items()}
    return ([(s, e.xreplace(restore)) for s, e in replacements],
            type(reduced)(e.xreplace(restore) for e in reduced))


class _OraclePrinter(MpmathPrinter):
    """The mpmath printer, with ``Heaviside`` printed as a call. SymPy's printers rewrite it as a Piecewise
    and fold and simplify the conditions of every enclosing Piecewise: seconds for the gradient of a
    three-element max, minutes for a user's Chebyshev distance inside the triplet loss."""

    def _print_Heaviside(self, expr: sp.Heaviside) -> str:
        x, at_zero = (*expr.args, sp.Rational(1, 2))[:2]
        return f"Heaviside({self._print(x)}, {self._print(at_zero)})"


def make_mpmath(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arguments) -> tuple of mpf, evaluated at the current mpmath precision."""
    printer = _OraclePrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                              "user_functions": {name: name for name in _MPMATH}})  # lambdify's own settings
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_MPMATH, "mpmath"], cse=cse_outside_piecewise,
                       printer=printer)


def make_numpy(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arrays) -> tuple of float64 arrays (broadcast over units)."""
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_NUMPY, "numpy"], cse=True)


_MODULES = {"mpmath": [_MPMATH, "mpmath"], "numpy": [_NUMPY, "numpy"]}


@cache
def _namespace(backend: str) -> dict:
    """The globals lambdify gives a generated function of ``backend`` (a template: copied per function)."""
    return dict(sp.lambdify([], 0, modules=_MODULES[backend]).__globals__)


def generated_source(function: Callable, arguments: Sequence[sp.Symbol], backend: str) -> str | None:
    """The source of a function ``make_mpmath``/``make_numpy`` generated, if ``load_generated`` rebuilds it
    exactly: None when lambdify put anything but the arguments' names into its globals beyond the template."""
    extra = set(function.__globals__) - set(_namespace(backend))
    if not extra <= {str(a) for a in arguments}:
        return None
    return inspect.getsource(function)


def load_generated(source: str, backend: str) -> Callable:
    """The function ``generated_source`` returned the source of, rebuilt in a copy of lambdify's globals."""
    namespace = dict(_namespace(backend))
    local: dict[str, Callable] = {}
    exec(compile(source, "<losscheck-generated>", "exec"), namespace, local)
    (function,) = local.values()
    return function
