"""Known deviations of the compiled target (``torch.compile``, inductor on CPU): each recorded
reproducer still reproduces with ``torch.compile``, differs from the exact value, and each entry
explains only what it says.

Every reproduction test compiles PyTorch's own function, asserts the compiled value recorded in
``conformance/ledgers/compiled.json``, and that the exact value (the oracle's, checked against a
hand computation) differs from it: when upstream changes its decomposition, the test fails and
the entry is to be revised or removed.
"""

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from compiled_helpers import COMPILED, _really_compiled, case_of, compiled_call, reference  # noqa: F401
from losscheck.conformance.deviations import find_known, find_known_shape, known_deviations
from losscheck.conformance.oracle import exact_reference


def test_every_compiled_entry_has_a_reproducer_and_a_test_here():
    tested = {"multilabel_margin_loss-compiled-terminated-rows-value",
              "multilabel_margin_loss-compiled-terminated-rows-grad",
              "multilabel_margin_loss-compiled-unbatched-none-shape",
              "multilabel_margin_loss-compiled-hinge-kink-grad",
              "multi_margin_loss-compiled-hinge-kink-grad", "compiled-forward-ad-tangent-dropped",
              "multi_margin_loss-compiled-unbatched-none-shape",
              "soft_margin_loss-compiled-sigmoid-rounds-to-one-grad",
              "soft_margin_loss-compiled-sigmoid-cancellation-grad",
              "binary_cross_entropy-compiled-float64-backward-double-eps-at-0",
              "binary_cross_entropy-compiled-float64-backward-double-eps-at-1",
              *(f"l1_loss-compiled-weight-dropped-{q}" for q in ("value", "grad-input", "grad-target", "grad-weight")),
              *(f"{loss}-compiled-empty-mean-backward-divides-by-zero" for loss in ("smooth_l1_loss", "huber_loss"))}
    assert set(COMPILED) <= tested, set(COMPILED) - tested
    for entry in COMPILED.values():
        assert entry.reproducer["code"] and entry.reproducer["pytorch_value"] and entry.reproducer["exact_value"]
        assert "torch.compile" in entry.reproducer["code"]
    assert not any(e.ledger == "compiled" for e in known_deviations()), "the compiled ledger is for --compile only"


def test_multilabel_margin_terminated_rows():
    """Each position from the first −1 on gathers x[0] and is never masked out: compiled 2.375, exact 1."""
    x = torch.tensor([[0.25, 0.5, 0.75, 1.0]], dtype=torch.float64)
    target = torch.tensor([[3, 0, -1, 1]])
    (value, grads), (eager, eager_grads) = compiled_call("multilabel_margin_loss", {"input": x, "target": target},
                                                         ["input"], reduction="none")
    assert value.tolist() == [2.375]
    assert grads["input"].tolist() == [[-1.5, 1.0, 1.0, -0.5]]
    exact = reference("multilabel_margin_loss", {"input": x, "target": target}, np.ones(1), reduction="none")
    # labels {3, 0}, others {1, 2}: (0.5 + 0.75 + 1.25 + 1.5)/4
    assert exact.value == [1] and exact.grads["input"] == [-0.5, 0.5, 0.5, -0.5]
    assert eager.tolist() == [1.0] and eager_grads["input"].tolist() == [[-0.5, 0.5, 0.5, -0.5]]
    # a row without a −1 is right: labels 3, 0, 0, 3 (each twice), others {1, 2}
    full = torch.tensor([[3, 0, 0, 3]])
    (value, grads), _ = compiled_call("multilabel_margin_loss", {"input": x, "target": full}, ["input"],
                                      reduction="none")
    exact = reference("multilabel_margin_loss", {"input": x, "target": full}, np.ones(1), reduction="none")
    assert value.tolist() == [2.0] and exact.value == [2]
    assert grads["input"].tolist() == [[-1.0, 1.0, 1.0, -1.0]] == [[float(g) for g in exact.grads["input"]]]


