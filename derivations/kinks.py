"""Kinks: where a loss switches branch, and how close a point is to switching.

A loss built from |z|, sign(z), max(a, b), clamp_min(x, lo) or a Piecewise
whose condition compares reals is not differentiable where a *branch
argument* z crosses 0:

    |z|, sign(z), Heaviside(z)  →  z          max(a, b), min(a, b)  →  a − b
    clamp_min(x, lo)            →  x − lo     Piecewise(…, a < b …)  →  a − b

(a function's rule is its ``branch_arguments`` facet in ``primitives``;
conditions such as y = 1 or target = ignore_index select by label, not by a
real comparison, and are no kinks). At z = 0 exactly, the spec states
PyTorch's convention (sign(0) = 0, the linear piece at the hinge), and a
kernel that differs there commits a *convention mismatch*. Where 0 < |z| is
within the rounding error of evaluating z, u·M(z), a correct kernel may
compute z with the other sign and take the other branch: its gradient there
is that branch's, and no gradient claim can be made. ``slack`` = |z|/M(z) is
the distance to the nearest kink in units of that error.
"""

from __future__ import annotations

import sympy as sp

from .magnitude import rounding_magnitude
from .primitives import least, primitive_of

_INEQUALITIES = (sp.StrictLessThan, sp.LessThan, sp.StrictGreaterThan, sp.GreaterThan)


def branch_arguments(expr: sp.Expr, variables: set[sp.Symbol]) -> list[sp.Expr]:
    """The branch arguments z of ``expr`` that depend on ``variables`` (the differentiable inputs)."""
    found: list[sp.Expr] = []
    for node in sp.preorder_traversal(expr):
        primitive = primitive_of(node)
        if primitive is not None:
            found.extend(primitive.branch_arguments(node))
        elif isinstance(node, _INEQUALITIES):
            found.append(node.lhs - node.rhs)
    return [z for z in dict.fromkeys(found) if z.free_symbols & variables]


def computed_exactly_at_zero(z: sp.Expr) -> bool:
    """Does a kernel compute z = 0 exactly where it is exactly 0? True for sums and products of inputs
    and constants (x − t at x = t is exact, Sterbenz); not through a norm, root or other function,
    whose rounding leaves an exact tie such as d(a, n) = d(p, n) a few ulps either side of 0."""
    return not any(isinstance(node, sp.Function) or (node.is_Pow and not node.exp.is_Integer)
                   for node in sp.preorder_traversal(z))


def kink_outputs(expr: sp.Expr, variables: set[sp.Symbol]) -> tuple[sp.Expr, sp.Expr]:
    """(slack, distance): the least |z|/M(z) over branch arguments z that may be taken with either sign
    (z ≠ 0, or z = 0 where a kernel cannot compute it exactly), and the least |z| over those it computes
    exactly (0 exactly at a kink whose convention applies). Both are +∞ for a smooth ``expr``."""
    arguments = branch_arguments(expr, variables)
    slacks, distances = [], []
    for z in arguments:
        if computed_exactly_at_zero(z):
            slacks.append(sp.Piecewise((sp.Abs(z) / rounding_magnitude(z), sp.Ne(z, 0)), (sp.oo, True)))
            distances.append(sp.Abs(z))
        else:
            magnitude = rounding_magnitude(z)  # 0 only where every term of z is 0
            slacks.append(sp.Piecewise((sp.Abs(z) / magnitude, sp.Ne(magnitude, 0)), (0, True)))
    return _least(slacks), _least(distances)


def _least(values: list[sp.Expr]) -> sp.Expr:
    return sp.oo if not values else values[0] if len(values) == 1 else least(*values)
