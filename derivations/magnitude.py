"""Rounding magnitude: how much rounding error evaluating an expression can pick up.

``rounding_magnitude(e)`` is M(e), a first-order bound such that evaluating
``e`` in a floating-point format with unit roundoff u, from exact inputs,
errs by about u·M(e) (Higham, *Accuracy and Stability*, §3: running error
bounds). Each operation rounds once and propagates its operands' errors:

    M(input) = |input|                                (inputs perturbed by u, relatively)
    M(a + b) = |a + b| + M(a) + M(b)
    M(a·b)   = |a·b| + |b|·M(a) + |a|·M(b)
    M(f(a))  = |f(a)| + |f'(a)|·M(a)                 (exp, log, log1p, powers, ...)

Charging each input |input| makes M cover the condition number too: a
relative perturbation u of every input moves e by at most u·Σ|∂e/∂s|·|s|,
which the propagation bounds. M(e)/|e| is thus the condition-aware relative
error allowance: large exactly where cancellation (softmax − target,
lse − x) or an ill-conditioned function (log near 1, exp of a large
argument) makes a correctly written kernel lose accuracy. A function whose
rule needs a limit (xlogy: 0·log 0) supplies it as ``rounding_magnitude``.
"""

from __future__ import annotations

import sympy as sp


def rounding_magnitude(expr: sp.Expr) -> sp.Expr:
    """M(expr) as a SymPy expression in the same symbols."""
    if expr.is_Symbol:
        return sp.Abs(expr)
    if expr.is_Rational:
        return sp.Integer(0)
    if expr.is_Atom:
        return sp.Abs(expr)
    if expr.is_Add:
        return sp.Abs(expr) + sp.Add(*[rounding_magnitude(a) for a in expr.args])
    if expr.is_Mul:
        factors = expr.args
        propagated = [
            rounding_magnitude(f) * sp.Abs(sp.Mul(*factors[:i], *factors[i + 1:]))
            for i, f in enumerate(factors)
        ]
        return sp.Abs(expr) + sp.Add(*propagated)
    if expr.is_Pow:
        base, exponent = expr.args
        exponent_term = (
            sp.Integer(0) if exponent.is_Rational
            else sp.Abs(expr * sp.log(base)) * rounding_magnitude(exponent)
        )
        return sp.Abs(expr) + sp.Abs(exponent * base ** (exponent - 1)) * rounding_magnitude(base) + exponent_term
    if hasattr(expr, "rounding_magnitude"):
        return expr.rounding_magnitude(rounding_magnitude)
    if isinstance(expr, sp.Function):
        propagated = [
            sp.Abs(expr.fdiff(i + 1)) * rounding_magnitude(arg) for i, arg in enumerate(expr.args)
        ]
        return sp.Abs(expr) + sp.Add(*propagated)
    raise TypeError(f"no rounding magnitude rule for {type(expr).__name__}: {expr}")
