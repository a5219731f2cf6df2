"""PyTorch's chunked linear_cross_entropy: each entry of ledgers/chunked.json still reproduces, the reference
path (options=None) does not show it, and the ledger explains exactly that failure, only for the chunked target.

Each test fails when PyTorch changes: if the chunked path starts raising or starts working, the entry must go
(or become a capability), and this file says so.
"""

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.compare import compare
from losscheck.conformance.deviations import find_known, find_known_claim, known_deviations
from losscheck.conformance.extra_checks import hvp_claim
from losscheck.conformance.oracle import exact_reference
from losscheck.conformance.probes import probe_cases
from losscheck.conformance.pytorch_paths import ACC_POLICIES, chunked_linear_cross_entropy
from losscheck.conformance.targets import EXTRA_TARGETS, builtin_targets
from losscheck.spec import get_spec

SPEC = get_spec("linear_cross_entropy")
DTYPES = ("float64", "float32", "float16", "bfloat16")
X = [[0.5, -1.0, 2.0]]
W = [[1.0, 0.0, -1.0], [0.5, 2.0, 0.0], [-1.5, 1.0, 0.5], [0.0, -0.5, 1.0]]
B = [0.0, 0.0, 0.0, 0.0]  # zero: the ledger's reproducers pass no bias; its gradient is still checked
TANGENT = [[1.0, 1.0, -1.0]]
DEFAULTS = {"reduction": "mean", "ignore_index": None, "label_smoothing": 0.0}


def _tensors(dtype=torch.float64, requires_grad=True):
    return [torch.tensor(v, dtype=dtype, requires_grad=requires_grad) for v in (X, W, B)]


def _exact(target, options, upstream=1.0):
    tensors = {"input": np.array(X), "linear_weight": np.array(W), "target": np.array(target),
               "linear_bias": np.array(B)}
    return tensors, exact_reference(SPEC, tensors, {**DEFAULTS, **options}, np.array(upstream))


def test_every_acc_policy_is_a_target_with_the_chunked_ledger():
    names = [ref.name for ref in builtin_targets("linear_cross_entropy")]
    assert names == ["pytorch", *(f"chunked:{p}" for p in ACC_POLICIES)]
    assert all(t.ledgers == ("chunked",) for t in EXTRA_TARGETS["linear_cross_entropy"])
    assert {e.ledger for e in known_deviations(("chunked",))} == {"pytorch", "chunked"}
    assert not any(e.ledger == "chunked" for e in known_deviations())


def test_chunked_target_takes_the_chunked_kernel():
    """Its backward node is the chunked op's, not the reference path's matmul, so its rows check that kernel."""
    x, w, b = _tensors()
    out = chunked_linear_cross_entropy("compact")(x, w, torch.tensor([2]), linear_bias=b)
    assert "chunked" in type(out.grad_fn).__name__
    assert "chunked" not in type(F.linear_cross_entropy(x, w, torch.tensor([2]), linear_bias=b).grad_fn).__name__


