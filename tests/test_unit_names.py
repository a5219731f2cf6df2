"""A unit's tensors and options apart (``u.tensor``, ``u.option``), and a name a spec does not declare caught
when the spec is defined."""

import pytest
import sympy as sp
from losscheck.spec.core import REAL, Elementwise, LossSpec, Option, TensorArg, Unit


def _spec(loss):
    return LossSpec(name="toy", formula="", tensors=(TensorArg("input", REAL, differentiable=True),),
                    options=(Option("margin", 1.0, grid=(1.0,), interval=(0.0, 2.0)),), structure=Elementwise(),
                    loss=loss, denominator=lambda u: sp.Integer(1), shape_cases=())


def misspelt(u):
    return u.inptu - u.margin


def wrong_namespace(u):
    return u.option.input


def typed(u):
    return u.tensor.input - u.option.margin


def test_an_undeclared_name_fails_when_the_spec_is_defined():
    with pytest.raises(TypeError, match=r"misspelt reads u\.inptu, but its tensors are input and its options margin"):
        _spec(misspelt)


def test_a_tensor_read_as_an_option_fails_when_the_spec_is_defined():
    with pytest.raises(TypeError, match=r"reads u\.option\.input"):
        _spec(wrong_namespace)


def test_typed_access_reads_each_namespace():
    spec = _spec(typed)
    x, m = sp.symbols("x m")
    assert spec.loss(Unit({"input": x}, {"margin": m})) == x - m


def test_a_missing_name_says_what_the_unit_has():
    unit = Unit({"input": 1}, {"margin": 2})
    with pytest.raises(AttributeError, match="no option 'input'; this unit's: margin"):
        _ = unit.option.input
    with pytest.raises(AttributeError, match="neither a tensor"):
        _ = unit.target
