"""The symbolic gradients against independent truth: finite differences, the adjoint
identity, the expanded whole-loss form, and TorchLean's hand-written forms."""

import dataclasses

import mpmath
import numpy as np
import pytest
import sympy as sp
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.gradient_checks import verify_gradients
from losscheck.conformance.oracle import exact_reference
from losscheck.derivations.expanded import element_symbols, expanded_loss
from losscheck.derivations.symbolic import derive, variant_key
from losscheck.derivations.torchlean_forms import FORMS, check_form
from losscheck.derivations.units import split_units
from losscheck.spec import all_specs
from losscheck.spec.core import Sequences

SPECS = list(all_specs().values())
# A Sequences spec (CTC) is a recursion with no closed per-unit SymPy expression: it has no expanded
# form or computational forms; tests/test_ctc.py checks it against brute force and its SymPy unrolling.
SYMBOLIC = [s for s in SPECS if not isinstance(s.structure, Sequences)]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_finite_differences_and_adjoint_identity_confirm_every_variant(spec):
    seen = set()
    for case in generate_cases(spec, seed=5):
        tensors = case.tensors("float64")
        table = split_units(spec, tensors, case.options)
        key = (variant_key(spec, case.present, table, case.options),
               case.options.get("reduction"))
        if key in seen:
            continue
        seen.add(key)
        assert verify_gradients(spec, case, tensors) == []


def test_verify_gradients_catches_a_wrong_derivative(monkeypatch):
    """Corrupt one cached symbolic derivative: both checks must notice."""
    spec = all_specs()["mse_loss"]
    case = next(c for c in generate_cases(spec) if c.options["reduction"] == "sum" and len(c.present) == 2)
    tensors = case.tensors("float64")
    key = variant_key(spec, case.present, split_units(spec, tensors, case.options), case.options)
    derivation = derive(spec, key)
    original = derivation.loss_grad[0]
    try:
        derivation.loss_grad[0] = original * sp.Rational(1, 2)
        derivation._evaluators.clear()
        problems = verify_gradients(spec, case, tensors)
    finally:
        derivation.loss_grad[0] = original
        derivation._evaluators.clear()
    assert any("finite differences" in p for p in problems)
    assert any("adjoint" in p for p in problems)


def test_verify_gradients_catches_a_wrong_gradient_convention():
    """A convention that is not the derivative of the loss where its clamps are inactive is reported."""
    spec = all_specs()["binary_cross_entropy"]
    stated = spec.gradient_conventions["input"]
    wrong = dataclasses.replace(spec, gradient_conventions={**spec.gradient_conventions,
                                                             "input": lambda u: stated(u) * u.input})
    case = generate_cases(wrong)[0]
    assert verify_gradients(spec, case, case.tensors("float64")) == []
    problems = verify_gradients(wrong, case, case.tensors("float64"))
    assert problems and all("gradient convention for input" in p for p in problems)


def _symbolic_case(spec, case):
    """The case's values, with the differentiable float tensors replaced by element symbols.

    A complex tensor becomes re + i·im of two symbol arrays. Also returns, per
    differentiated tensor, its real symbols and values in the oracle's gradient
    layout ((re, im) interleaved for a complex tensor). The reference is
    sympy.diff's VJP: a spec's gradient conventions are not derivatives of the loss.
    """
    numeric = case.tensors("float64")
    reference = exact_reference(spec, numeric, case.options, case.upstream("float64"), conventions=False)
    symbolic, flat = {}, {}
    for n, v in numeric.items():
        if n not in reference.grads:
            symbolic[n] = v
        elif v.dtype.kind == "c":
            real, imaginary = element_symbols(f"{n}_re", v.shape), element_symbols(f"{n}_im", v.shape)
            symbolic[n] = real + sp.I * imaginary
            flat[n] = (np.stack([real, imaginary], axis=-1).reshape(-1),
                       np.stack([v.real, v.imag], axis=-1).reshape(-1))
        else:
            symbolic[n] = element_symbols(n, v.shape)
            flat[n] = (symbolic[n].reshape(-1), v.reshape(-1))
    return flat, symbolic, reference



@pytest.mark.parametrize("spec", SYMBOLIC, ids=lambda s: s.name)
def test_structured_gradients_equal_the_expanded_form(spec):
    """sympy.diff of the whole expanded loss equals the oracle's assembled VJP."""
    checked = 0
    for case in generate_cases(spec, seed=2):
        if case.regime != "typical" or case.number % 3:
            continue
        flat, symbolic, reference = _symbolic_case(spec, case)
        outputs = expanded_loss(spec, symbolic, case.options)
        upstream = np.asarray(case.upstream("float64"), dtype=np.float64).reshape(-1)
        projected = sp.Add(*[sp.Rational(float(d)) * o for d, o in zip(upstream, outputs)])
        substitutions = {s: sp.Rational(float(v)) for n in reference.grads for s, v in zip(*flat[n])}
        for name, exact in reference.grads.items():
            assert len(flat[name][0]) == len(exact), (case.name, name)
            for symbol, value in zip(flat[name][0], exact):
                expanded = sp.diff(projected, symbol).evalf(40, subs=substitutions)
                if expanded in (sp.oo, -sp.oo, sp.zoo):
                    # kl_div's target gradient at t = 0; SymPy's evalf loses the sign of c·log(0)
                    assert mpmath.isinf(value), (case.name, symbol)
                    continue
                with mpmath.workdps(40):
                    assert mpmath.almosteq(mpmath.mpf(str(expanded)), value, rel_eps=1e-25, abs_eps=1e-30), \
                        (case.name, name, symbol)
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.declaration.rsplit(".", 1)[-1])
def test_torchlean_hand_written_gradient_equals_sympy_diff(form):
    assert check_form(form) == 0


def test_torchlean_check_catches_a_wrong_hand_written_form():
    wrong = FORMS[0].__class__(FORMS[0].declaration, "mse_loss", {"reduction": "mean"}, "real",
                               lambda x, t: (x - t) / x.size)
    assert check_form(wrong) != 0


@pytest.mark.parametrize("spec", SYMBOLIC, ids=lambda s: s.name)
def test_computational_forms_equal_the_loss(spec):
    """Every rewrite a kernel may evaluate is the same function as the spec's loss."""
    for case in generate_cases(spec)[:8]:
        tensors = case.tensors("float64")
        table = split_units(spec, tensors, case.options)
        derivation = derive(spec, variant_key(spec, case.present, table, case.options))
        for form in derivation.forms:
            difference = sp.simplify((form - derivation.loss).rewrite(sp.exp))
            if difference != 0:  # simplify is not a decision procedure: fall back to 40-digit sampling
                rng = np.random.default_rng(1)
                for _ in range(20):
                    point = {s: sp.Float(rng.uniform(-30, 30) if s.name.startswith("input")
                                         else rng.uniform(0, 2), 40) for s in difference.free_symbols}
                    assert abs(difference.evalf(40, subs=point)) < 1e-30
