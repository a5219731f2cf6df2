"""Evaluator rows are named records: each field read by name is the quantity of that name."""

import mpmath
import pytest
import sympy as sp
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.exact_reduction import prepare
from losscheck.derivations.primitives import largest, least
from losscheck.derivations.row_layout import FIELDS, assemble, layout, view, width
from losscheck.spec import all_specs


@pytest.mark.parametrize("name", ["huber_loss", "margin_ranking_loss", "gaussian_nll_loss", "binary_cross_entropy"])
def test_each_named_field_of_a_generated_row_is_its_own_expression(name):
    """The generated mpmath row, read through ``view``, equals each named symbolic quantity of the
    derivation evaluated directly with SymPy at the same unit (an independent evaluation: no generated
    code, no offsets), for the ``full`` and the ``grad`` row."""
    spec = all_specs()[name]
    case = next(c for c in generate_cases(spec, seed=3) if c.options.get("reduction") == "mean")
    prepared = prepare(spec, case.tensors("float64"), case.options)
    d = prepared.derivation
    n = len(d.wrt)
    args = prepared.unit_args[0]
    exact_args = [sp.Rational(*float(a).as_integer_ratio()) for a in args + prepared.option_args]
    substitution = dict(zip(d.arguments, exact_args))
    slack, distance = d.kinks
    expected = {"loss": [d.loss], "share": [d.denominator], "loss_grad": d.backward_grad,
                "share_grad": d.denominator_grad, "loss_magnitude": d.magnitudes[:1],
                "grad_magnitude": d.magnitudes[1:], "loss_underflow": d.underflows[:1],
                "grad_underflow": d.underflows[1:], "peak": [d.peak], "grad_peak": d.gradient_peaks,
                "slack": [slack], "distance": [distance]}
    with mpmath.workdps(30):
        full = view(d.evaluator("full")(*args, *prepared.option_args), n)
        grad = d.evaluator("grad")(*args, *prepared.option_args)
        assert len(grad) == width(n, FIELDS[:4])
        for field in FIELDS:
            got = getattr(full, field)
            got = list(got) if isinstance(got, (list, tuple)) else [got]
            want = [sp.sympify(e).replace(largest, sp.Max).replace(least, sp.Min).subs(substitution).doit().evalf(30)
                    for e in expected[field]]
            assert len(got) == len(want), field
            for g, w in zip(got, want):
                if w in (sp.oo, -sp.oo) or w.is_infinite:
                    assert mpmath.isinf(g), field
                else:
                    assert mpmath.almosteq(g, mpmath.mpf(str(w)), rel_eps=1e-20, abs_eps=1e-40), (field, g, w)
            if field in FIELDS[:4]:
                position = getattr(layout(n), field)
                part = grad[position]
                assert (list(part) if isinstance(position, slice) else [part]) == got, field


def test_the_layout_tiles_the_row_without_gaps():
    for n in range(4):
        covered = []
        for position in layout(n):
            covered += list(range(position.start, position.stop)) if isinstance(position, slice) else [position]
        assert covered == list(range(width(n)))


def test_assembling_a_row_checks_its_fields():
    assert assemble(2, loss=1, share=2, loss_grad=[3, 4], share_grad=[5, 6]) == [1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="loss_grad holds 1 entries"):
        assemble(2, loss=1, share=2, loss_grad=[3], share_grad=[5, 6])
    with pytest.raises(ValueError, match="prefix"):
        assemble(1, loss=1, share=2, loss_magnitude=3)