def test_multilabel_margin_terminated_rows_entry_is_narrow():
    """Failures in rows that hold a −1 are explained; the same failures in a row without one are not."""
    for quantity, size, row_elements in (("value", 2, ([0], [1])), ("grad input", 8, ([0, 3], [4, 7]))):
        entry = COMPILED[f"multilabel_margin_loss-compiled-terminated-rows-{quantity.split()[0]}"]
        case = case_of("multilabel_margin_loss", "(N,C)", reduction="none")
        tensors = {"input": np.array([[0.25, 0.5, 0.75, 1.0], [0.25, 0.5, 0.75, 1.0]]),
                   "target": np.array([[3, 0, -1, 1], [3, 0, 0, 3]])}
        exact = exact_reference(case.spec, tensors, case.options, np.ones(2))
        got = np.full(size, 7.0)
        terminated, full = row_elements
        assert entry.applies(case, quantity, "float64", exact)
        assert all(entry.explains(e, case, quantity, tensors, got, "float64") for e in terminated)
        assert not any(entry.explains(e, case, quantity, tensors, got, "float64") for e in full)
        assert find_known(case, quantity, "float64", tensors, exact, terminated, got, ("compiled",)) == entry.id
        assert find_known(case, quantity, "float64", tensors, exact, terminated + full, got, ("compiled",)) is None
        assert find_known(case, quantity, "float64", tensors, exact, terminated, got) is None  # eager: no entry
        assert not entry.explains(terminated[0], case, quantity, tensors, np.full(size, math.nan), "float64")
    sum_case = case_of("multilabel_margin_loss", "(N,C)", reduction="sum")
    for target, covered in (([[3, 0, -1, 1], [3, 0, 0, 3]], True), ([[3, 0, 2, 1], [3, 0, 0, 3]], False)):
        tensors = {"input": np.ones((2, 4)), "target": np.array(target)}
        assert COMPILED["multilabel_margin_loss-compiled-terminated-rows-value"].explains(
            0, sum_case, "value", tensors, np.array([5.0]), "float64") is covered


@pytest.mark.parametrize("loss, tensors, value", [
    ("multilabel_margin_loss", {"input": torch.tensor([0.25, 0.5, 0.75, 1.0], dtype=torch.float64),
                                "target": torch.tensor([3, 0, 0, 3])}, 2.0),
    ("multi_margin_loss", {"input": torch.tensor([1.0, 0.0, 0.5], dtype=torch.float64),
                           "target": torch.tensor(0)}, 0.5 / 3),
])
def test_unbatched_none_shape(loss, tensors, value):
    """Compiled: shape (1,) for an unbatched input's reduction='none'; exact (and eager): 0-dim. The value is right."""
    (out, _), (eager, _) = compiled_call(loss, tensors, ["input"], reduction="none")
    assert out.shape == (1,) and eager.shape == ()
    assert out.item() == eager.item() == pytest.approx(value, rel=1e-15)
    exact = reference(loss, tensors, np.array(1.0), reduction="none")
    assert exact.shape == () and mpmath.almosteq(exact.value[0], value, rel_eps=1e-15)
    entry_id = f"{loss}-compiled-unbatched-none-shape"
    unbatched = case_of(loss, "unbatched (C,)", reduction="none")
    assert find_known_shape(unbatched, "float64", exact, (1,), ("compiled",)) == entry_id
    assert find_known_shape(unbatched, "float64", exact, (1,)) is None  # eager's ledger: no entry
    assert find_known_shape(unbatched, "float64", exact, (1, 1), ("compiled",)) is None  # only the shape it says
    assert find_known_shape(unbatched, "float64", exact, (2,), ("compiled",)) is None  # another size
    mean = case_of(loss, "unbatched (C,)", reduction="mean")
    assert find_known_shape(mean, "float64", exact, (1,), ("compiled",)) is None


def test_multi_margin_hinge_kink_gradient():
    """z = margin − x[y] + x[i] = 0 exactly: compiled counts the term (z ≥ 0); the convention (z > 0) does not."""
    x = torch.tensor([[1.0, 0.0, 0.5]], dtype=torch.float64)
    target = torch.tensor([0])
    (value, grads), (eager, eager_grads) = compiled_call("multi_margin_loss", {"input": x, "target": target},
                                                         ["input"], reduction="sum")
    assert grads["input"].tolist() == [[-2 / 3, 1 / 3, 1 / 3]]
    assert eager_grads["input"].tolist() == [[-1 / 3, 0.0, 1 / 3]]
    assert value.item() == eager.item() == 0.5 / 3
    exact = reference("multi_margin_loss", {"input": x, "target": target}, np.array(1.0), reduction="sum", p=1,
                      margin=1.0)
    assert [float(g) for g in exact.grads["input"]] == [-1 / 3, 0.0, 1 / 3]
    assert all(b.at_kink for b in exact.grad_bounds["input"])


