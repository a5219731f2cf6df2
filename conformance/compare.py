"""Element-wise comparison of an implementation's output with the exact reference."""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from dataclasses import dataclass, field

import mpmath
import numpy as np

from .compare_screen import Screen, float64_screen
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

    The result is exactly that of judging every element with ``_element`` in index order (the first
    element of the largest ratio is the worst). A float64 screen (``float64_screen``) brackets each
    element's ratio, ULPs and relative error; ``_element`` runs only where a bracket cannot decide the
    verdict, where a special value or a no-claim rule is within float64 rounding of its threshold, and on
    the elements that may hold a largest figure. Every other element's figures are provably smaller.
    """
    result = Comparison()
    flat = got.reshape(-1).tolist()
    indices = [i for i in range(min(len(exact), len(bounds), len(flat))) if i not in skip]
    screen = float64_screen([exact[i] for i in indices], [bounds[i] for i in indices],
                            np.array([flat[i] for i in indices], dtype=np.float64), dtype, derivative)
    seen: dict[tuple, tuple[float, float, float]] = {}  # a large reduction repeats its elements
    known: dict[int, tuple[float, float, float]] = {}
    for k in np.flatnonzero(screen.needs_exact(_maxima_bounds(screen))).tolist():
        i = indices[k]
        key = (exact[i], bounds[i], flat[i])  # the whole bound: _element reads every field of it
        if key not in seen:
            seen[key] = _element(exact[i], bounds[i], flat[i], dtype, derivative)
        known[k] = seen[key]
    zero = (0.0, 0.0, 0.0)
    for k in np.flatnonzero(screen.certain_zero).tolist():
        known.setdefault(k, zero)
    fails = screen.certain_fail
    for k, i in enumerate(indices):
        figures = known.get(k)
        if (figures is not None and not figures[0] <= 1.0) or (figures is None and fails[k]):  # NaN fails too
            result.failing.append(i)
            if bounds[i].at_kink:
                result.at_kink.append(i)
        if figures is None:  # provably below the largest ratio, ULPs and relative error (float64_screen)
            continue
        ratio, ulps, relative = figures
        result.worst_ulps = max(result.worst_ulps, ulps)
        result.worst_relative = max(result.worst_relative, relative)
        if ratio > result.worst_ratio or result.worst_index < 0:
            result.worst_ratio, result.worst_index = ratio, i
            result.worst_exact, result.worst_got = exact[i], flat[i]
    return result


def _maxima_bounds(screen: Screen) -> tuple[float, float, float]:
    """Lower bounds of the largest ratio, ULPs and relative error (0 when nothing is known)."""
    return tuple(float(low.max(initial=0.0)) for low in (screen.ratio[0], screen.ulps[0], screen.relative[0]))
