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
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import find_known, find_known_shape, known_deviations
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec

COMPILED = {e.id: e for e in known_deviations(("compiled",)) if e.ledger == "compiled"}


@pytest.fixture(autouse=True)
def _really_compiled():
    """Never let dynamo fall back to eager past its recompile limit: a test must see the compiled code."""
    import torch._dynamo

    with torch._dynamo.config.patch(recompile_limit=1 << 20, accumulated_recompile_limit=1 << 20,
                                    fail_on_recompile_limit_hit=True):
        yield


def compiled_call(loss, tensors, wrt, upstream=None, **options):
    """(value, {name: gradient}) of ``torch.compile(F.loss)`` and of eager ``F.loss`` on the same inputs."""
    results = []
    for fn in (torch.compile(getattr(F, loss)), getattr(F, loss)):
        leaves = {n: t.detach().clone().requires_grad_(n in wrt) for n, t in tensors.items()}
        out = fn(*leaves.values(), **options)
        grads = torch.autograd.grad(out, [leaves[n] for n in wrt],
                                    torch.ones_like(out) if upstream is None else upstream)
        results.append((out.detach(), dict(zip(wrt, grads))))
    return results


def reference(loss, tensors, upstream, **options):
    return exact_reference(get_spec(loss), {n: t.detach().double().numpy() if t.is_floating_point()
                                            else t.numpy() for n, t in tensors.items()}, options, upstream)


def case_of(loss, shape_case, **options):
    spec = get_spec(loss)
    return next(c for c in generate_cases(spec) if c.shape_case.name == shape_case
                and all(c.options.get(k) == v for k, v in options.items()))


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