def test_multi_margin_hinge_kink_entry_is_narrow():
    """Only rows sitting exactly on a kink, only p = 1."""
    entry = COMPILED["multi_margin_loss-compiled-hinge-kink-grad"]
    case = case_of("multi_margin_loss", "(N,C)", reduction="none", p=1, margin=1.0)
    tensors = {"input": np.array([[1.0, 0.0, 0.5], [1.0, 0.25, 0.5], [0.0, 0.0, 0.0]]), "target": np.array([0, 0, 1])}
    exact = exact_reference(case.spec, tensors, case.options, np.ones(3))
    got = np.full(9, 0.125)
    assert entry.applies(case, "grad input", "float64", exact)
    kink_row, smooth_row = [0, 1, 2], [3, 4, 5]
    assert find_known(case, "grad input", "float64", tensors, exact, kink_row, got, ("compiled",)) == entry.id
    assert find_known(case, "grad input", "float64", tensors, exact, kink_row + smooth_row, got, ("compiled",)) is None
    assert find_known(case, "grad input", "float64", tensors, exact, kink_row, got) is None
    assert find_known(case, "grad input", "float64", tensors, exact, kink_row, np.full(9, math.inf),
                      ("compiled",)) is None
    assert not entry.explains(0, case, "grad input", tensors, got, "float64")  # no reference: no kink known
    p2 = case_of("multi_margin_loss", "(N,C)", reduction="none", p=2, margin=1.0)
    assert not entry.applies(p2, "grad input", "float64", exact_reference(p2.spec, tensors, p2.options, np.ones(3)))


def test_soft_margin_gradient_where_sigmoid_rounds_to_one():
    """y·x = 110: compiled y·g·(sigmoid(y·x) − 1) = ±0; exact −y/(1 + e^110) = −1.69e-48 (eager agrees)."""
    x = torch.tensor([110.0, -110.0, 2.0], dtype=torch.float64)
    y = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64)
    (_, grads), (_, eager_grads) = compiled_call("soft_margin_loss", {"input": x, "target": y}, ["input"],
                                                 reduction="sum")
    g = grads["input"].tolist()
    assert g[0] == 0 and math.copysign(1, g[0]) == 1 and g[1] == 0 and math.copysign(1, g[1]) == -1
    exact = reference("soft_margin_loss", {"input": x, "target": y}, np.array(1.0), reduction="sum")
    with mpmath.workdps(40):
        assert mpmath.almosteq(exact.grads["input"][0], -1 / (1 + mpmath.exp(110)), rel_eps=1e-30)
        assert mpmath.almosteq(exact.grads["input"][1], 1 / (1 + mpmath.exp(110)), rel_eps=1e-30)
    assert eager_grads["input"][0].item() == float(exact.grads["input"][0]) == -1.6889118802245324e-48
    assert math.isclose(g[2], float(exact.grads["input"][2]), rel_tol=1e-15)  # y·x = −2: right


def test_soft_margin_entry_is_narrow():
    """±0 above y·x = 36.73 only: a 0 below it, or a wrong nonzero value above it, is not explained."""
    entry = COMPILED["soft_margin_loss-compiled-sigmoid-rounds-to-one-grad"]
    case = case_of("soft_margin_loss", "vector", reduction="none")
    x = np.array([110.0, 36.0, 2.0])
    tensors = {"input": x, "target": np.ones(3)}
    exact = exact_reference(case.spec, tensors, case.options, np.ones(3))
    assert entry.explains(0, case, "grad input", tensors, np.array([-0.0, 0, 0]), "float64")
    assert not entry.explains(1, case, "grad input", tensors, np.array([0.0, 0, 0]), "float64")
    assert not entry.explains(0, case, "grad input", tensors, np.array([-1e-300, 0, 0]), "float64")
    assert not entry.applies(case, "grad input", "float32", exact)


