"""The oracle's float64 first pass: a case evaluated with NumPy, kept only where its error is certified to
lie far inside what the tolerance policy allows the judged dtype; everywhere else the oracle escalates to
its high-precision evaluation.

Each distinct unit's row (l, d, ∂l/∂s, ∂d/∂s and the scales M, A, P, slack, distance: the derivation's
``full`` row) is evaluated in IEEE double with NumPy, and reduced as the oracle reduces, in float64
(``float64_reduction``). A float64 quantity q with rounding magnitude M(q) and underflow
magnitude A(q) (``derivations.magnitude``) errs by at most

    e(q) = K·(u₆₄·M(q) + η₆₄·A(q)),   K = 2^12,

the running error bound with every operation allowed K/2 ulps instead of one half: a margin for NumPy's
elementary functions, which are not correctly rounded (a few ulps at worst). The reduction carries
these to every element, for units u with coefficients c_u (δ_u, δ, δ/D, δ/B) and, for a mean, D = Σ d_u,
ε_D = Σ e(d_u)/|D| and t = −δ·L/D:

    value:        Σ_u |c_u|·e(l_u) + |L|·ε_D
    gradient:     Σ_u |c_u|·e(∂l_u) + |c_u|·ε_D·|∂l_u| + |t|·e(∂d_u) + e(t)·|∂d_u|,
                  e(t) = |δ/D|·e(L) + |t|·ε_D,

first order, then doubled, with the reduction's own roundings (``float64_reduction``). The pass is kept when
every element's bound is at most a thousandth (``MARGIN``) of the least the policy allows it, condition·(u·M +
η·A) + rounding_ulps·ulp(|q| − e) (``tolerance.allowed_error`` without its accumulation term, ulp at the low
end of q's interval), and no decision the judge takes from the reference is within reach of the error: an exact kink
(distance 0) or a slack near 0 or near the dtype's branch threshold (``tolerance.branch_ambiguous``), a value
or peak near the dtype's overflow threshold, a value whose bound straddles a power of two (its ULP), a unit
total near the dtype's largest value. It also escalates where NumPy flags an overflow or underflow anywhere in
the evaluation (an underflowed intermediate can leave a scale such as M wrong while every output is finite),
where any output is NaN or infinite, where a mean's denominator is uncertain or 0, and for what it does not
handle: float64 targets (held to the high-precision oracle always), ``Sequences`` specs, stated gradient
conventions and complex tensors.

The scales M, A, P, S and slack of a kept reference are float64 evaluations of the expressions the
high-precision pass evaluates at 70 digits; where a scale holds a value (the |L| in a mean's M, the |∂l/∂s|
in a gradient's peak) it carries that value's error, so the allowance moves by at most
(condition + accumulation·g(n))·u·(error bound), about 1e-4 of itself in bfloat16. A verdict can thus differ
from the high-precision oracle's only where |got − exact| is within about a thousandth of the allowance.
tests/test_first_pass.py checks each claim against the high-precision oracle, and that a run's verdicts
are the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..derivations.evaluators import make_numpy
from ..derivations.magnitude import rounding_magnitude, underflow_magnitude
from ..derivations.row_layout import layout, view
from .float64_reduction import Quantity, reduce_float64
from .reference import Reference
from .tolerance import FORMATS, TOLERANCES, ulp

ENV_HIGH_PRECISION_ONLY = "LOSSCHECK_HIGH_PRECISION_ONLY"
"""Set to 1: no first pass, every reference at high precision (for comparisons and benchmarks)."""

K = 2.0 ** 12
MARGIN = 1000.0
U64 = 2.0 ** -53
ETA64 = 2.0 ** -1075
REDUCTION_RELATIVE = 2.0 ** -50  # a margin on the float64 reduction's bound (its second-order terms)
NEAR_ZERO_SLACK = 2.0 ** -16  # |z|/M(z) below this: z's sign or zero is not certain in float64 (error ≤ K·u₆₄)
BAND = 2.0 ** -30  # relative distance to a threshold within which a float64 scale does not decide


def enabled(dtype: str | None) -> bool:
    """Does a reference judged in ``dtype`` get the first pass? Not for float64 (or no dtype), nor when
    ``$LOSSCHECK_HIGH_PRECISION_ONLY`` is set."""
    return (dtype in TOLERANCES and dtype != "float64"
            and os.environ.get(ENV_HIGH_PRECISION_ONLY, "") in ("", "0"))


@dataclass
class Float64Rows:
    """The ``full`` rows of a case's distinct units in float64: ``columns`` is (columns, distinct units),
    ``which`` the distinct row of each kept unit, ``denominator`` (M(d), A(d), M(∂d/∂s)..., A(∂d/∂s)...) and
    ``smallest`` (the least nonzero |input|, +inf if none) per distinct unit."""

    columns: np.ndarray
    which: np.ndarray
    denominator: np.ndarray
    smallest: np.ndarray


def unsupported(prepared: Any) -> str:
    """Why the first pass does not handle this case ('' when it does)."""
    if prepared.derivation.conventions:
        return "a stated gradient convention"
    if prepared.table.complex_:
        return "a complex tensor"
    if not prepared.unit_args:
        return "no units"
    return ""


_SCALES: dict[int, tuple[Any, Callable]] = {}


def _denominator_scales(derivation: Any) -> Callable:
    """The NumPy function of (M(d), A(d), M(∂d/∂s)..., A(∂d/∂s)...) for one derivation (generated once)."""
    entry = _SCALES.get(id(derivation))
    if entry is None or entry[0] is not derivation:
        shares = [sp.sympify(derivation.denominator), *map(sp.sympify, derivation.denominator_grad)]
        exprs = [rounding_magnitude(shares[0]), underflow_magnitude(shares[0]),
                 *map(rounding_magnitude, shares[1:]), *map(underflow_magnitude, shares[1:])]
        entry = _SCALES[id(derivation)] = (derivation, make_numpy(derivation.arguments, exprs))
    return entry[1]


def evaluate_rows(prepared: Any) -> Float64Rows | str:
    """Every distinct unit's ``full`` row in float64, or why the first pass stops here."""
    order: dict[int, int] = {}
    distinct: list[Sequence] = []
    which = []
    for args in prepared.unit_args:
        at = order.get(id(args))
        if at is None:
            at = order[id(args)] = len(distinct)
            distinct.append(args)
        which.append(at)
    count = len(distinct)
    arguments = np.array([[float(x) for x in args] for args in distinct], dtype=np.float64).T
    # options as arrays too: a Piecewise condition on an option alone must be an array for np.select
    options = [np.full(count, float(o)) for o in prepared.option_args]
    flagged: list[str] = []
    try:
        with np.errstate(over="call", under="call", divide="ignore", invalid="ignore",
                         call=lambda kind, _flag: flagged.append(kind)):
            outputs = prepared.derivation.evaluator("full", "numpy")(*arguments, *options)
            scales = _denominator_scales(prepared.derivation)(*arguments, *options)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as error:
        return f"NumPy cannot evaluate it ({type(error).__name__})"
    if flagged:
        return f"float64 {flagged[0]}"
    columns = np.array([np.broadcast_to(np.asarray(o, dtype=np.float64), (count,)) for o in outputs])
    denominator = np.array([np.broadcast_to(np.asarray(s, dtype=np.float64), (count,)) for s in scales])
    # every output finite, except a slack or distance of +inf (no kink)
    kinks = layout(len(prepared.derivation.wrt)).slack  # slack and distance close the row
    if not (np.isfinite(columns[:kinks]).all() and np.isfinite(denominator).all()
            and not np.isnan(columns[kinks:]).any() and (columns[kinks:] >= 0).all()):
        return "a non-finite float64 output"
    magnitudes = np.abs(arguments)
    smallest = np.where(magnitudes > 0, magnitudes, np.inf).min(axis=0, initial=np.inf)
    return Float64Rows(columns, np.array(which, dtype=np.int64), denominator, smallest)


