"""The oracle: exact inputs, stability under more precision, and special values."""

import mpmath
import numpy as np
import pytest
from losscheck.conformance.cases import generate_cases, round_to
from losscheck.conformance.oracle import divide, exact_reference
from losscheck.conformance.runner import CaseRunner
from losscheck.spec import all_specs

SPECS = list(all_specs().values())



@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_reference_is_stable_under_a_precision_increase(spec):
    """Working at 50/70 digits and at 100/120 digits agree to 40 digits on every quantity."""
    for case in generate_cases(spec, seed=4)[::5]:
        tensors = case.tensors("float32")
        upstream = case.upstream("float64")
        normal = exact_reference(spec, tensors, case.options, upstream)
        high = exact_reference(spec, tensors, case.options, upstream, digits=(100, 120))
        assert normal.unstable == [] and high.unstable == []
        pairs = list(zip(normal.value, high.value))
        for name in normal.grads:
            pairs += list(zip(normal.grads[name], high.grads[name]))
        for a, b in pairs:
            if mpmath.isnan(b) or mpmath.isinf(b):
                assert (mpmath.isnan(a) and mpmath.isnan(b)) or a == b
            else:
                assert mpmath.almosteq(a, b, rel_eps=mpmath.mpf(10) ** -40, abs_eps=mpmath.mpf(10) ** -60)


def test_too_little_working_precision_is_reported_unstable():
    spec = all_specs()["cross_entropy"]
    case = next(c for c in generate_cases(spec) if c.regime == "large")
    tensors = case.tensors("float64")
    reference = exact_reference(spec, tensors, case.options, case.upstream("float64"), digits=(8, 70))
    assert reference.unstable


def test_unstable_reference_fails_the_case(monkeypatch):
    import losscheck.conformance.oracle as oracle

    monkeypatch.setattr(oracle, "WORKING_DIGITS", 8)
    monkeypatch.setattr(oracle.exact_reference, "__defaults__", ((8, 70),))
    spec = all_specs()["cross_entropy"]
    case = next(c for c in generate_cases(spec) if c.regime == "large")
    results = CaseRunner.for_source(spec).run(case, "float32")
    assert [r.status for r in results] == ["unstable"]


def test_inputs_enter_the_oracle_exactly():
    """A float16-rounded value is used at its exact binary value, not a decimal approximation."""
    value = round_to(np.array([0.1]), "float16")[0]
    assert value == 0.0999755859375  # 0x2E66: 1638/16384, exact in binary
    spec = all_specs()["mse_loss"]
    tensors = {"input": np.array([value]), "target": np.array([0.0])}
    reference = exact_reference(spec, tensors, {"reduction": "sum"}, np.array(1.0))
    assert reference.value[0] == mpmath.mpf(1638) ** 2 / mpmath.mpf(16384) ** 2


def test_division_follows_ieee_special_values():
    assert mpmath.isnan(divide(mpmath.mpf(0), mpmath.mpf(0)))
    assert divide(mpmath.mpf(-2), mpmath.mpf(0)) == mpmath.mpf("-inf")
    assert divide(mpmath.mpf(3), mpmath.mpf(2)) == mpmath.mpf(1.5)