@pytest.mark.parametrize("p, y", [(0.0, 0.5), (1.0, 0.5)])
def test_bce_float64_backward_clamps_at_double_eps(p, y):
    """p(1 − p) = 0: compiled divides by the double 1e-12, the convention (and eager) by 1e-12f = 9.99999996e-13."""
    tensors = {"input": torch.tensor([p], dtype=torch.float64), "target": torch.tensor([y], dtype=torch.float64)}
    (_, grads), (_, eager_grads) = compiled_call("binary_cross_entropy", tensors, ["input"], reduction="sum")
    assert grads["input"].item() == (p - y) / 1e-12 == math.copysign(5e11, p - y)
    exact = reference("binary_cross_entropy", tensors, np.array(1.0), reduction="sum")
    eps_f = mpmath.mpf(float(np.float32(1e-12)))
    assert eps_f == mpmath.mpf("9.999999960041972002500187954865396022796630859375e-13")
    with mpmath.workdps(50):
        assert mpmath.almosteq(exact.grads["input"][0], mpmath.mpf(p - y) / eps_f, rel_eps=1e-30)
    assert eager_grads["input"].item() == float(exact.grads["input"][0]) == math.copysign(500000001997.9014, p - y)
    relative = abs((grads["input"].item() - exact.grads["input"][0]) / exact.grads["input"][0])
    assert 3.9e-9 < relative < 4e-9


def test_bce_double_eps_entry_is_narrow():
    """Within 1e-8 relatively of the exact gradient, near p = 0 or 1 only, float64 only."""
    case = case_of("binary_cross_entropy", "vector, full weight", reduction="none")
    tensors = {"input": np.array([0.0, 1.0, 0.5]), "target": np.array([0.5, 0.5, 0.25])}
    exact = exact_reference(case.spec, tensors, case.options, np.ones(3))
    exact_grad = np.array([float(g) for g in exact.grads["input"]])
    got = exact_grad * np.array([1 - 4e-9, 1 - 4e-9, 1 - 4e-9])
    at_0, at_1 = (COMPILED[f"binary_cross_entropy-compiled-float64-backward-double-eps-at-{s}"] for s in "01")
    assert find_known(case, "grad input", "float64", tensors, exact, [0, 1], got, ("compiled",)) == \
        f"{at_0.id}, {at_1.id}"
    assert find_known(case, "grad input", "float64", tensors, exact, [0, 1, 2], got, ("compiled",)) is None
    assert find_known(case, "grad input", "float64", tensors, exact, [0], exact_grad * 1.001, ("compiled",)) is None
    assert find_known(case, "grad input", "float64", tensors, exact, [0], np.full(3, math.nan), ("compiled",)) is None
    assert find_known(case, "grad input", "float64", tensors, exact, [0], got) is None
    assert not at_0.applies(case, "grad input", "float32", exact)
    assert not at_0.explains(0, case, "grad input", tensors, got, "float64")  # no reference: no claim to check


def test_multilabel_margin_hinge_kink_gradient():
    """Labels {0, 3, 1}, other class 2: z = 1 − x[1] + x[2] = 0. Compiled counts the term; the convention does not."""
    x = torch.tensor([[1.5, 1.0, 0.0, 0.5]], dtype=torch.float64)
    target = torch.tensor([[0, 3, 1, 0]])
    (value, grads), (eager, eager_grads) = compiled_call("multilabel_margin_loss", {"input": x, "target": target},
                                                         ["input"], reduction="sum")
    assert grads["input"].tolist() == [[0.0, -0.25, 0.5, -0.25]]
    assert eager_grads["input"].tolist() == [[0.0, 0.0, 0.25, -0.25]]
    # only label 3 is active: (1 − 0.5 + 0)/4; label 1 sits on the kink, label 0 (twice) is inactive
    assert value.item() == eager.item() == 0.125
    exact = reference("multilabel_margin_loss", {"input": x, "target": target}, np.array(1.0), reduction="sum")
    assert exact.grads["input"] == [0, 0, 0.25, -0.25] and exact.value == [0.125]
    assert all(b.at_kink for b in exact.grad_bounds["input"])
    entry = COMPILED["multilabel_margin_loss-compiled-hinge-kink-grad"]
    case = case_of("multilabel_margin_loss", "(N,C)", reduction="none")
    tensors = {"input": x.numpy(), "target": target.numpy()}
    ref = exact_reference(case.spec, tensors, case.options, np.ones(1))
    assert find_known(case, "grad input", "float64", tensors, ref, [1, 2], grads["input"].numpy(),
                      ("compiled",)) == entry.id
    assert find_known(case, "grad input", "float64", tensors, ref, [1, 2], grads["input"].numpy()) is None
    smooth = {"input": np.array([[1.5, 1.0, 0.25, 0.625]]), "target": target.numpy()}  # no x[c] − x[i] is 1
    ref = exact_reference(case.spec, smooth, case.options, np.ones(1))
    assert find_known(case, "grad input", "float64", smooth, ref, [1, 2], grads["input"].numpy(), ("compiled",)) is None


