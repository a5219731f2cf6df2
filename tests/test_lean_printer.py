"""LeanPrinter: every SymPy node the specs use prints, and prints to the Lean term it should.

The node types are collected from every spec's derived unit losses and gradients, so a spec
added later is covered without editing this file. Each printed loss and gradient is parsed back
by the bridge's own Lean reader and compared numerically with the SymPy original.
"""

import numpy as np
import pytest
import sympy as sp
from losscheck.derivations.symbolic import VariantKey, derive
from losscheck.lean_bridge.printer import LeanPrinter, lean_code
from losscheck.lean_bridge.syntax import parse
from losscheck.lean_bridge.translate import Interpreter
from losscheck.spec import all_specs
from losscheck.spec.functions import log1p, xlogy
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.printing.codeprinter import PrintMethodNotImplementedError


def _variants(spec):
    """Every tensor present, rows of 3, both target kinds, each discrete option value."""
    discrete = [o for o in spec.options if o.in_formula and not o.continuous]
    grids = [[(o.name, v) for v in (o.choices or o.grid)] for o in discrete]
    combos = [()]
    for grid in grids:
        combos = [(*c, pair) for c in combos for pair in grid]
    for index_target in (False, True):
        for combo in combos:
            yield VariantKey(spec.name, tuple(t.name for t in spec.tensors), 3, index_target, tuple(combo))


def _expressions():
    """(label, expression) for every spec's unit loss and gradient components; unprintable specs excluded."""
    found = []
    for spec in all_specs().values():
        for key in _variants(spec):
            try:
                derivation = derive(spec, key)
            except Exception:  # a spec whose loss is not a SymPy expression (e.g. a recursion) is emit's to report
                continue
            tag = f"{spec.name} {key.discrete}{' index' if key.index_target else ''}"
            found.append((f"{tag} loss", sp.sympify(derivation.loss)))
            found += [(f"{tag} ∂{i}", g) for i, g in enumerate(derivation.loss_grad)]
    unique = {}
    for label, expr in found:
        unique.setdefault(expr, label)
    return [(label, expr) for expr, label in unique.items()]


EXPRESSIONS = _expressions()


def _node_samples():
    samples = {}
    for _label, expr in EXPRESSIONS:
        for node in sp.preorder_traversal(expr):
            samples.setdefault(type(node), node)
    return samples


def test_specs_are_collected():
    assert {label.split()[0] for label, _ in EXPRESSIONS} >= {"mse_loss", "cross_entropy", "kl_div"}


@pytest.mark.parametrize("node_type, sample", sorted(_node_samples().items(), key=lambda kv: kv[0].__name__),
                         ids=lambda value: value.__name__ if isinstance(value, type) else "")
def test_every_node_type_the_specs_use_prints(node_type, sample):
    if isinstance(sample, ExprCondPair):  # a Piecewise branch prints only inside its Piecewise
        sample = sp.Piecewise(sample, (0, True))
    text = LeanPrinter().doprint(sample)  # strict: raises on anything unsupported
    assert text and "Not supported" not in text


def _lean_value(text, symbols):
    env = {LeanPrinter()._print(s): s for s in symbols}
    return Interpreter(None).eval(parse(text), env)


@pytest.mark.parametrize("label, expr", EXPRESSIONS, ids=[label for label, _ in EXPRESSIONS])
def test_printed_lean_reads_back_to_the_same_function(label, expr):
    symbols = sorted(expr.free_symbols, key=str)
    back = sp.sympify(_lean_value(lean_code(expr), symbols))
    rng = np.random.default_rng(7)
    for _ in range(3):
        point = {s: sp.Float(rng.uniform(0.1, 0.9), 30) for s in symbols}  # inside every domain the specs use
        want = sp.N(expr.xreplace(point).rewrite(sp.log), 30)
        got = sp.N(back.xreplace(point).rewrite(sp.log), 30)
        assert abs(want - got) <= 1e-25 * max(1, abs(want)), (label, lean_code(expr))


