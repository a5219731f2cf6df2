"""Generated evaluators stored on disk: a loaded one computes exactly what lambdify's own function does."""

import dataclasses

import mpmath
import numpy as np
import pytest
from losscheck.conformance import oracle
from losscheck.conformance.cases import generate_cases
from losscheck.derivations import disk_cache, symbolic
from losscheck.spec import get_spec


def _exact(values) -> list:
    return [repr(v._mpf_) if isinstance(v, mpmath.mpf) else repr(v) for v in values]


@pytest.mark.parametrize("loss", ["cross_entropy", "triplet_margin_loss", "huber_loss", "gaussian_nll_loss"])
def test_a_stored_evaluator_computes_what_the_generated_one_does(loss, tmp_path, monkeypatch):
    disk_cache.configure(tmp_path)
    spec = get_spec(loss)
    cases = generate_cases(spec)
    case = next((c for c in cases if c.regime != "typical"), cases[-1])
    prepared = oracle.prepare(spec, case.tensors("float32"), case.options)
    derivation = prepared.derivation
    kinds = ["forward", "grad", "full", "full/math", "grad/math"]
    saved = dict(derivation._evaluators)
    try:
        derivation._evaluators.clear()
        generated = {kind: derivation.evaluator(kind) for kind in kinds}
        generated_numpy = derivation.evaluator("grad", "numpy")
        derivation._evaluators.clear()

        def no_lambdify(*args, **kwargs):
            raise AssertionError("generated again although the store holds it")

        monkeypatch.setattr(symbolic, "make_mpmath", no_lambdify)
        monkeypatch.setattr(symbolic, "make_numpy", no_lambdify)
        for kind in kinds:
            loaded = derivation.evaluator(kind)
            assert loaded is not generated[kind]
            for args in prepared.unit_args[:8]:
                with mpmath.workdps(50):
                    assert _exact(loaded(*args, *prepared.option_args)) == _exact(
                        generated[kind](*args, *prepared.option_args)), kind
        columns = [np.array([float(a[i]) for a in prepared.unit_args]) for i in range(len(prepared.unit_args[0]))]
        options = [float(o) for o in prepared.option_args]
        with np.errstate(all="ignore"):
            got = derivation.evaluator("grad", "numpy")(*columns, *options)
            want = generated_numpy(*columns, *options)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(np.broadcast_to(a, np.shape(b)), b)
    finally:
        derivation._evaluators.clear()
        derivation._evaluators.update(saved)


def test_a_corrupt_stored_evaluator_is_generated_again(tmp_path):
    disk_cache.configure(tmp_path)
    spec = get_spec("mse_loss")
    case = generate_cases(spec)[0]
    prepared = oracle.prepare(spec, case.tensors("float64"), case.options)
    derivation = prepared.derivation
    saved = dict(derivation._evaluators)
    try:
        derivation._evaluators.clear()
        first = derivation.evaluator("forward")
        for entry in (tmp_path / "evaluators").rglob("*"):
            if entry.is_file():
                entry.write_bytes(entry.read_bytes()[:-5] + b"xxxxx")
        derivation._evaluators.clear()
        again = derivation.evaluator("forward")
        args = (*prepared.unit_args[0], *prepared.option_args)
        assert _exact(again(*args)) == _exact(first(*args))
    finally:
        derivation._evaluators.clear()
        derivation._evaluators.update(saved)


def test_a_variant_holding_a_function_is_never_stored():
    """A user's distance function is outside the code hash (and has no stable name): generated afresh."""
    spec = get_spec("triplet_margin_with_distance_loss")
    key = symbolic.VariantKey(spec.name, ("anchor", "positive", "negative"), 3, False,
                              (("distance_function", lambda u, v: u), ("swap", False)))
    assert symbolic._evaluator_key(key, "full", "mpmath", []) is None
    assert symbolic._evaluator_key(dataclasses.replace(key, discrete=(("swap", False),)), "full", "mpmath", [])
