"""Kinks: branch arguments found symbolically, exact kinks named as convention mismatches, and no
gradient claim within rounding of a kink (where a correct kernel may take either branch)."""


import mpmath
import numpy as np
import sympy as sp
import torch
from losscheck.conformance.compare import compare
from losscheck.conformance.oracle import exact_reference
from losscheck.conformance.report import read_report
from losscheck.conformance.tolerance import branch_ambiguous
from losscheck.derivations.kinks import branch_arguments
from losscheck.spec import get_spec
from losscheck.spec.functions import clamp_min

x, y, t = sp.symbols("x y t", real=True)


def test_branch_arguments_of_each_construct():
    found = branch_arguments(sp.Abs(x - t) + clamp_min(x, 1) + sp.Max(x, y)
                             + sp.Piecewise((x, x < 2 * t), (0, sp.Eq(y, 1)), (1, True)), {x})
    assert {sp.Abs(z) for z in found} == {sp.Abs(x - t), sp.Abs(x - 1), sp.Abs(x - y), sp.Abs(x - 2 * t)}  # up to sign


def test_label_selections_and_constants_are_not_kinks():
    """y = 1 selects by label; |t| does not depend on the differentiable x."""
    assert branch_arguments(sp.Piecewise((x, sp.Eq(y, 1)), (-x, True)) + sp.Abs(t), {x}) == []


def _hinge_reference(dtype, value):
    """hinge_loss at y = 1, input rounded to ``dtype``: branch argument z = 1 − x."""
    spec = get_spec("hinge_loss")
    rounded = torch.tensor([value], dtype=getattr(torch, dtype)).double().numpy()
    tensors = {"input": rounded, "target": np.array([1.0])}
    return rounded, exact_reference(spec, tensors, {"reduction": "none"}, np.array([1.0]))


def test_no_gradient_claim_within_rounding_of_the_hinge():
    """x = 1 − 2^-24 (exact in float32): z = 2^-24 is below float32's rounding of 1 − x·y, so the other
    branch's gradient 0 passes in float32; in float64, where z is 2^29 ulps away, it fails."""
    value = 1 - 2.0**-24
    for dtype, passes in (("float32", True), ("float64", False)):
        rounded, reference = _hinge_reference(dtype, value)
        assert rounded[0] == value
        assert reference.grads["input"][0] == -1  # the linear piece: exact math
        other_branch = np.array([0.0])
        gradient = compare(reference.grads["input"], reference.grad_bounds["input"], other_branch, dtype,
                           derivative=True)
        assert gradient.ok is passes
        # the value is continuous across the kink: it keeps its claim, and 0 is within tolerance only
        # where z is below the value's own rounding error
        assert compare(reference.value, reference.value_bounds, other_branch, dtype).ok is passes


def test_exact_kink_keeps_its_claim_and_is_marked():
    _, reference = _hinge_reference("float32", 1.0)
    assert reference.grad_bounds["input"][0].at_kink
    assert reference.grads["input"][0] == -1  # PyTorch's convention: clamp_min passes the gradient at z = 0
    wrong = compare(reference.grads["input"], reference.grad_bounds["input"], np.array([0.0]), "float32",
                    derivative=True)
    assert wrong.failing == [0] and wrong.at_kink == [0]


def test_a_kink_failure_is_reported_as_a_convention_mismatch(run_cli, tmp_path):
    """wrong_impls_elem.l1_gradient_one_at_zero: |d| as where(d >= 0, d, −d), gradient 1 at d = 0."""
    report = tmp_path / "report.json"
    status, _, _ = run_cli("run", "--loss", "l1_loss", "--impl", "l1_loss=wrong_impls_elem:l1_gradient_one_at_zero",
                           "--dtype", "float32", "--report", str(report), "--save-failures", str(tmp_path / "f"))
    assert status == 1
    failing = [r for r in read_report(report)["results"] if r["status"] == "fail"]
    assert failing and all(r["quantity"] in ("grad input", "grad target") for r in failing)
    assert all("convention mismatch at a kink" in r["message"] and "sign(0) = 0" in r["message"] for r in failing)


def test_pytorch_float16_triplet_gradient_near_a_tie_of_the_negatives():
    """swap: the loss takes min(d(a, n), d(p, n)); two distances within float16 rounding of each other
    may be ordered either way by a correct kernel, so that gradient carries no claim there."""
    spec = get_spec("triplet_margin_loss")
    anchor = np.array([[0.0, 0.0]])
    positive = np.array([[0.5, 0.0]])
    negative = np.array([[0.25, 1.0]])  # |a − n| = |p − n| up to pairwise_distance's eps placement
    tensors = {"anchor": anchor, "positive": positive, "negative": negative}
    options = {"margin": 2.0, "p": 2.0, "eps": 1e-6, "swap": True, "reduction": "none"}
    reference = exact_reference(spec, tensors, options, np.array([1.0]))
    bound = reference.grad_bounds["negative"][0]
    assert not bound.at_kink and mpmath.isfinite(bound.slack)
    assert branch_ambiguous("float16", bound.slack) and not branch_ambiguous("float64", bound.slack)
