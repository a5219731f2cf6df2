"""Kinks: where a loss switches branch, and how close a point is to switching.

A loss built from |z|, sign(z), max(a, b), clamp_min(x, lo) or a Piecewise
whose condition compares reals is not differentiable where a *branch
argument* z crosses 0:

    |z|, sign(z), Heaviside(z)  →  z          max(a, b), min(a, b)  →  a − b
    clamp_min(x, lo)            →  x − lo     Piecewise(…, a < b …)  →  a − b

(conditions such as y = 1 or target = ignore_index select by label, not by a
real comparison, and are no kinks). At z = 0 exactly, the spec states
PyTorch's convention (sign(0) = 0, the linear piece at the hinge), and a
kernel that differs there commits a *convention mismatch*. Where 0 < |z| is
within the rounding error of evaluating z, u·M(z), a correct kernel may
compute z with the other sign and take the other branch: its gradient there
is that branch's, and no gradient claim can be made. ``slack`` = |z|/M(z) is
the distance to the nearest kink in units of that error.
"""

from __future__ import annotations

from itertools import combinations

import sympy as sp

from ..spec.functions import clamp_min
from .magnitude import least, rounding_magnitude

_INEQUALITIES = (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)


def branch_arguments(expr: sp.Expr, variables: set[sp.Symbol]) -> list[sp.Expr]:
    """The branch arguments z of ``expr`` that depend on ``variables`` (the differentiable inputs)."""
    found: list[sp.Expr] = []
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.Abs, sp.sign, sp.Heaviside)):
            found.append(node.args[0])
        elif isinstance(node, (sp.Max, sp.Min)):
            found.extend(a - b for a, b in combinations(node.args, 2))
        elif isinstance(node, clamp_min):
            found.append(node.args[0] - node.args[1])
        elif isinstance(node, _INEQUALITIES):
            found.append(node.lhs - node.rhs)
    return [z for z in dict.fromkeys(found) if z.free_symbols & variables]


def kink_outputs(expr: sp.Expr, variables: set[sp.Symbol]) -> tuple[sp.Expr, sp.Expr]:
    """(slack, distance): min over branch arguments z ≠ 0 of |z|/M(z), and min |z| (0 exactly at a kink).

    Both are +∞ for a smooth ``expr``.
    """
    arguments = branch_arguments(expr, variables)
    if not arguments:
        return sp.oo, sp.oo
    slacks = [sp.Piecewise((sp.Abs(z) / rounding_magnitude(z), sp.Ne(z, 0)), (sp.oo, True)) for z in arguments]
    distances = [sp.Abs(z) for z in arguments]
    if len(arguments) == 1:
        return slacks[0], distances[0]
    return least(*slacks), least(*distances)
