"""Element-wise comparison of an implementation's output with the exact reference."""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .oracle import Bound
from .tolerance import allowed_error, overflows, ulp, withheld


@dataclass
class Comparison:
    """The worst element (by error/allowed ratio) and every failing element.

    ``worst_ulps`` is the largest error in ULPs at the exact value over the
    elements whose exact value is not 0 (at 0 the ULP is the subnormal
    spacing, and the count says nothing); ``worst_relative`` likewise is
    |got − exact|/|exact| over those elements. The verdict uses the ratio.
    ``at_kink`` lists the failing elements that read a unit sitting exactly on a kink, where
    the spec states PyTorch's convention: a failure there is a convention mismatch.
    """

    worst_ratio: float = 0.0
    worst_index: int = -1
    worst_exact: mpmath.mpf | None = None
    worst_got: float | None = None
    worst_ulps: float = 0.0
    worst_relative: float = 0.0
    failing: list[int] = field(default_factory=list)
    at_kink: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failing


def _special_ok(exact: mpmath.mpf, got: float, dtype: str) -> bool | None:
    """Verdict for special values (None when both are ordinary finite numbers)."""
    if mpmath.isnan(exact):
        return math.isnan(got)
    if mpmath.isinf(exact):
        return got == float(exact)
    if overflows(exact, dtype):
        return got == math.copysign(math.inf, float(exact))
    if not math.isfinite(got):
        return False
    return None


def _element(e: mpmath.mpf, bound: Bound, g: float, dtype: str, derivative: bool) -> tuple[float, float, float]:
    """(error/allowed, ULPs at e, relative error) of one element."""
    if withheld(bound, e, dtype, derivative):
        return 0.0, 0.0, 0.0
    special = _special_ok(e, g, dtype)
    if special is not None:
        return (0.0, 0.0, 0.0) if special else (math.inf, math.inf, math.inf)
    error = abs(mpmath.mpf(g) - e)
    ratio = float(error / allowed_error(dtype, e, bound.magnitude, bound.underflow, bound.count, bound.summands))
    ulps = float(error / ulp(e, dtype)) if e != 0 else 0.0
    relative = float(error / abs(e)) if e != 0 else 0.0
    return ratio, ulps, relative


def compare(exact: Sequence[mpmath.mpf], bounds: Sequence[Bound], got: np.ndarray, dtype: str,
            skip: Set[int] = frozenset(), derivative: bool = False) -> Comparison:
    """Compare flat ``got`` (float64 holding dtype values) against ``exact`` element by element.

    Elements whose index is in ``skip`` are left out. A ``derivative`` (a gradient) makes no
    claim on elements within rounding of a kink (``tolerance.branch_ambiguous``).
    """
    result = Comparison()
    seen: dict[tuple, tuple[float, float, float]] = {}  # a large reduction repeats its elements
    for i, (e, bound, g) in enumerate(zip(exact, bounds, got.reshape(-1).tolist())):
        if i in skip:
            continue
        key = (e, bound, g)  # the whole bound: _element reads every field of it (peak and at_kink too)
        if key not in seen:
            seen[key] = _element(e, bound, g, dtype, derivative)
        ratio, ulps, relative = seen[key]
        result.worst_ulps = max(result.worst_ulps, ulps)
        result.worst_relative = max(result.worst_relative, relative)
        if not ratio <= 1.0:  # a NaN ratio fails too
            result.failing.append(i)
            if bound.at_kink:
                result.at_kink.append(i)
        if ratio > result.worst_ratio or result.worst_index < 0:
            result.worst_ratio, result.worst_index = ratio, i
            result.worst_exact, result.worst_got = e, g
    return result
