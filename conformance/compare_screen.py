"""A float64 screen of the element judge: brackets of each element's error/allowed, ULPs and relative error.

``compare._element`` judges one element in mpmath: the policy's allowance (``tolerance.allowed_error``)

    allowed = r·ulp(e) + c·(u·M + η·A) + a·g(n)·(u·S + η·A),

the no-claim rules (``tolerance.withheld``) and the special values. Most elements are far from every
threshold, and float64 decides them: ``float64_screen`` evaluates the same formulas on float64 copies of
the exact value and the scales, each widened by the float64 rounding it may carry (2^-40 relative, a
generous multiple of the handful of roundings involved; e carried as fl(e) + r, r = e − fl(e) rounded
to 53 bits; ulp(e) one binade lower when fl(e) is a power of two, since e may lie just below it). An
element is *decided* when its bracket lies on one side of the verdict and every rule's threshold is out
of reach; anything else (a special or non-finite value, an exact value near the float64 underflow, a peak
or a kink slack near its threshold, a bracket that straddles 1) is left to ``_element``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath.libmp import to_float

from .reference import Bound
from .tolerance import FORMATS, TOLERANCES, overflow_threshold

ROUNDING = 2.0 ** -40  # relative slack for the float64 evaluation of a formula
MARGIN = 2.0 ** -45  # keeps a bracket strictly clear of 1 and of a largest figure after float rounding
MPF = mpmath.mpf
TINY = 2.0 ** -1000  # below this an exact value is judged in mpmath (float64 subnormals lose bits)


@dataclass
class Screen:
    """Per element: (low, high) brackets of ratio, ULPs and relative error, and the decisions."""

    ratio: tuple[np.ndarray, np.ndarray]
    ulps: tuple[np.ndarray, np.ndarray]
    relative: tuple[np.ndarray, np.ndarray]
    decided: np.ndarray  # verdict and figures bracketed; no rule's threshold within reach
    certain_zero: np.ndarray  # withheld, or got equals the exact value: every figure is 0
    certain_fail: np.ndarray

    def needs_exact(self, maxima: tuple[float, float, float]) -> np.ndarray:
        """Elements ``_element`` must judge: the undecided, and any that may hold a largest figure
        (``maxima``: lower bounds of the largest ratio, ULPs and relative error)."""
        may_be_largest = np.zeros(len(self.decided), dtype=bool)
        with np.errstate(over="ignore"):
            for (_, high), largest in zip((self.ratio, self.ulps, self.relative), maxima):
                may_be_largest |= high * (1 + MARGIN) >= largest
        return ~self.certain_zero & (~self.decided | may_be_largest)


def _floats(values: Sequence[mpmath.mpf]) -> np.ndarray:
    return np.fromiter((to_float(v._mpf_, rnd="n") if v.__class__ is MPF else float(v) for v in values),
                       dtype=np.float64, count=len(values))


def float64_screen(exact: Sequence[mpmath.mpf], bounds: Sequence[Bound], got: np.ndarray, dtype: str,
                   derivative: bool) -> Screen:
    """Bracket every element's figures in float64 (see the module docstring)."""
    tol, fmt = TOLERANCES[dtype], FORMATS[dtype]
    n = len(exact)
    e = _floats(exact)
    magnitude, underflow, summands = (_floats([getattr(b, f) for b in bounds]) for f in
                                      ("magnitude", "underflow", "summands"))
    peak, slack = _floats([b.peak for b in bounds]), _floats([b.slack for b in bounds])
    count = np.fromiter((max(b.count, 1) for b in bounds), dtype=np.float64, count=n)
    undefined = np.fromiter((b.undefined for b in bounds), dtype=bool, count=n)
    limit = float(overflow_threshold(dtype))
    with np.errstate(all="ignore"):
        unsure = ~np.isfinite(e) | ~np.isfinite(got) | (np.abs(e) >= limit * (1 - ROUNDING))
        unsure |= ((np.abs(e) < TINY) & (e != 0)) | np.isnan(slack) | np.isnan(peak)
        unsure |= ~(np.isfinite(magnitude) & np.isfinite(underflow) & np.isfinite(summands))
        unsure |= (magnitude < 0) | (underflow < 0) | (summands < 0)
        zero_e = e == 0  # fl(e) = 0: e is 0 exactly, or too small for float64
        for k in np.flatnonzero(zero_e).tolist():
            unsure[k] |= exact[k] != 0

        # no-claim rules (tolerance.withheld), each certainly true, certainly false, or within reach
        finite_peak = np.isfinite(peak)
        over = finite_peak & (np.abs(peak) >= limit * (1 + ROUNDING))
        unsure |= ~finite_peak | (finite_peak & ~over & (np.abs(peak) >= limit * (1 - ROUNDING)))
        withheld = over
        if derivative:
            kink = (2 * tol.rounding_ulps + tol.condition) * float(fmt.unit_roundoff)
            withheld = withheld | undefined | (slack <= kink * (1 - ROUNDING))
            unsure |= (slack > kink * (1 - ROUNDING)) & (slack <= kink * (1 + ROUNDING))
        withheld &= np.isfinite(e)

        # e = fl(e) + r, r to 53 bits, where a float64 bracket needs it (a float64 target's error is a few of
        # float64's ULPs) or got = fl(e) (then r = 0 is error 0); elsewhere |r| ≤ 2^-52·|fl(e)| suffices
        known = (got == e) | (dtype == "float64")
        residual = np.zeros(n)
        for k in np.flatnonzero(known & np.isfinite(e)).tolist():
            x = exact[k]
            residual[k] = to_float((x - e[k])._mpf_, rnd="n") if x.__class__ is MPF else float(x) - e[k]
        equal = (got == e) & (residual == 0)

        mantissa, exponent = np.frexp(np.where(zero_e, 1.0, e))
        exponent = np.maximum(exponent - 1, fmt.min_exponent)
        ulp_high = np.where(zero_e, math.ldexp(1.0, fmt.min_exponent - fmt.precision + 1),
                            np.ldexp(1.0, exponent - fmt.precision + 1))
        ulp_low = np.where((np.abs(mantissa) == 0.5) & ~zero_e & (exponent - 1 >= fmt.min_exponent),
                           ulp_high / 2, ulp_high)
        u = float(fmt.unit_roundoff)
        eta = fmt.min_exponent - fmt.precision
        eta_low, eta_high = math.ldexp(1.0, eta), math.ldexp(1.0, max(eta, -1074))
        growth = (count - 1) if tol.growth == "linear" else np.log2(count)
        allowed_low = (tol.rounding_ulps * ulp_low + tol.condition * (u * magnitude + eta_low * underflow)
                       + tol.accumulation * growth * (u * summands + eta_low * underflow)) * (1 - ROUNDING)
        allowed_high = (tol.rounding_ulps * ulp_high + tol.condition * (u * magnitude + eta_high * underflow)
                        + tol.accumulation * growth * (u * summands + eta_high * underflow)) * (1 + ROUNDING) \
            + 2.0 ** -1060
        unsure |= ~np.isfinite(allowed_high) | ~(allowed_low > 0)

        difference = np.abs((got - e) - residual)
        spread = np.where(known, np.abs(residual) * 2.0 ** -48, np.abs(e) * 2.0 ** -52)  # what r leaves out
        error_low = np.maximum(difference * (1 - ROUNDING) - spread, 0.0)
        error_high = difference * (1 + ROUNDING) + spread
        ratio = (error_low / allowed_high, error_high / allowed_low)
        ulps = (np.where(zero_e, 0.0, error_low / ulp_high), np.where(zero_e, 0.0, error_high / ulp_low))
        relative = (np.where(zero_e, 0.0, error_low / (np.abs(e) * (1 + ROUNDING))),
                    np.where(zero_e, 0.0, error_high / (np.abs(e) * (1 - ROUNDING))))

        certain_zero = (withheld | equal) & ~(unsure & ~withheld)
        fail = ratio[0] > 1 + MARGIN
        straddles = ~fail & ~(ratio[1] <= 1)
        decided = certain_zero | ~(unsure | straddles)
        brackets = []
        for low, high in (ratio, ulps, relative):
            low = np.where(certain_zero, 0.0, np.where(decided, low, 0.0))
            high = np.where(certain_zero, 0.0, np.where(decided, high, np.inf))
            brackets.append((np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=np.inf)))
    return Screen(*brackets, decided=decided, certain_zero=certain_zero,
                  certain_fail=decided & ~certain_zero & fail)
