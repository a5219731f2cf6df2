"""compare's float64 screen changes nothing: every Comparison equals judging each element in mpmath in index
order (the definition, written out here), on elements drawn at every threshold the screen must not cross:
ratios near 1, exact values just below a power of two, peaks and kink slacks at their limits, special and
non-finite values, float64 underflow, repeated elements and ties for the worst."""

import math

import mpmath
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from losscheck.conformance import compare as compare_module
from losscheck.conformance.compare import Comparison, _element, compare
from losscheck.conformance.reference import Bound
from losscheck.conformance.tolerance import FORMATS, TOLERANCES, allowed_error, overflow_threshold, ulp

DTYPES = ("float64", "float32", "float16", "bfloat16")


def _elementwise(exact, bounds, got, dtype, skip=frozenset(), derivative=False) -> Comparison:
    """Every element judged by _element, in index order: the first of the largest ratio is the worst."""
    result = Comparison()
    for i, (e, bound, g) in enumerate(zip(exact, bounds, got.reshape(-1).tolist())):
        if i in skip:
            continue
        ratio, ulps, relative = _element(e, bound, g, dtype, derivative)
        result.worst_ulps = max(result.worst_ulps, ulps)
        result.worst_relative = max(result.worst_relative, relative)
        if not ratio <= 1.0:
            result.failing.append(i)
            if bound.at_kink:
                result.at_kink.append(i)
        if ratio > result.worst_ratio or result.worst_index < 0:
            result.worst_ratio, result.worst_index = ratio, i
            result.worst_exact, result.worst_got = e, g
    return result


def _kink(dtype):
    tol = TOLERANCES[dtype]
    return (2 * tol.rounding_ulps + tol.condition) * FORMATS[dtype].unit_roundoff


@st.composite
def _element_case(draw, dtype):
    mp = mpmath.mpf
    kind = draw(st.sampled_from(["plain", "binade", "zero", "huge", "tiny", "special", "threshold"]))
    with mpmath.workdps(40):
        if kind == "binade":  # just below (or at) a power of two: fl(e) is the power, ulp(e) half its ulp
            e = mp(2) ** draw(st.integers(-30, 30)) * (1 - mp(2) ** -draw(st.integers(54, 90)))
        elif kind == "zero":
            e = mp(0)
        elif kind == "huge":
            e = overflow_threshold(dtype) * (1 + draw(st.sampled_from([-1, 1])) * mp(2) ** -draw(st.integers(30, 70)))
        elif kind == "tiny":
            e = mp(2) ** -draw(st.integers(1000, 1100)) * draw(st.sampled_from([1, -3]))
        elif kind == "special":
            e = draw(st.sampled_from([mpmath.nan, mpmath.inf, -mpmath.inf]))
        else:
            e = mp(draw(st.floats(-1e6, 1e6, allow_nan=False))) * (1 + mp(2) ** -draw(st.integers(53, 80)))
        magnitude = abs(e) * draw(st.sampled_from([0, 1, 3.5])) if mpmath.isfinite(e) else mp(1)
        bound = Bound(magnitude, mp(draw(st.sampled_from([0, 1, 7]))),
                      peak=draw(st.sampled_from([mp(0), mp(10), overflow_threshold(dtype), mpmath.inf,
                                                 overflow_threshold(dtype) * (1 - mp(2) ** -60)])),
                      slack=draw(st.sampled_from([mpmath.inf, mp(0.5), _kink(dtype), _kink(dtype) * (1 + mp(2) ** -60),
                                                  _kink(dtype) * 3])),
                      at_kink=draw(st.booleans()), summands=magnitude * draw(st.sampled_from([1, 2])),
                      count=draw(st.sampled_from([1, 2, 4097])), undefined=draw(st.booleans()))
        if not mpmath.isfinite(e):
            got = draw(st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))
        elif kind == "threshold" or draw(st.booleans()):  # got at err/allowed = t, t near 1
            allowed = allowed_error(dtype, e, bound.magnitude, bound.underflow, bound.count, bound.summands)
            t = draw(st.sampled_from([0, 0.5, 1 - 2 ** -40, 1, 1 + 2 ** -40, 1.5, 3]))
            got = float(e + draw(st.sampled_from([-1, 1])) * allowed * t)
        else:  # got a few of the dtype's ULPs away
            got = float(e + draw(st.integers(-6, 6)) * ulp(e, dtype))
    return e, bound, got


