"""The oracle's float64 first pass, held to the high-precision oracle: a kept reference lies within a
thousandth of the policy's allowance of the exact one, with the same scales and decisions; float64 targets,
stated conventions and cases it cannot certify get the high-precision reference itself; and a run's
verdicts are the same with the first pass as without it."""

import mpmath
import numpy as np
import pytest
from losscheck.conformance import first_pass, oracle
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.oracle import exact_reference, float64_reference
from losscheck.conformance.planning import plan
from losscheck.conformance.probes import probe_cases
from losscheck.conformance.report import read_report
from losscheck.conformance.tolerance import allowed_error, withheld
from losscheck.spec import get_spec

HALF_TYPES = ("float32", "float16", "bfloat16")


def _exact(x):
    return x._mpf_ if isinstance(x, mpmath.mpf) else x


def _flat(reference) -> list:
    out = [reference.shape, reference.unstable, _exact(reference.unit_total)]
    out += [_exact(v) for v in reference.value]
    for name in sorted(reference.grads):
        out += [_exact(v) for v in reference.grads[name]]
    return out


def _cases(loss: str, seed: int = 0):
    spec = get_spec(loss)
    grid = generate_cases(spec, seed)
    return spec, [*grid[::5], *probe_cases(spec, seed, len(grid))[::3]]


def _compare_kept(spec, case, dtype, kept, exact) -> None:
    """Every element of the kept reference within a thousandth of its allowance of the exact value, an
    allowance within 1e-4 of the exact one's (its scales are float64 evaluations, some of them of the value
    itself), and the same claims withheld, kink flags and counts."""
    pairs = [(kept.value, exact.value, kept.value_bounds, exact.value_bounds, False)]
    pairs += [(kept.grads[n], exact.grads[n], kept.grad_bounds[n], exact.grad_bounds[n], True) for n in exact.grads]
    assert kept.shape == exact.shape and sorted(kept.grads) == sorted(exact.grads), case.name
    assert not kept.unstable and not exact.unstable, case.name
    for values, truth, bounds, true_bounds, derivative in pairs:
        assert len(values) == len(truth), case.name
        for i, (v, e, b, t) in enumerate(zip(values, truth, bounds, true_bounds)):
            allowed = allowed_error(dtype, e, t.magnitude, t.underflow, t.count, t.summands)
            assert abs(v - e) <= allowed / first_pass.MARGIN, (case.name, dtype, i, v, e)
            assert abs(allowed_error(dtype, v, b.magnitude, b.underflow, b.count, b.summands) - allowed) \
                <= allowed * 1e-4, (case.name, dtype, i)
            assert withheld(b, v, dtype, derivative) == withheld(t, e, dtype, derivative), (case.name, dtype, i)
            assert (b.at_kink, b.count, b.undefined) == (t.at_kink, t.count, t.undefined), (case.name, i)
    assert abs(kept.unit_total - exact.unit_total) <= abs(exact.unit_total) * 1e-6


@pytest.mark.parametrize("loss", ["mse_loss", "cross_entropy", "smooth_l1_loss", "multi_margin_loss",
                                  "poisson_nll_loss", "log_cosh_loss", "sigmoid_focal_loss", "kl_div"])
def test_a_kept_reference_is_within_a_thousandth_of_the_allowance(loss):
    spec, cases = _cases(loss)
    kept_count = 0
    for case in cases:
        for dtype in HALF_TYPES:
            tensors, upstream = case.tensors(dtype), case.upstream(dtype)
            kept, _why = float64_reference(spec, tensors, case.options, upstream, dtype)
            if kept is None:
                continue
            kept_count += 1
            _compare_kept(spec, case, dtype, kept, exact_reference(spec, tensors, case.options, upstream, cache=False))
    assert kept_count >= len(cases)  # the first pass keeps most of these (else this test holds nothing)


def test_float64_targets_and_stated_conventions_get_the_high_precision_reference():
    for loss, dtypes in (("mse_loss", ("float64",)), ("binary_cross_entropy", HALF_TYPES),
                         ("gaussian_nll_loss", ("float32",))):
        spec, cases = _cases(loss)
        for case in cases[:4]:
            for dtype in dtypes:
                tensors, upstream = case.tensors(dtype), case.upstream(dtype)
                got = exact_reference(spec, tensors, case.options, upstream, cache=False, dtype=dtype)
                assert _flat(got) == _flat(exact_reference(spec, tensors, case.options, upstream, cache=False))


def test_large_logits_escalate_and_get_the_high_precision_reference():
    """exp of a float32 logit near 3e38 overflows float64: the first pass must not stand in for the oracle."""
    spec = get_spec("cross_entropy")
    case = next(c for c in generate_cases(spec) if c.regime == "large")
    tensors, upstream = case.tensors("float32"), case.upstream("float32")
    assert np.abs(tensors["input"]).max() > 1e3
    kept, why = float64_reference(spec, tensors, case.options, upstream, "float32")
    assert kept is None and why == "float64 overflow"
    got = exact_reference(spec, tensors, case.options, upstream, cache=False, dtype="float32")
    assert _flat(got) == _flat(exact_reference(spec, tensors, case.options, upstream, cache=False))


