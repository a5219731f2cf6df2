"""Primitives: each SymPy function a derivation meets is declared once, with every facet, and each facet works."""

import dataclasses

import mpmath
import numpy as np
import pytest
import sympy as sp
from losscheck.derivations.evaluators import make_mpmath, make_numpy
from losscheck.derivations.primitives import (
    CHAIN_RULE,
    EXACT,
    FACETS,
    LAMBDIFY,
    PRIMITIVES,
    SELECTION,
    Absent,
    Mathlib,
    Primitive,
    primitive_of,
)
from losscheck.derivations.symbolic import VariantKey, derive
from losscheck.lean_bridge.printer import LeanPrinter
from losscheck.lean_bridge.syntax import parse
from losscheck.lean_bridge.translate import Interpreter
from losscheck.spec import all_specs
from sympy.printing.codeprinter import PrintMethodNotImplementedError

x, y = sp.symbols("x y", real=True)
IDS = [p.name for p in PRIMITIVES]


def _sample(primitive: Primitive) -> sp.Expr:
    """The primitive applied to symbols (pnorm takes its degree first)."""
    if primitive.name == "pnorm":
        return primitive.function(3, x, y)
    if primitive.function.nargs.is_finite_set and 1 in primitive.function.nargs:
        return primitive.function(x)
    return primitive.function(x, y)


def test_a_facet_cannot_be_left_out():
    given = dataclasses.asdict(PRIMITIVES[0]) | {"function": PRIMITIVES[0].function}
    del given["mathlib"]
    with pytest.raises(TypeError, match="mathlib"):
        Primitive(**given)


def test_each_function_is_declared_once():
    assert len({p.function for p in PRIMITIVES}) == len(PRIMITIVES)


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_every_facet_is_declared(primitive):
    for facet in FACETS:
        assert getattr(primitive, facet) is not None, f"{primitive.name} lacks {facet}"
    if not isinstance(primitive.derivative, Absent):  # SymPy differentiates it by that rule, to a closed form
        assert primitive.derivative in (primitive.function.fdiff, primitive.function._eval_derivative)
        assert not sp.diff(_sample(primitive), x).has(sp.Derivative)
    for backend in (primitive.mpmath, primitive.numpy):
        assert backend == LAMBDIFY or callable(backend)
    assert primitive.magnitude in (CHAIN_RULE, SELECTION, EXACT) or callable(primitive.magnitude)
    assert callable(primitive.peak_terms) and callable(primitive.branch_arguments)
    assert isinstance(primitive.mathlib, (Mathlib, Absent))
    for absent in (primitive.derivative, primitive.mathlib):
        assert not isinstance(absent, Absent) or absent.reason


@pytest.mark.parametrize("primitive", PRIMITIVES, ids=IDS)
def test_both_evaluators_evaluate_it(primitive):
    """What a primitive declares of its evaluations (its own, or SymPy printer's) evaluates; the two agree."""
    expr = _sample(primitive)
    point = (0.5, 0.25) if primitive.name == "DiracDelta" else (0.75, 0.25)  # δ: 0 away from 0
    arguments = sorted(expr.free_symbols, key=str)
    values = dict(zip((x, y), point))
    (exact,) = make_mpmath(arguments, [expr])(*(mpmath.mpf(values[a]) for a in arguments))
    (fast,) = make_numpy(arguments, [expr])(*(np.float64(values[a]) for a in arguments))
    assert float(exact) == pytest.approx(float(fast), rel=1e-14)


@pytest.mark.parametrize("primitive", [p for p in PRIMITIVES if isinstance(p.mathlib, Mathlib)],
                         ids=[p.name for p in PRIMITIVES if isinstance(p.mathlib, Mathlib)])
def test_its_lean_term_reads_back_as_the_same_value(primitive):
    """The printer writes the Mathlib facet; the translator reads the term back to an equal SymPy value."""
    expr = _sample(primitive)
    text = LeanPrinter().doprint(expr)
    assert primitive.mathlib.name in text or not primitive.mathlib.applied
    back = sp.sympify(Interpreter(None).eval(parse(text), {"x": x, "y": y}))
    point = (mpmath.mpf(0.75), mpmath.mpf(0.25))
    (want,) = make_mpmath([x, y], [expr])(*point)
    (got,) = make_mpmath([x, y], [back])(*point)
    assert got == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize("primitive", [p for p in PRIMITIVES if isinstance(p.mathlib, Absent)],
                         ids=[p.name for p in PRIMITIVES if isinstance(p.mathlib, Absent)])
def test_without_a_mathlib_name_it_does_not_print(primitive):
    with pytest.raises(PrintMethodNotImplementedError):
        LeanPrinter().doprint(_sample(primitive))


def _one_variant(spec):
    """Every tensor present, rows of 3, the first value of each discrete option."""
    discrete = [o for o in spec.options if o.in_formula and not o.continuous]
    combo = tuple((o.name, (o.choices or o.grid)[0]) for o in discrete)
    return VariantKey(spec.name, tuple(t.name for t in spec.tensors), 3, False, combo)


def test_every_function_the_specs_meet_is_a_primitive():
    """Losses and gradients of every spec: no undeclared function among them (a Piecewise is structure,
    which each layer handles itself)."""
    functions: dict[type, sp.Expr] = {}
    for spec in all_specs().values():
        try:
            derivation = derive(spec, _one_variant(spec))
        except Exception:  # a spec whose loss is not one SymPy expression (CTC's recursion)
            continue
        for expr in (derivation.loss, *derivation.loss_grad):
            for node in sp.preorder_traversal(sp.sympify(expr)):
                if isinstance(node, (sp.Function, sp.Max, sp.Min)) and not isinstance(node, sp.Piecewise):
                    functions.setdefault(type(node), node)
    undeclared = sorted(f.__name__ for f, node in functions.items() if primitive_of(node) is None)
    assert functions and not undeclared, f"not declared in derivations/primitives.py: {undeclared}"