def _error(magnitude: np.ndarray, underflow: np.ndarray) -> np.ndarray:
    return K * (U64 * magnitude + ETA64 * underflow)


def _element_problem(quantity: Quantity, dtype: str, peak_error: float) -> str:
    """Why these elements' float64 values do not decide their verdicts in ``dtype`` ('' if they do);
    ``peak_error`` bounds the error of a peak (it may be a unit's |∂l/∂s|)."""
    tol, fmt = TOLERANCES[dtype], FORMATS[dtype]
    q, error = quantity.values, 2 * (quantity.errors + REDUCTION_RELATIVE * np.abs(quantity.values))
    # ulp(exact) ≥ the ULP at the low end of the error interval (the least ULP when it reaches 0)
    low = np.abs(q) - error
    exponent = np.maximum(np.frexp(np.where(low > 0, low, 1.0))[1] - 1, fmt.min_exponent)
    least_ulp = np.where(low > 0, np.ldexp(1.0, exponent - fmt.precision + 1),
                         math.ldexp(1.0, fmt.min_exponent - fmt.precision + 1))
    allowed = tol.condition * (float(fmt.unit_roundoff) * quantity.magnitude
                               + float(fmt.underflow_unit) * quantity.underflow) + tol.rounding_ulps * least_ulp
    if not (np.isfinite(error).all() and np.isfinite(q).all() and (error * MARGIN <= allowed).all()):
        return "float64 error not far enough inside the allowance"
    overflow = fmt.max_value + float(ulp(mpmath.mpf(fmt.max_value), dtype)) / 2
    if (np.abs(np.abs(q) - overflow) <= error + BAND * overflow).any():
        return "a value near the dtype's overflow threshold"
    if (np.abs(quantity.peak - overflow) <= peak_error + BAND * overflow).any():
        return "a peak near the dtype's overflow threshold"
    high = np.abs(q) + error
    normal = math.ldexp(1.0, fmt.min_exponent)
    moving = (error > 0) & (high >= normal)  # below the normal range the ULP is the same everywhere
    if (moving & (low <= 0)).any() or (np.frexp(low[moving])[1] != np.frexp(high[moving])[1]).any():
        return "a value whose error bound straddles a power of two (its ULP)"
    return ""


