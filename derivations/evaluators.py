"""Numeric evaluators generated from SymPy expressions with ``sympy.lambdify``.

Two backends: ``mpmath`` for the oracle (runs at whatever ``mpmath.mp``
precision is current, so one evaluator serves every working precision) and
``numpy`` for the fast float64 evaluator. Functions the specs define
(``xlogy``, ``clamp_min``) get an implementation per backend here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import sympy as sp


def _mpmath_xlogy(y, x):
    return mpmath.mpf(0) if y == 0 else y * mpmath.log(x)


def _numpy_xlogy(y, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(y == 0, 0.0, y * np.log(x))


def _mpmath_clamp_min(x, lo):
    return x if x >= lo or mpmath.isnan(x) else lo


_MPMATH = {"xlogy": _mpmath_xlogy, "clamp_min": _mpmath_clamp_min}
_NUMPY = {"xlogy": _numpy_xlogy, "clamp_min": np.maximum}


def make_mpmath(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arguments) -> tuple of mpf, evaluated at the current mpmath precision."""
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_MPMATH, "mpmath"], cse=True)


def make_numpy(arguments: Sequence[sp.Symbol], outputs: Sequence[sp.Expr]) -> Callable:
    """f(*arrays) -> tuple of float64 arrays (broadcast over units)."""
    return sp.lambdify(list(arguments), tuple(outputs), modules=[_NUMPY, "numpy"], cse=True)
