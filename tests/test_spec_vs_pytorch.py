"""Each spec equals PyTorch float64, value and gradients, for every option combination.

Two evaluators of the spec are held against ``torch.nn.functional`` in float64:
the mpmath oracle on the full conformance grid, and the fast NumPy evaluator
on inputs Hypothesis draws.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import known_deviations
from losscheck.conformance.implementations import UnavailableReference, pytorch_implementation
from losscheck.conformance.oracle import exact_reference
from losscheck.derivations.fast import evaluate_float64
from losscheck.derivations.symbolic import derive, variant_key
from losscheck.derivations.units import split_units
from losscheck.spec import all_specs
from losscheck.spec.core import Sequences

SPECS = list(all_specs().values())


def torch_float64(spec, tensors, options, upstream):
    """PyTorch's value and the gradients of ⟨upstream, value⟩, all in float64."""
    inputs = {n: torch.tensor(v) for n, v in tensors.items()}
    wrt = differentiated(spec, tensors, options)
    for n in wrt:
        inputs[n].requires_grad_(True)
    kwargs = {n: inputs[n] for n in inputs if spec.tensor(n).optional}
    loss = pytorch_implementation(spec.name)
    if isinstance(loss, UnavailableReference):
        pytest.skip(f"{spec.name}: {loss.why}")
    out = loss(*[inputs[t.name] for t in spec.required_tensors], **kwargs, **options)
    grads = torch.autograd.grad(out, [inputs[n] for n in wrt], torch.tensor(upstream), allow_unused=True)
    # a complex gradient compares part by part, in the (re, im) layout the oracle uses
    return out.detach().numpy(), {n: (torch.view_as_real(g) if g.is_complex() else g).numpy()
                                  for n, g in zip(wrt, grads)}


def differentiated(spec, tensors, options):
    """The tensors the spec differentiates in this case (class indices and encoded rows are not)."""
    if isinstance(spec.structure, Sequences):
        return [spec.structure.sequence]
    table = split_units(spec, tensors, options)
    wrt = derive(spec, variant_key(spec, tuple(tensors), table, options)).wrt
    return list(dict.fromkeys(name for name, _ in wrt))


def assert_close(ours, theirs, what):
    ours = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, what
    scale = np.max(np.abs(theirs[np.isfinite(theirs)]), initial=1.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12 * scale, err_msg=what)



def _interior(case, tensors):
    """Move the values where a recorded float64 PyTorch deviation occurs (KL's target gradient at
    t = 0) to 0.25: PyTorch is compared elsewhere, and the deviation has its own test."""
    for entry in known_deviations():
        if entry.loss == case.spec.name and "float64" in entry.dtypes and entry.options_match(case.options):
            for name, value in entry.where.items():
                if isinstance(value, dict):  # a threshold on a product ("-input*target" above v): large regimes only
                    continue
                tensors = dict(tensors, **{name: np.where(tensors[name] == value, 0.25, tensors[name])})
    return tensors


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_oracle_equals_pytorch_float64_on_every_option_combination(spec):
    for case in generate_cases(spec, seed=11):
        if case.regime != "typical":
            continue
        tensors = _interior(case, case.tensors("float64"))
        upstream = case.upstream("float64")
        reference = exact_reference(spec, tensors, case.options, upstream)
        value, grads = torch_float64(spec, tensors, case.options, upstream)
        assert_close(np.array([float(v) for v in reference.value]).reshape(reference.shape), value,
                     f"{case.name} value")
        assert sorted(reference.grads) == sorted(grads), case.name
        for name, grad in grads.items():
            assert_close(np.array([float(v) for v in reference.grads[name]]).reshape(grad.shape), grad,
                         f"{case.name} grad {name}")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_fast_evaluator_equals_pytorch_float64_on_drawn_inputs(spec, data):
    # The fast evaluator runs the formulas as written, so exp overflows past |x| ≈ 709: typical values only.
    cases = [c for c in generate_cases(spec, seed=0) if c.regime == "typical"]
    case = data.draw(st.sampled_from(cases))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    tensors = {}
    for name, values in case.tensors("float64").items():
        if values.dtype.kind == "f":
            values = values * rng.uniform(0.5, 1.5, size=values.shape)
            domain = case.shape_case.domains.get(name, spec.tensor(name).domain_for(case.options))
            values = np.clip(values, domain.lo, domain.hi)
        tensors[name] = values
    tensors = _interior(case, tensors)
    upstream = case.upstream("float64")
    value, grads = evaluate_float64(spec, tensors, case.options, upstream)
    torch_value, torch_grads = torch_float64(spec, tensors, case.options, upstream)
    assert_close(value, torch_value, f"{case.name} value")
    for name, grad in torch_grads.items():
        assert_close(grads[name], grad, f"{case.name} grad {name}")


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_all_ignored_batch_follows_pytorch(loss):
    """mean is NaN, sum is 0, none is zeros, and the gradient is exactly 0."""
    spec = all_specs()[loss]
    rng = np.random.default_rng(3)
    tensors = {"input": -rng.exponential(size=(3, 4)), "target": np.array([1, 1, 1])}
    for reduction in ("mean", "sum", "none"):
        options = {"ignore_index": 1, "reduction": reduction}
        upstream = np.array(0.75) if reduction != "none" else np.array([0.5, -1.0, 2.0])
        reference = exact_reference(spec, tensors, options, upstream)
        value, grads = torch_float64(spec, tensors, options, upstream)
        np.testing.assert_array_equal(np.array([float(v) for v in reference.value]).reshape(value.shape), value)
        np.testing.assert_array_equal(np.array([float(v) for v in reference.grads["input"]]).reshape(3, 4),
                                      grads["input"])


def test_fused_linear_cross_entropy_all_ignored_batch_follows_pytorch():
    """mean is NaN, sum is 0, none is zeros, and input, weight and bias get exactly 0 gradients."""
    spec = all_specs()["fused_linear_cross_entropy"]
    rng = np.random.default_rng(5)
    tensors = {"input": rng.standard_normal((3, 2)), "weight": rng.standard_normal((4, 2)),
               "target": np.array([1, 1, 1]), "bias": rng.standard_normal(4)}
    for reduction in ("mean", "sum", "none"):
        options = {"ignore_index": 1, "label_smoothing": 0.25, "reduction": reduction}
        upstream = np.array(0.75) if reduction != "none" else np.array([0.5, -1.0, 2.0])
        reference = exact_reference(spec, tensors, options, upstream)
        value, grads = torch_float64(spec, tensors, options, upstream)
        np.testing.assert_array_equal(np.array([float(v) for v in reference.value]).reshape(value.shape), value)
        assert sorted(grads) == ["bias", "input", "weight"]
        for name, grad in grads.items():
            assert not grad.any(), (reduction, name)
            np.testing.assert_array_equal(np.array([float(v) for v in reference.grads[name]]).reshape(grad.shape),
                                          grad)