@st.composite
def _tensor(draw):
    dtype = draw(st.sampled_from(DTYPES))
    elements = draw(st.lists(_element_case(dtype), min_size=1, max_size=12))
    elements += draw(st.lists(st.sampled_from(elements), max_size=4))  # repeats and ties for the worst
    order = draw(st.permutations(range(len(elements))))
    elements = [elements[i] for i in order]
    skip = frozenset(draw(st.sets(st.integers(0, len(elements) - 1), max_size=2)))
    return dtype, elements, skip, draw(st.booleans())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tensor())
def test_the_screened_comparison_equals_judging_every_element(drawn):
    dtype, elements, skip, derivative = drawn
    exact = [e for e, _, _ in elements]
    bounds = [b for _, b, _ in elements]
    got = np.array([g for _, _, g in elements], dtype=np.float64)
    screened = compare(exact, bounds, got, dtype, skip, derivative)
    assert repr(screened) == repr(_elementwise(exact, bounds, got, dtype, skip, derivative))  # NaN reprs alike


def test_a_large_typical_tensor_is_decided_in_float64(monkeypatch):
    """Of 4000 elements correctly rounded, one at the edge of the verdict and one failing, _element judges only
    the few that may hold a largest figure or straddle 1, and the Comparison still equals the definition."""
    rng = np.random.default_rng(7)
    exact = [mpmath.mpf(float(x)) * (1 + mpmath.mpf(2) ** -60) for x in rng.normal(size=4000)]
    bounds = [Bound(abs(e), mpmath.mpf(1), summands=abs(e)) for e in exact]
    got = np.array([float(np.float32(float(e))) for e in exact])
    got[100] = float(exact[100]) * (1 + 1e-3)  # fails
    allowed = allowed_error("float32", exact[200], bounds[200].magnitude, bounds[200].underflow)
    got[200] = float(exact[200] + allowed)  # within float64 rounding of the verdict's edge
    calls = []
    monkeypatch.setattr(compare_module, "_element", lambda *a: calls.append(a) or _element(*a))
    result = compare(exact, bounds, got, "float32")
    assert result == _elementwise(exact, bounds, got, "float32")
    assert result.failing[:1] == [100] and result.worst_index == 100
    assert 1 <= len(calls) <= 40


def test_an_exact_value_just_below_a_power_of_two_is_judged_at_its_own_ulp():
    """fl(e) = 8 while e < 8: ulp(e) is half of ulp(8), so got at 1.5 allowances fails; a worse element
    beside it makes it no candidate for the worst, so only the screen's bracket can catch it."""
    with mpmath.workdps(40):
        e = mpmath.mpf(8) * (1 - mpmath.mpf(2) ** -60)
        zero = Bound(mpmath.mpf(0), mpmath.mpf(0))
        allowed = allowed_error("float32", e, zero.magnitude, zero.underflow)
        exact = [e, mpmath.mpf(1)]
        got = np.array([float(e + 1.5 * allowed), 2.0])
    result = compare(exact, [zero, zero], got, "float32")
    assert result.failing == [0, 1] and result.worst_index == 1
    assert repr(result) == repr(_elementwise(exact, [zero, zero], got, "float32"))


def test_got_within_float64_rounding_of_an_exact_value_is_not_called_equal():
    """got = fl(e) but e is not a float64: the error is not 0, and on float64's scale it can be the worst."""
    with mpmath.workdps(40):
        e = mpmath.mpf(1) + mpmath.mpf(2) ** -60
        zero = Bound(mpmath.mpf(0), mpmath.mpf(0))
    result = compare([mpmath.mpf(1), e], [zero, zero], np.array([1.0, 1.0]), "float64")
    assert result.worst_index == 1 and result.worst_ratio > 0 and not result.failing


def test_exact_values_given_as_floats_are_judged_too():
    """A reference may hold plain floats (a reduction of exactly representable terms): no mpf is assumed."""
    zero = Bound(mpmath.mpf(0), mpmath.mpf(0))
    exact = [np.float64(0.5), 0.25, mpmath.mpf(1)]
    got = np.array([0.5, 0.25 * (1 + 1e-3), 1.0])
    result = compare(exact, [zero] * 3, got, "float32")
    assert repr(result) == repr(_elementwise(exact, [zero] * 3, got, "float32")) and result.failing == [1]
