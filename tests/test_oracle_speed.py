"""The oracle's shortcuts compute what the plain evaluation computes: the Bounds evaluated once (at the
checking precision, not again at the working one) and Heaviside printed directly for mpmath."""

import itertools

import mpmath
import numpy as np
import pytest
import sympy as sp
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.exact_reduction import prepare, reduce_units
from losscheck.conformance.oracle import CHECK_DIGITS, exact_reference
from losscheck.conformance.probes import probe_cases
from losscheck.derivations.evaluators import _MPMATH, cse_outside_piecewise, make_mpmath
from losscheck.spec import get_spec


def _exact(x):
    return x._mpf_ if isinstance(x, mpmath.mpf) else x


def _bound(b) -> tuple:
    return tuple(_exact(getattr(b, f)) for f in ("magnitude", "underflow", "peak", "slack", "at_kink", "summands",
                                                  "count", "undefined"))


@pytest.mark.parametrize("loss", ["cross_entropy", "triplet_margin_loss", "gaussian_nll_loss", "nll_loss"])
def test_the_reference_is_the_full_evaluation_at_the_checking_precision(loss):
    """Every value, gradient and Bound equals a full (values and Bounds) evaluation at 70 digits."""
    spec = get_spec(loss)
    cases = generate_cases(spec, seed=1)
    for case in [*cases[::7], *probe_cases(spec, 1, len(cases))[:3]]:
        tensors, upstream = case.tensors("float16"), case.upstream("float16")
        reference = exact_reference(spec, tensors, case.options, upstream, cache=False)
        with mpmath.workdps(CHECK_DIGITS):
            full = reduce_units(prepare(spec, tensors, case.options), case.options.get("reduction", "mean"), upstream,
                           with_grads=True)
        assert [_exact(v) for v in reference.value] == [_exact(v) for v in full.value], case.name
        assert [_bound(b) for b in reference.value_bounds] == [_bound(b) for b in full.value_bounds], case.name
        for name in full.grads:
            assert [_exact(v) for v in reference.grads[name]] == [_exact(v) for v in full.grads[name]], case.name
            assert [_bound(b) for b in reference.grad_bounds[name]] == [_bound(b) for b in full.grad_bounds[name]]


def test_heaviside_printed_directly_equals_sympys_piecewise_rewrite():
    """The gradient of a Chebyshev distance (Heaviside of differences of maxima) on inputs full of ties."""
    u, v = sp.symbols("u0:3", real=True), sp.symbols("v0:3", real=True)
    distance = sp.Max(*[sp.Abs(a - b) for a, b in zip(u, v)])
    outputs = [distance, *[sp.diff(distance, s) for s in (*u, *v)]]
    assert any(f.has(sp.Heaviside) for f in outputs)
    direct = make_mpmath([*u, *v], outputs)
    rewritten = sp.lambdify([*u, *v], tuple(outputs), modules=[_MPMATH, "mpmath"], cse=cse_outside_piecewise)
    rng = np.random.default_rng(0)
    points = [*itertools.product([0, 1], repeat=6), *rng.choice([-1.0, 0.0, 0.5, 1.0], size=(500, 6))]
    for point in points:
        args = [mpmath.mpf(float(x)) for x in point]
        assert [mpmath.mpf(a) for a in direct(*args)] == [mpmath.mpf(b) for b in rewritten(*args)], point