def reference(prepared: Any, rows: Float64Rows, reduction: str, upstream: np.ndarray, dtype: str
              ) -> Reference | str:
    """The Reference the float64 rows give, where it can stand for the high-precision one when judging
    ``dtype``; else why not (see the module docstring)."""
    derivation = prepared.derivation
    n = len(derivation.wrt)
    tol, fmt = TOLERANCES[dtype], FORMATS[dtype]
    columns, scales = rows.columns[:, rows.which], rows.denominator[:, rows.which]
    row = view(columns, n)  # one column per unit (row_layout)
    errors = {"loss": _error(row.loss_magnitude, row.loss_underflow),
              "gradient": _error(row.grad_magnitude, row.grad_underflow),
              "share": _error(scales[0], scales[1]),
              "share_gradient": _error(scales[2:2 + n], scales[2 + n:2 + 2 * n])}
    every = view(rows.columns, n)
    slack, distance = every.slack, every.distance
    threshold = (2 * tol.rounding_ulps + tol.condition) * float(fmt.unit_roundoff)
    if (distance == 0).any():
        return "a unit exactly on a kink"
    finite = slack[np.isfinite(slack)]
    if (finite <= NEAR_ZERO_SLACK).any():
        return "a unit within float64 reach of a kink"
    if (np.abs(finite - threshold) <= BAND * threshold).any():
        return "a unit at the dtype's kink threshold"
    reduced = reduce_float64(prepared, columns, errors, rows.smallest[rows.which], reduction, upstream)
    if isinstance(reduced, str):
        return reduced
    if abs(abs(reduced.unit_total) - fmt.max_value) <= 2 * reduced.unit_total_error + BAND * fmt.max_value:
        return "a unit total near the dtype's largest value"
    peak_error = 2 * max(errors["loss"].max(initial=0), errors["gradient"].max(initial=0))
    problem = _element_problem(reduced.value, dtype, peak_error)
    if problem:
        return problem
    for name, quantity in reduced.grads.items():
        problem = _element_problem(quantity, dtype, peak_error)
        if problem:
            return f"grad {name}: {problem}"
    return reduced.reference()