def test_compiled_forward_mode_drops_the_tangent():
    """torch.compile returns no tangent for dual inputs (pytorch/pytorch#187284); the exact JVP here is 1.5."""
    import torch.autograd.forward_ad as fwAD

    x = torch.tensor([0.5, 2.0], dtype=torch.float64)
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    tangents = []
    for fn in (torch.compile(F.mse_loss), F.mse_loss):
        with fwAD.dual_level():
            out = fn(fwAD.make_dual(x, torch.ones(2, dtype=torch.float64)), t)
            tangents.append(fwAD.unpack_dual(out).tangent)
    compiled_tangent, eager_tangent = tangents
    assert compiled_tangent is None
    assert eager_tangent.item() == 1.5
    exact = reference("mse_loss", {"input": x, "target": t}, np.array(1.0), reduction="mean")
    assert sum(exact.grads["input"]) == mpmath.mpf(1.5)  # J·ṫ with ṫ = (1, 1)


def test_forward_mode_entry_is_narrow():
    """Any loss, but only a JVP claim whose projection is exactly 0, and only under the compiled ledger."""
    from losscheck.conformance.deviations import find_known_claim

    entry = COMPILED["compiled-forward-ad-tangent-dropped"]
    case = case_of("soft_margin_loss", "vector", reduction="sum")
    tensors = {"input": np.array([0.5, 2.0, -1.0]), "target": np.array([1.0, -1.0, 1.0])}
    exact = exact_reference(case.spec, tensors, case.options, np.array(1.0))
    assert entry.applies(case, "jvp", "float32", exact) and not entry.applies(case, "hvp", "float32", exact)
    assert find_known_claim(case, "jvp", "float64", exact, 1.0, ("compiled",), mpmath.mpf(0)) == entry.id
    assert find_known_claim(case, "jvp", "float64", exact, 0.5, ("compiled",), mpmath.mpf("0.1")) is None
    assert find_known_claim(case, "jvp", "float64", exact, 1.0, (), mpmath.mpf(0)) is None
    assert find_known_claim(case, "jvp", "float64", exact, 1.0, ("compiled",)) is None  # no projection given


@pytest.mark.parametrize("values, status, message", [
    ([2.0], "known", "known deviation multilabel_margin_loss-compiled-unbatched-none-shape"),
    ([7.0], "fail", "1 of 1 elements outside tolerance"),
])
def test_judge_names_a_known_shape_and_still_judges_the_elements(values, status, message):
    """The shape (1,) is known; the element inside is judged all the same (right: KNOWN; wrong: FAIL)."""
    from losscheck.conformance.driver import Returned
    from losscheck.conformance.judge import Trial, judge_value
    from losscheck.conformance.results import QuantityResult

    case = case_of("multilabel_margin_loss", "unbatched (C,)", reduction="none")
    tensors = {"input": np.array([0.25, 0.5, 0.75, 1.0]), "target": np.array([3, 0, 0, 3])}
    exact = exact_reference(case.spec, tensors, case.options, np.array(1.0))
    known = find_known_shape(case, "float64", exact, (1,), ("compiled",))

    def make(quantity, s, **details):
        return QuantityResult(case.spec.name, "float64", case.name, quantity, s, **details)

    trial = Trial(case.spec, case, "float64", tensors, np.array(1.0), exact, ["input"], ("compiled",), make)
    result = judge_value(trial, Returned(np.array(values), "float64", (1,), "cpu"), known)
    assert (result.status, result.message[:len(message)]) == (status, message)


def test_a_wrong_output_shape_is_one_finding():
    """The driver hands backward the upstream gradient in the output's own shape when only the shape is wrong,
    so a known shape (1,) does not cascade into backward, twice and HVP errors."""
    from types import SimpleNamespace

    from losscheck.conformance.driver import _upstream

    request = SimpleNamespace(upstream=np.array(0.5))
    assert _upstream(request, torch.zeros(1, dtype=torch.float64)).shape == (1,)
    assert _upstream(request, torch.zeros((), dtype=torch.float64)).shape == ()
    assert _upstream(SimpleNamespace(upstream=np.ones(3)), torch.zeros(2)).shape == (3,)  # sizes differ: as given