x, y, t = sp.symbols("x y t", real=True)


class clamp_min(sp.Function):
    """Stands in for the spec function of that name on the branches adding BCE and Gaussian NLL."""

    nargs = 2


class complex_abs(sp.Function):
    """Stands in for the spec function of that name on the branch adding l1_loss."""

    nargs = 2



@pytest.mark.parametrize("expr, lean", [
    ((x - y) ** 2, "(x - y) ^ 2"),
    (x - 2, "x - 2"),
    (x - sp.Rational(1, 2), "x - (1 / 2 : ℝ)"),
    ((x - 2) ** 2 * sp.Rational(-1, 3), "-(1 / 3 : ℝ)*(x - 2) ^ 2"),
    (-x ** 2, "-x ^ 2"),
    (sp.sqrt(x), "Real.sqrt x"),
    (1 / sp.sqrt(x + 1), "1 / Real.sqrt (x + 1)"),
    (1 / x, "1 / x"),
    (x ** -3, "1 / x ^ 3"),
    (x ** sp.Rational(3, 2), "x ^ ((3 / 2 : ℝ) : ℝ)"),
    (sp.Rational(1, 3), "(1 / 3 : ℝ)"),
    (sp.Integer(-2), "-2"),
    (sp.exp(sp.Integer(-2) * x), "Real.exp (-2*x)"),
    (sp.Float(0.25), "(0.25 : ℝ)"),
    (sp.exp(-x), "Real.exp (-x)"),
    (sp.log(sp.cosh(x)), "Real.log (Real.cosh x)"),
    (sp.tanh(x), "Real.tanh x"),
    (sp.log(2 * sp.pi * x) / 2, "(1 / 2 : ℝ)*Real.log (2*Real.pi*x)"),
    (sp.Abs(x - y), "abs (x - y)"),
    (sp.sign(x), "Real.sign x"),
    (sp.Max(x, 0), "(max 0 x)"),
    (sp.Min(x, y, t), "(min (min t x) y)"),
    (xlogy(t, x), "t * Real.log x"),
    (log1p(sp.exp(-x)), "Real.log (1 + Real.exp (-x))"),
    (sp.Piecewise((x ** 2 / 2, sp.Abs(x) < 1), (sp.Abs(x) - sp.S.Half, True)),
     "(if abs x < 1 then (1 / 2 : ℝ)*x ^ 2 else abs x - (1 / 2 : ℝ))"),
    (sp.Max(x, -1), "(max (-1) x)"),
    (sp.Piecewise((1, sp.And(x > 0, y <= 1)), (0, True)), "(if (y ≤ 1) ∧ (x > 0) then 1 else 0)"),
    (sp.Piecewise((1, sp.Or(sp.Eq(x, 0), sp.Ne(t, 1))), (0, True)), "(if (x = 0) ∨ (t ≠ 1) then 1 else 0)"),
    (sp.Piecewise((1, sp.Not(sp.And(x > 0, y > 0))), (0, True)), "(if ¬((x > 0) ∧ (y > 0)) then 1 else 0)"),
    (clamp_min(x, sp.Integer(-100)), "(max x (-100))"),
    (complex_abs(x, y - 1), "Real.sqrt (x ^ 2 + (y - 1) ^ 2)"),
    (sp.Symbol("x[0, 1]"), "x_0_1"),
    (sp.Symbol("fun"), "fun'"),
])
def test_each_construct_prints_as_lean(expr, lean):
    assert lean_code(expr) == lean


@pytest.mark.parametrize("expr", [sp.oo, sp.nan, sp.DiracDelta(x), sp.Piecewise((x, x > 0))])
def test_what_lean_reals_lack_is_refused(expr):
    with pytest.raises(PrintMethodNotImplementedError):
        lean_code(expr)