def test_a_unit_on_a_kink_escalates():
    """l1_loss at input = target: the kink's convention (sign(0) = 0) is decided at high precision."""
    spec = get_spec("l1_loss")
    tensors = {"input": np.array([1.0, 2.0, 3.0]), "target": np.array([1.0, 0.5, 3.5])}
    kept, why = float64_reference(spec, tensors, {"reduction": "sum"}, np.array(1.0), "float32")
    assert kept is None and why == "a unit exactly on a kink"


def test_the_switch_turns_the_first_pass_off(monkeypatch):
    spec, cases = _cases("mse_loss")
    case = cases[0]
    tensors, upstream = case.tensors("float32"), case.upstream("float32")
    assert float64_reference(spec, tensors, case.options, upstream, "float32")[0] is not None
    monkeypatch.setenv(first_pass.ENV_HIGH_PRECISION_ONLY, "1")
    got = exact_reference(spec, tensors, case.options, upstream, cache=False, dtype="float32")
    assert _flat(got) == _flat(exact_reference(spec, tensors, case.options, upstream, cache=False))


def test_the_cache_keeps_first_pass_and_high_precision_references_apart(tmp_path, monkeypatch):
    store = oracle.OracleCache(tmp_path / "cache")
    spec, cases = _cases("mse_loss")
    case = cases[0]
    tensors, upstream = case.tensors("float32"), case.upstream("float32")
    fast = exact_reference(spec, tensors, case.options, upstream, cache=store, dtype="float32")
    exact = exact_reference(spec, tensors, case.options, upstream, cache=store)
    assert _flat(fast) != _flat(exact)  # float64 values, not the 70-digit ones
    assert len(list(store.directory.rglob("*"))) >= 2 + 2  # two entries (and their folders)


def _verdicts(run_cli, tmp_path, name, *args) -> tuple[int, dict]:
    report = tmp_path / f"{name}.json"
    status, _out, _err = run_cli("run", *args, "--report", str(report))
    document = read_report(report)
    return status, {(r["case"], r["dtype"], r["quantity"], r["target"]): r["status"] for r in document["results"]}


VERDICT_RUNS = [("mse_loss", None), ("cross_entropy", None), ("mse_loss", "wrong_impls:mse_half_gradient"),
                ("smooth_l1_loss", "wrong_impls_elem:smooth_l1_ignores_beta")]


SERVED_DTYPES = ("float32", "float16", "bfloat16")


def _every_loss() -> list:
    """Every loss with PyTorch where the first pass applies (not a recursion spec or a stated gradient
    convention: those never leave high precision), each in one of the dtypes the first pass serves, in turn,
    so that the full tier covers every loss and every served dtype within CI's time (each run is made twice)."""
    from losscheck.spec import all_specs
    from losscheck.spec.core import Sequences

    applies = sorted(name for name, spec in all_specs().items()
                     if not spec.gradient_conventions and not isinstance(spec.structure, Sequences))
    return [pytest.param(loss, None, SERVED_DTYPES[i % 3], marks=pytest.mark.slow)
            for i, loss in enumerate(applies) if (loss, None) not in VERDICT_RUNS]


@pytest.mark.parametrize("loss, impl, dtypes", [(*run, ",".join(SERVED_DTYPES)) for run in VERDICT_RUNS]
                         + _every_loss())
def test_the_first_pass_keeps_every_verdict(run_cli, tmp_path, monkeypatch, loss, impl, dtypes):
    """The same status for every check of a run, with the first pass and with the high-precision oracle only.
    Runs take the dtypes the first pass serves: float64 always takes the high-precision oracle (held by
    test_float64_targets_and_stated_conventions_get_the_high_precision_reference), so its checks cannot differ.
    The wrong kernels here are flagged in those dtypes."""
    args = ["--loss", loss, "--dtype", dtypes, *(["--impl", f"{loss}={impl}"] if impl else [])]
    status, fast = _verdicts(run_cli, tmp_path, "fast", *args)
    monkeypatch.setenv(first_pass.ENV_HIGH_PRECISION_ONLY, "1")
    status_exact, exact = _verdicts(run_cli, tmp_path, "exact", *args)
    assert status == status_exact
    assert status == (1 if impl else 0)  # PyTorch passes; a wrong kernel is flagged
    differing = {key for key in fast.keys() | exact.keys() if fast.get(key) != exact.get(key)}
    assert all(fast.get(key) in CONFORMING and exact.get(key) in CONFORMING and _no_first_pass(loss, key)
               for key in differing), sorted(differing)


CONFORMING = ("pass", "known")


def _no_first_pass(loss: str, key: tuple) -> bool:
    """Both runs judged this check against the same high-precision reference (the first pass declines the
    case: an empty input has no units), so a differing verdict is the target's own: PyTorch's
    multi_margin_loss and multilabel_margin_loss return uninitialized memory for an empty batch
    (pytorch.json's *-empty-batch-uninitialized), 0.0 in one run and -2448 in the next."""
    case_name, dtype, _quantity, _target = key
    case = next(c for c in plan(loss, 0) if c.name == case_name)
    tensors = case.tensors(dtype)
    kept, why = float64_reference(get_spec(loss), tensors, case.options, case.upstream(dtype), dtype)
    return kept is None and why == "no units"