@pytest.mark.parametrize("batched", [True, False], ids=["one row", "unbatched"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("policy", ACC_POLICIES)
def test_all_ignored_mean_gradients_are_nan_on_the_chunked_path(policy, dtype, batched):
    """Exact: value NaN (0/0), every gradient 0. Chunked: every gradient NaN. Reference path: zeros."""
    x, w, b = _tensors(getattr(torch, dtype))
    inputs = x if batched else x[0]
    target = torch.tensor([1]) if batched else torch.tensor(1)
    chunked = chunked_linear_cross_entropy(policy)(inputs, w, target, linear_bias=b, ignore_index=1)
    grads = torch.autograd.grad(chunked, [x, w, b])
    assert math.isnan(chunked.item()) and all(torch.isnan(g).all() for g in grads)
    reference = F.linear_cross_entropy(inputs, w, target, linear_bias=b, ignore_index=1)
    assert all((g == 0).all() for g in torch.autograd.grad(reference, [x, w, b]))
    _, exact = _exact([1], {"ignore_index": 1})
    assert mpmath.isnan(exact.value[0])
    for name in ("input", "linear_weight", "linear_bias"):
        assert all(g == 0 for g in exact.grads[name]) and not any(b.undefined for b in exact.grad_bounds[name])


def test_a_partly_ignored_mean_is_right_on_the_chunked_path():
    """The NaN needs every entry ignored: with one row kept the chunked gradients conform."""
    x, w, b = _tensors()
    xs = torch.cat([x, x * 2])
    out = chunked_linear_cross_entropy("compact")(xs, w, torch.tensor([1, 3]), linear_bias=b, ignore_index=1)
    grads = torch.autograd.grad(out, [x, w, b])
    tensors = {"input": xs.detach().numpy(), "linear_weight": np.array(W), "target": np.array([1, 3]),
               "linear_bias": np.array(B)}
    exact = exact_reference(SPEC, tensors, {**DEFAULTS, "ignore_index": 1}, np.array(1.0))
    assert compare(exact.value, exact.value_bounds, out.detach().numpy(), "float64").ok
    for name, grad in (("linear_weight", grads[1]), ("linear_bias", grads[2])):
        assert compare(exact.grads[name], exact.grad_bounds[name], grad.numpy(), "float64", derivative=True).ok


def _forward_tangent(impl, reduction):
    x, w, b = _tensors(requires_grad=False)
    with fwAD.dual_level():
        out = impl(fwAD.make_dual(x, torch.tensor(TANGENT, dtype=torch.float64)), w, torch.tensor([2]),
                   linear_bias=b, reduction=reduction)
        return fwAD.unpack_dual(out).tangent


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("policy", ACC_POLICIES)
def test_forward_mode_gives_no_tangent_on_the_chunked_path(policy, reduction):
    """No error, no tangent: a JVP reads 0. The reference path's tangent is the exact ⟨ṫ, ∇l⟩."""
    assert _forward_tangent(chunked_linear_cross_entropy(policy), reduction) is None
    tangent = _forward_tangent(F.linear_cross_entropy, reduction)
    _, exact = _exact([2], {"reduction": reduction})
    with mpmath.workdps(50):
        jvp = mpmath.fsum(mpmath.mpf(t) * g for t, g in zip(TANGENT[0], exact.grads["input"]))
    assert jvp != 0 and math.isclose(tangent.sum().item(), float(jvp), rel_tol=1e-14)
    if reduction == "mean":
        with mpmath.workdps(50):
            assert mpmath.almosteq(jvp, mpmath.mpf("-0.36881202190423294055"), rel_eps=1e-18)


def _hessian_projection(impl, reduction):
    """(g.requires_grad, ⟨∂⟨g, ṫ⟩/∂x, ṫ⟩) for g = ∂⟨δ, l⟩/∂x taken with create_graph=True (0 if detached)."""
    x, w, b = _tensors(requires_grad=False)
    x.requires_grad_(True)
    out = impl(x, w, torch.tensor([2]), linear_bias=b, reduction=reduction)
    (g,) = torch.autograd.grad(out, [x], torch.ones_like(out), create_graph=True)
    direction = torch.tensor(TANGENT, dtype=torch.float64)
    if not g.requires_grad:
        return False, 0.0
    (h,) = torch.autograd.grad((g * direction).sum(), [x])
    return True, float((h * direction).sum())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("policy", ACC_POLICIES)
def test_create_graph_gradient_is_detached_on_the_chunked_path(policy, reduction):
    """No error, a detached first gradient: every HVP reads 0. The reference path's matches finite differences."""
    attached, _ = _hessian_projection(chunked_linear_cross_entropy(policy), reduction)
    assert not attached
    attached, projection = _hessian_projection(F.linear_cross_entropy, reduction)
    tensors, _ = _exact([2], {"reduction": reduction})
    zeros = {n: np.zeros_like(tensors[n]) for n in ("linear_weight", "linear_bias")}
    direction = {"input": np.array(TANGENT), **zeros}
    claim = hvp_claim(SPEC, tensors, {**DEFAULTS, "reduction": reduction}, np.ones(1) if reduction == "none"
                      else np.array(1.0), direction, direction,
                      {"input": np.zeros((1, 3)), **zeros}, "float64", 19)
    exact_hvp, _, allowed = claim
    assert attached and exact_hvp != 0 and abs(projection - exact_hvp) <= allowed
    if reduction == "mean":
        with mpmath.workdps(50):
            assert mpmath.almosteq(exact_hvp, mpmath.mpf("0.41428839373547424411"), rel_eps=1e-15)


def _unbatched_case(options):
    """The grid's unbatched index case with these options and no optional tensors (its target is 1)."""
    return next(c for c in generate_cases(SPEC) if c.shape_case.name.startswith("index unbatched")
                and c.present == ("input", "linear_weight", "target") and c.regime == "typical"
                and all(c.options[k] == v for k, v in options.items()))


# float16 is left out: there eager PyTorch's own entry linear_cross_entropy-float16-ignored-row-overflowing-logits-*
# (any NaN gradient under ignore_index=1) already explains these NaNs, for every target.
@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_the_chunked_ledger_explains_the_all_ignored_nan_gradients_only_for_the_chunked_target(dtype):
    case = _unbatched_case({"ignore_index": 1, "reduction": "mean", "label_smoothing": 0.0})
    tensors = case.tensors(dtype)
    assert tensors["target"] == 1
    reference = exact_reference(SPEC, tensors, case.options, case.upstream(dtype))
    inputs = {n: torch.tensor(v, dtype=getattr(torch, dtype) if v.dtype.kind == "f" else torch.int64)
              for n, v in tensors.items()}
    for n in ("input", "linear_weight"):
        inputs[n].requires_grad_(True)
    out = chunked_linear_cross_entropy("auto")(inputs["input"], inputs["linear_weight"], inputs["target"],
                                               **case.options)
    grads = torch.autograd.grad(out, [inputs["input"], inputs["linear_weight"]])
    for name, grad in zip(("input", "linear_weight"), grads):
        got = grad.double().numpy()
        comparison = compare(reference.grads[name], reference.grad_bounds[name], got, dtype, derivative=True)
        assert comparison.failing, name
        quantity = f"grad {name}"
        known = find_known(case, quantity, dtype, tensors, reference, comparison.failing, got, ("chunked",))
        assert known == f"linear_cross_entropy-chunked-all-ignored-mean-nan-grad-{name}"
        assert find_known(case, quantity, dtype, tensors, reference, comparison.failing, got) is None
        wrong = np.full_like(got, 1.0)  # a finite wrong gradient is not this deviation
        assert find_known(case, quantity, dtype, tensors, reference, comparison.failing, wrong, ("chunked",)) is None


def test_the_chunked_ledger_explains_a_zero_tangent_and_a_zero_hvp_only():
    case = _unbatched_case({"ignore_index": None, "reduction": "mean", "label_smoothing": 0.0})
    tensors = case.tensors("float64")
    reference = exact_reference(SPEC, tensors, case.options, case.upstream("float64"))
    for quantity, dtype in (("jvp", "float64"), ("jvp", "bfloat16"), ("hvp", "float32")):
        assert find_known_claim(case, quantity, dtype, reference, 1.0, ("chunked",), got=0.0) == {
            "jvp": "linear_cross_entropy-chunked-forward-mode-no-tangent",
            "hvp": "linear_cross_entropy-chunked-create-graph-detached"}[quantity]
        assert find_known_claim(case, quantity, dtype, reference, 0.5, ("chunked",), got=0.25) is None
        assert find_known_claim(case, quantity, dtype, reference, 1.0, (), got=0.0) is None
        assert find_known_claim(case, quantity, dtype, reference, 1.0, ("chunked",)) is None  # no projection given
    assert find_known_claim(case, "hvp", "float16", reference, 1.0, ("chunked",), got=0.0) is None
    bce = next(e for e in known_deviations() if e.id == "binary_cross_entropy-double-backward-eps-shift")
    assert bce.explains_claim(1e-7, got=0.3) and not bce.explains_claim(1e-5, got=0.3)  # its pytorch is a formula
    smoothing = _unbatched_case({"ignore_index": None, "reduction": "mean", "label_smoothing": 0.25})
    assert find_known_claim(smoothing, "jvp", "float64", reference, 1.0, ("chunked",), got=0.0) is None


HALF_WRONG = {  # dtype → acc_policy → the gradients that come out wrong on _half_rows's 4096 rows
    "bfloat16": {"accurate": ("linear_weight", "linear_bias"), "balanced": ("linear_weight", "linear_bias"),
                 "compact": ("linear_bias",), "auto": ()},
    # here only the bias: the weight's sum survives float16's 11 bits (the gate's drawn 4097 rows break it too)
    "float16": {"accurate": ("linear_bias",), "balanced": ("linear_bias",), "compact": ("linear_bias",), "auto": ()}}


def _half_rows(dtype, reduction, impl, rows=4096):
    """4096 rows x = 1 through zero weights and bias, every target 0: p = 1/3 everywhere."""
    h = getattr(torch, dtype)
    x = torch.ones(rows, 1, dtype=h, requires_grad=True)
    w = torch.zeros(3, 1, dtype=h, requires_grad=True)
    b = torch.zeros(3, dtype=h, requires_grad=True)
    target = torch.zeros(rows, dtype=torch.long)
    out = impl(x, w, target, linear_bias=b, reduction=reduction)
    upstream = torch.ones_like(out)
    grads = dict(zip(("linear_weight", "linear_bias"), torch.autograd.grad(out, [w, b], upstream)))
    tensors = {"input": x.detach().double().numpy(), "linear_weight": w.detach().double().numpy(),
               "target": target.numpy(), "linear_bias": b.detach().double().numpy()}
    exact = exact_reference(SPEC, tensors, {**DEFAULTS, "reduction": reduction}, upstream.double().numpy())
    return grads, exact


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_types_accumulate_gradients_over_rows_in_the_half_type(dtype, reduction):
    """Exact: [-2/3, 1/3, 1/3] (mean) or 4096 times that (sum). The reference path and auto conform; the
    other policies' row sums, kept in the half type, do not (bfloat16 accurate: +0.334 for -2/3)."""
    scale = 1 if reduction == "mean" else 4096
    for policy, wrong in (("pytorch", ()), *HALF_WRONG[dtype].items()):
        impl = F.linear_cross_entropy if policy == "pytorch" else chunked_linear_cross_entropy(policy)
        grads, exact = _half_rows(dtype, reduction, impl)
        for name, grad in grads.items():
            with mpmath.workdps(50):
                assert all(mpmath.almosteq(e, mpmath.mpf(v) * scale / 3, rel_eps=1e-40)
                           for e, v in zip(exact.grads[name], (-2, 1, 1)))
            ok = compare(exact.grads[name], exact.grad_bounds[name], grad.double().numpy(), dtype, derivative=True).ok
            assert ok == (name not in wrong), (policy, name, grad.tolist())
    if dtype == "bfloat16":
        grads, _ = _half_rows(dtype, reduction, chunked_linear_cross_entropy("accurate"))
        assert grads["linear_bias"][0] > 0  # the target's -1 is lost entirely


def test_the_chunked_ledger_explains_half_accumulation_on_the_gates_large_batch_only():
    grid = generate_cases(SPEC)
    # the gate's large-batch probe that has a linear_bias (the covering array gives it one reduction of the two
    # the entries name); the small case has the same reduction
    large = next(c for c in probe_cases(SPEC, 0, len(grid)) if (c.batch or 0) >= 4096
                 and c.options["reduction"] in ("mean", "sum") and c.options["label_smoothing"] == 0.0
                 and "linear_bias" in c.present)
    small = next(c for c in grid if c.shape_case.name.startswith("index (N,H)")
                 and c.options["reduction"] == large.options["reduction"]
                 and c.options["label_smoothing"] == 0.0 and "linear_bias" in c.present)
    tensors = large.tensors("bfloat16")
    reference = exact_reference(SPEC, tensors, large.options, large.upstream("bfloat16"))
    inputs = {n: torch.tensor(v, dtype=torch.bfloat16 if v.dtype.kind == "f" else torch.int64)
              for n, v in tensors.items()}
    wrt = ("input", "linear_weight", "linear_bias")
    for n in wrt:
        inputs[n].requires_grad_(True)
    optional = {n: inputs[n] for n in ("linear_bias", "weight") if n in inputs}
    out = chunked_linear_cross_entropy("accurate")(inputs["input"], inputs["linear_weight"], inputs["target"],
                                                   **optional, **large.options)
    upstream = torch.tensor(large.upstream("bfloat16"), dtype=torch.bfloat16)
    grads = dict(zip(wrt, torch.autograd.grad(out, [inputs[n] for n in wrt], upstream)))
    for name in ("linear_weight", "linear_bias"):
        got = grads[name].double().numpy()
        comparison = compare(reference.grads[name], reference.grad_bounds[name], got, "bfloat16", derivative=True)
        assert comparison.failing, name
        quantity = f"grad {name}"
        entry = f"linear_cross_entropy-chunked-half-accumulation-grad-{name}"
        assert find_known(large, quantity, "bfloat16", tensors, reference, comparison.failing, got,
                          ("chunked",)) == entry
        assert find_known(large, quantity, "bfloat16", tensors, reference, comparison.failing, got) is None
        known = next(e for e in known_deviations(("chunked",)) if e.id == entry)
        assert not known.applies(small, quantity, "bfloat16", reference)  # a small batch is not excused
        assert not known.applies(large, quantity, "float32", reference)


def test_every_chunked_entry_has_a_reproducer_and_a_test_here():
    tested = {*(f"linear_cross_entropy-chunked-all-ignored-mean-nan-grad-{n}"
                for n in ("input", "linear_weight", "linear_bias")),
              *(f"linear_cross_entropy-chunked-half-accumulation-grad-{n}" for n in ("linear_weight", "linear_bias")),
              "linear_cross_entropy-chunked-forward-mode-no-tangent",
              "linear_cross_entropy-chunked-create-graph-detached", IGNORED_OVERFLOW}
    entries = [e for e in known_deviations(("chunked",)) if e.ledger == "chunked"]
    assert {e.id for e in entries} == tested
    for entry in entries:
        assert entry.reproducer["code"] and entry.reproducer["pytorch_value"] and entry.reproducer["exact_value"]


IGNORED_OVERFLOW = "linear_cross_entropy-chunked-ignored-row-overflow-nan-value"
BIG = {"float16": 300.0, "bfloat16": 1e30, "float32": 1e20, "float64": 1e160}


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_an_ignored_row_whose_logits_overflow_is_nan_in_the_chunked_kernel_only(dtype, reduction):
    """Row 0 is ignored and its logits (±BIG²) overflow the dtype: its exact loss is 0, the reference path
    gives 0, the chunked kernel NaN (and a NaN sum and mean); the entry explains exactly that element."""
    big = BIG[dtype]
    tensors = {"input": np.array([[big, 1.0], [1.0, 1.0]]), "linear_weight": np.array([[big, 0.0], [-big, 1.0],
                                                                                        [0.5, 0.5]]),
               "target": np.array([1, 0])}
    options = {"reduction": reduction, "ignore_index": 1, "label_smoothing": 0.0}
    torch_dtype = getattr(torch, dtype)
    args = (torch.tensor(tensors["input"], dtype=torch_dtype),
            torch.tensor(tensors["linear_weight"], dtype=torch_dtype), torch.tensor(tensors["target"]))
    got = chunked_linear_cross_entropy("accurate")(*args, **options).double().numpy()
    eager = F.linear_cross_entropy(*args, **options).double().numpy()
    upstream = np.ones(2) if reduction == "none" else np.array(1.0)
    reference = exact_reference(SPEC, tensors, options, upstream)
    assert reference.value[0] == 0 if reduction == "none" else mpmath.isfinite(reference.value[0])
    assert np.isnan(got.reshape(-1)[0]) and not np.isnan(eager).any()
    comparison = compare(reference.value, reference.value_bounds, got, dtype)
    assert comparison.failing == [0]
    case = next(c for c in generate_cases(SPEC) if c.shape_case.name.startswith("index (N,H)")
                and c.options == options)
    assert find_known(case, "value", dtype, tensors, reference, comparison.failing, got, ("chunked",)) \
        == IGNORED_OVERFLOW
    assert find_known(case, "value", dtype, tensors, reference, comparison.failing, got) is None  # eager: no


def test_the_ignored_row_overflow_condition_names_only_ignored_rows_past_the_dtype():
    entry = next(e for e in known_deviations(("chunked",)) if e.id == IGNORED_OVERFLOW)
    options = {"reduction": "none", "ignore_index": 1, "label_smoothing": 0.0}
    case = next(c for c in generate_cases(SPEC) if c.shape_case.name.startswith("index (N,H)") and c.options == options)
    weight = np.array([[300.0, 0.0], [-300.0, 1.0], [0.5, 0.5]])
    nan = np.array([math.nan, math.nan])
    for rows, target, explained in (([[300.0, 1.0], [1.0, 1.0]], [1, 1], {0}),  # row 1 ignored, finite logits
                                    ([[300.0, 1.0], [1.0, 1.0]], [0, 0], set()),  # overflow, nothing ignored
                                    ([[200.0, 1.0], [1.0, 1.0]], [1, 1], set())):  # 200·300 = 60000 < 65520
        tensors = {"input": np.array(rows), "linear_weight": weight, "target": np.array(target)}
        assert {e for e in (0, 1) if entry.explains(e, case, "value", tensors, nan, "float16")} == explained
