"""The ledger's condition kinds, on made-up entries: ``present`` (an optional tensor passed), ``raises`` (a
pattern of the raised exception, explaining that raise and nothing else) and how a wrapped error is named."""

import math

import numpy as np
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import known_deviations
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec


def test_present_condition_applies_only_where_the_optional_tensor_is_passed():
    """``present``: an entry about what a target does with an optional tensor never speaks for a case without it."""
    from dataclasses import replace

    from losscheck.conformance.deviations import KnownDeviation

    spec = get_spec("l1_loss")
    cases = [c for c in generate_cases(spec) if c.shape_case.name == "matrix" and c.options["reduction"] == "sum"]
    weighted = next(c for c in cases if "weight" in c.present)
    unweighted = next(c for c in cases if "weight" not in c.present)
    entry = KnownDeviation("l1-weight-test", "l1_loss", "value", ("float64",), {}, {}, "finite", "w·|d|", "", {},
                           present=("weight",))
    on, off = (exact_reference(spec, c.tensors("float64"), c.options, np.array(1.0)) for c in (weighted, unweighted))
    assert entry.applies(weighted, "value", "float64", on)
    assert not entry.applies(unweighted, "value", "float64", off)
    anywhere = replace(entry, present=())  # without the condition: every case
    assert anywhere.applies(weighted, "value", "float64", on) and anywhere.applies(unweighted, "value", "float64", off)
    assert all(e.present == () or isinstance(e.present, tuple) for e in known_deviations("all"))


def test_raises_entry_explains_only_that_raise_where_it_applies(monkeypatch):
    """``raises``: a pattern of the raised exception; it explains that raise (empty input, mean), no other raise,
    no element, and not on a non-empty input."""
    from losscheck.conformance import deviations
    from losscheck.conformance.deviations import KnownDeviation, find_known_raised

    entry = KnownDeviation("raise-test", "smooth_l1_loss", "value", ("float64",), {"reduction": "mean"}, {},
                           "raises", "nan", "", {}, requires="empty_input",
                           raises=r"^BackendCompilerFailed: .*ZeroDivisionError")
    monkeypatch.setattr(deviations, "known_deviations", lambda ledgers=(): (entry,) if "compiled" in ledgers else ())
    spec = get_spec("smooth_l1_loss")
    case = next(c for c in generate_cases(spec) if c.options.get("reduction") == "mean")
    sum_case = next(c for c in generate_cases(spec) if c.options.get("reduction") == "sum")
    empty, full = {"input": np.zeros((0, 3)), "target": np.zeros((0, 3))}, {"input": np.ones(3), "target": np.ones(3)}
    raised = "BackendCompilerFailed: backend='inductor' raised: ZeroDivisionError: float division by zero"

    def reference(tensors, c=case):
        return lambda: exact_reference(spec, tensors, c.options, np.array(1.0))

    assert find_known_raised(case, "value", "float64", empty, raised, reference(empty), ("compiled",)) == entry.id
    assert find_known_raised(case, "value", "float64", empty, raised, reference(empty)) is None  # another target
    assert find_known_raised(case, "value", "float64", full, raised, reference(full), ("compiled",)) is None
    assert find_known_raised(case, "value", "float64", empty, "RuntimeError: boom", reference(empty),
                             ("compiled",)) is None
    assert find_known_raised(case, "grad input", "float64", empty, raised, reference(empty), ("compiled",)) is None
    assert find_known_raised(case, "value", "float32", empty, raised, reference(empty), ("compiled",)) is None
    assert find_known_raised(sum_case, "value", "float64", empty, raised, reference(empty, sum_case),
                             ("compiled",)) is None
    assert not entry.explains(0, case, "value", empty, np.array([math.nan]), "float64")  # never an element


def test_a_wrapped_error_names_its_inner_cause():
    """torch.compile's BackendCompilerFailed puts the real error on its second line and in ``inner_exception``."""
    from losscheck.conformance.driver import _raised

    class BackendCompilerFailed(Exception):
        def __init__(self, inner):
            super().__init__(f"backend='inductor' raised:\n{type(inner).__name__}: {inner}\n\nSet TORCH_LOGS")
            self.inner_exception = inner

    raised = _raised(BackendCompilerFailed(ZeroDivisionError("float division by zero")))
    assert str(raised) == "BackendCompilerFailed: backend='inductor' raised: ZeroDivisionError: float division by zero"
    assert str(_raised(ValueError("plain\nsecond line"))) == "ValueError: plain"