def test_soft_margin_gradient_cancels_in_sigmoid_minus_one():
    """y·x = 30: compiled y·g·(sigmoid(30) − 1) = −9.348e-14; exact −1/(1 + e^30) = −9.3576e-14 (eager: 1 ulp)."""
    x = torch.tensor([30.0, -0.5], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    (_, grads), (_, eager_grads) = compiled_call("soft_margin_loss", {"input": x, "target": y}, ["input"],
                                                 reduction="sum")
    assert grads["input"][0].item() == -9.348077867343818e-14
    exact = reference("soft_margin_loss", {"input": x, "target": y}, np.array(1.0), reduction="sum")
    with mpmath.workdps(40):
        assert mpmath.almosteq(exact.grads["input"][0], -1 / (1 + mpmath.exp(30)), rel_eps=1e-30)
    assert float(exact.grads["input"][0]) == -9.357622968839299e-14
    assert eager_grads["input"][0].item() == -9.3576229688393e-14  # one ulp from the exact
    relative = abs((grads["input"][0].item() - exact.grads["input"][0]) / exact.grads["input"][0])
    assert 1e-4 < relative < 1
    assert math.isclose(grads["input"][1].item(), float(exact.grads["input"][1]), rel_tol=1e-15)  # y·x < 0: right


def test_soft_margin_cancellation_entry_is_narrow():
    """y·x above 1, a nonzero gradient of the right sign: a zero, a wrong sign, or y·x below 1 is not explained."""
    entry = COMPILED["soft_margin_loss-compiled-sigmoid-cancellation-grad"]
    case = case_of("soft_margin_loss", "vector", reduction="none")
    tensors = {"input": np.array([30.0, 0.5]), "target": np.ones(2)}
    exact = exact_reference(case.spec, tensors, case.options, np.ones(2))
    e = np.array([float(g) for g in exact.grads["input"]])
    assert find_known(case, "grad input", "float64", tensors, exact, [0], e * 1.001, ("compiled",)) == entry.id
    assert find_known(case, "grad input", "float64", tensors, exact, [0], -e, ("compiled",)) is None
    assert find_known(case, "grad input", "float64", tensors, exact, [0], e * 0, ("compiled",)) is None  # 0 < y·x = 30
    assert find_known(case, "grad input", "float64", tensors, exact, [1], e * 1.001, ("compiled",)) is None
    assert not entry.applies(case, "grad input", "float16", exact)


def weighted_l1_call(x, t, w, **options):
    """(value, gradients w.r.t. input, target, weight) of compiled and of eager ``F.l1_loss(x, t, weight=w)``."""
    results = []
    for fn in (torch.compile(F.l1_loss), F.l1_loss):
        leaves = [v.detach().clone().requires_grad_() for v in (x, t, w)]
        out = fn(leaves[0], leaves[1], weight=leaves[2], **options)
        grads = torch.autograd.grad(out, leaves, allow_unused=True)
        results.append((out.detach(), dict(zip(("input", "target", "weight"), grads))))
    return results


def test_l1_compiled_ignores_weight():
    """weight= never reaches the compiled l1_loss: compiled Σ|d| = 7, exact (and eager) Σ w·|d| = 5.5."""
    x = torch.tensor([1.0, -2.0, 4.0], dtype=torch.float64)
    t = torch.zeros(3, dtype=torch.float64)
    w = torch.tensor([0.5, 2.0, 0.25], dtype=torch.float64)
    tensors = {"input": x, "target": t, "weight": w}
    (value, grads), (eager, eager_grads) = weighted_l1_call(x, t, w, reduction="sum")
    assert value.item() == 7.0 and eager.item() == 5.5
    assert grads["input"].tolist() == [1.0, -1.0, 1.0] and grads["target"].tolist() == [-1.0, 1.0, -1.0]
    assert grads["weight"] is None  # weight is not in the compiled graph at all
    exact = reference("l1_loss", tensors, np.array(1.0), reduction="sum")
    assert exact.value == [mpmath.mpf(5.5)]
    assert exact.grads["input"] == [0.5, -2, 0.25] == eager_grads["input"].tolist()
    assert exact.grads["target"] == [-0.5, 2, -0.25] and exact.grads["weight"] == [1, 2, 4]
    # a second input: float32 (2, 2), mean; compiled is the unweighted mean 4.5/4, exact Σ w·|d| / Σ w = 6/7.5
    x2 = torch.tensor([[0.5, -3.0], [2.0, 1.0]])
    t2 = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    w2 = torch.tensor([[4.0, 0.5], [0.0, 3.0]])
    (value, _), (eager, _) = weighted_l1_call(x2, t2, w2, reduction="mean")
    assert value.item() == 1.125 and eager.item() == pytest.approx(0.8, rel=1e-7)
    exact = reference("l1_loss", {"input": x2, "target": t2, "weight": w2}, np.array(1.0), reduction="mean")
    with mpmath.workdps(50):
        assert mpmath.almosteq(exact.value[0], mpmath.mpf(6) / mpmath.mpf(7.5), rel_eps=1e-40)
    # without weight, compiled is right: the entry must not (and does not) speak there
    (value, _), _ = compiled_call("l1_loss", {"input": x, "target": t}, ["input"], reduction="sum")
    assert value.item() == 7.0 == float(reference("l1_loss", {"input": x, "target": t}, np.array(1.0),
                                                  reduction="sum").value[0])


def test_l1_weight_is_dropped_by_its_torch_function_dispatch():
    """The mechanism: F.l1_loss re-dispatches through __torch_function__ without weight=, so eager PyTorch under a
    pass-through TorchFunctionMode drops it too (mse_loss passes it on)."""
    from torch.overrides import TorchFunctionMode

    class PassThrough(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            return func(*args, **(kwargs or {}))

    x = torch.tensor([1.0, -2.0, 4.0], dtype=torch.float64)
    t = torch.zeros(3, dtype=torch.float64)
    w = torch.tensor([0.5, 2.0, 0.25], dtype=torch.float64)
    with PassThrough():
        assert F.l1_loss(x, t, weight=w, reduction="sum").item() == 7.0
        assert F.mse_loss(x, t, weight=w, reduction="sum").item() == 12.5  # 0.5 + 8 + 4: weighted
    assert F.l1_loss(x, t, weight=w, reduction="sum").item() == 5.5


def test_l1_weight_entries_are_narrow():
    """Only cases that pass weight=; a non-finite value, or a nonzero weight gradient, is not explained."""
    spec = get_spec("l1_loss")
    cases = [c for c in generate_cases(spec) if c.shape_case.name == "matrix" and c.options["reduction"] == "sum"]
    weighted = next(c for c in cases if "weight" in c.present)
    unweighted = next(c for c in cases if "weight" not in c.present)
    tensors = {"input": np.array([1.0, -2.0, 4.0]), "target": np.zeros(3), "weight": np.array([0.5, 2.0, 0.25])}
    exact = exact_reference(spec, tensors, weighted.options, np.array(1.0))
    value = COMPILED["l1_loss-compiled-weight-dropped-value"]
    assert find_known(weighted, "value", "float64", tensors, exact, [0], np.array([7.0]), ("compiled",)) == value.id
    assert find_known(weighted, "value", "float64", tensors, exact, [0], np.array([7.0])) is None  # eager: no entry
    assert find_known(weighted, "value", "float64", tensors, exact, [0], np.array([math.inf]), ("compiled",)) is None
    plain = {"input": tensors["input"], "target": tensors["target"]}
    plain_exact = exact_reference(spec, plain, unweighted.options, np.array(1.0))
    assert find_known(unweighted, "value", "float64", plain, plain_exact, [0], np.array([5.5]), ("compiled",)) is None
    grad_weight = COMPILED["l1_loss-compiled-weight-dropped-grad-weight"]
    assert find_known(weighted, "grad weight", "float64", tensors, exact, [0, 1, 2], np.zeros(3),
                      ("compiled",)) == grad_weight.id
    assert find_known(weighted, "grad weight", "float64", tensors, exact, [0], np.array([0.5, 2, 4]),
                      ("compiled",)) is None


@pytest.mark.parametrize("loss, option", [("smooth_l1_loss", "beta"), ("huber_loss", "delta")])
@pytest.mark.parametrize("shape, dtype, parameter", [((0, 3), torch.float64, 1.0), ((0,), torch.float32, 0.5)])
def test_empty_mean_backward_divides_by_zero_at_compile_time(loss, option, shape, dtype, parameter):
    """The decomposed backward's mean scale is the Python float 1.0 / numel: compiling an empty mean with an input
    that requires grad raises (exact: nan, as eager returns). Without grad, or with reduction='sum', it runs right."""
    from losscheck.conformance.deviations import find_known_raised
    from losscheck.conformance.driver import _raised

    options = {"reduction": "mean", option: parameter}
    x, t = torch.zeros(shape, dtype=dtype), torch.zeros(shape, dtype=dtype)
    with pytest.raises(torch._dynamo.exc.BackendCompilerFailed) as raised:
        torch.compile(getattr(F, loss), dynamic=True)(x.clone().requires_grad_(), t, **options)
    assert isinstance(raised.value.inner_exception, ZeroDivisionError)
    message = str(_raised(raised.value))
    assert message == "BackendCompilerFailed: backend='inductor' raised: ZeroDivisionError: float division by zero"
    assert math.isnan(getattr(F, loss)(x, t, **options).item())  # eager
    assert math.isnan(torch.compile(getattr(F, loss), dynamic=True)(x, t, **options).item())  # no grad: no backward
    total = torch.compile(getattr(F, loss), dynamic=True)(x.clone().requires_grad_(), t, reduction="sum")
    assert total.item() == 0.0
    exact = reference(loss, {"input": x, "target": t}, np.array(1.0), **options)
    assert mpmath.isnan(exact.value[0]) and exact.grads["input"] == []
    case = case_of(loss, "matrix", **options)
    empty = {"input": x.double().numpy(), "target": t.double().numpy()}
    known = f"{loss}-compiled-empty-mean-backward-divides-by-zero"
    assert find_known_raised(case, "value", "float64", empty, message, lambda: exact, ("compiled",)) == known
    assert find_known_raised(case, "value", "float64", empty, message, lambda: exact) is None  # eager: no entry
    assert find_known_raised(case, "value", "float64", {"input": np.ones(3), "target": np.ones(3)}, message,
                             lambda: exact, ("compiled",)) is None  # not empty
    assert find_known_raised(case, "value", "float64", empty, "BackendCompilerFailed: backend='inductor' raised: "
                             "AssertionError: boom", lambda: exact, ("compiled",)) is None  # another failure



_CACHE_SEQUENCE = r"""
import json, sys, torch, torch._functorch.config
from losscheck.conformance.compositions import cosine_similarity_loss
from losscheck.conformance.targets import CompileSettings, TargetRef, build

def sequence(fn, rows, other, dtype):
    x, t = torch.tensor(rows, dtype=dtype), torch.tensor(other, dtype=dtype)
    calls = [(x, t, 1e-6), (x, t, 3.0), (x[0], t[0], 1e-6), (x[0], t[0], 3.0)]
    return [fn(a.clone().requires_grad_(), b.clone().requires_grad_(), eps=e).item() for a, b, e in calls]

inputs = json.loads(sys.argv[1])
assert torch._functorch.config.enable_autograd_cache  # torch 2.13's default
plain = [sequence(torch.compile(cosine_similarity_loss), *i[:2], getattr(torch, i[2])) for i in inputs]
torch._dynamo.reset()
target = build(TargetRef("cosine_similarity_loss", compile=CompileSettings()), None)
assert not torch._functorch.config.enable_autograd_cache
ours = [sequence(target, *i[:2], getattr(torch, i[2])) for i in inputs]
print(json.dumps({"plain": plain, "losscheck": ours}))
"""


@pytest.mark.slow
def test_aot_autograd_cache_serves_another_float_options_graph(tmp_path):
    """Upstream (torch 2.13): with AOTAutograd's cache on (the default), a call with eps = 3.0 is served the graph
    compiled for eps = 1e-6 once a shape change has made the graph dynamic, so the value is 1 − Σp·t/(1e-6)²
    where the exact one is 1 − Σp·t/3² (both norms below 3). Per input, four calls: a (2, 3) case at eps = 1e-6
    and 3.0, then its first row at both. losscheck's compiled target turns the cache off (``targets.build``), and
    then every call is right. A fresh process and an empty inductor cache directory, so nothing from another run
    is served. When upstream fixes the cache, the assertion on ``plain[3]`` fails: drop the workaround's mention
    in the README and this test's upstream half."""
    import json
    import os
    import subprocess
    import sys
    from fractions import Fraction

    inputs = [  # rows of x and t: the (3,) calls take the first row; both of its norms < 3
        ([[0.25, 0.5, -0.125], [1.0, 0.5, 0.75]], [[0.5, 0.25, 0.75], [-0.5, 1.0, 0.25]], "float64"),
        ([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]], [[0.25, -0.25, 1.0], [0.75, 0.5, -1.0]], "float32")]
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", _CACHE_SEQUENCE, json.dumps(inputs)], capture_output=True,
                          text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    for (rows, other, dtype), plain, ours in zip(inputs, got["plain"], got["losscheck"]):
        calls = [(rows, other, 1e-6), (rows, other, 3.0), (rows[0], other[0], 1e-6), (rows[0], other[0], 3.0)]
        exact = [float(reference("cosine_similarity_loss", {"input": torch.tensor(x, dtype=torch.float64),
                                                            "target": torch.tensor(t, dtype=torch.float64)},
                                 np.array(1.0), eps=e).value[0]) for x, t, e in calls]
        row_dot = sum(Fraction(a) * Fraction(b) for a, b in zip(rows[0], other[0]))
        assert all(sum(v * v for v in r) < 9 for r in (rows[0], other[0]))
        assert exact[3] == float(1 - row_dot / 9)  # the oracle against the hand computation: both norms clamp to 3
        as_if_tiny_eps = float(1 - row_dot / Fraction(1e-6) ** 2)
        rel = 1e-12 if dtype == "float64" else 1e-5
        assert plain[3] == pytest.approx(as_if_tiny_eps, rel=rel)  # the upstream bug, still there
        assert abs(plain[3] - exact[3]) > 1e9
        assert plain[0] == pytest.approx(exact[0], rel=rel) and plain[2] == pytest.approx(exact[2], rel=rel)
        assert ours == pytest.approx(exact, rel=rel)  # with the cache off: every call right
