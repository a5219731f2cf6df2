"""ULPs and the tolerance policy against PyTorch's own view of each format."""

import math

import mpmath
import numpy as np
import pytest
import torch
from losscheck.conformance.compare import compare
from losscheck.conformance.oracle import Bound
from losscheck.conformance.tolerance import DTYPES, FORMATS, TOLERANCES, allowed_error, overflows, ulp


@pytest.mark.parametrize("dtype", DTYPES)
def test_ulp_equals_the_spacing_torch_reports(dtype):
    torch_dtype = getattr(torch, dtype)
    rng = np.random.default_rng(0)
    info = torch.finfo(torch_dtype)
    samples = [info.tiny, info.tiny / 4, 1.0, 1.5, 3.0, info.max / 2, *list(rng.lognormal(0, 8, 50))]
    for sample in samples:
        x = torch.tensor(sample, dtype=torch_dtype)
        if not torch.isfinite(x) or x == 0:
            continue
        up = torch.nextafter(x, torch.tensor(math.inf, dtype=torch_dtype))
        spacing = mpmath.mpf(float(up.double())) - mpmath.mpf(float(x.double()))
        assert ulp(mpmath.mpf(float(x.double())), dtype) == spacing


@pytest.mark.parametrize("dtype", DTYPES)
def test_overflow_threshold_matches_rounding(dtype):
    fmt = FORMATS[dtype]
    top = mpmath.mpf(fmt.max_value)
    half_ulp = ulp(top, dtype) / 2
    assert not overflows(top + half_ulp * mpmath.mpf("0.99"), dtype)
    assert overflows(top + half_ulp, dtype)
    rounded = torch.tensor(float(top + half_ulp * mpmath.mpf("0.99")), dtype=torch.float64).to(getattr(torch, dtype))
    assert torch.isfinite(rounded)


def test_policy_is_data_for_every_dtype():
    assert set(TOLERANCES) == set(DTYPES)


def test_compare_flags_errors_and_special_values():
    exact = [mpmath.mpf(1), mpmath.mpf("nan"), mpmath.mpf("inf"), mpmath.mpf(2)]
    bounds = [Bound(mpmath.mpf(1), mpmath.mpf(1))] * 4
    good = np.array([1.0, math.nan, math.inf, 2.0])
    assert compare(exact, bounds, good, "float32").ok
    for index, bad_value in [(0, 1.001), (1, 0.0), (2, -math.inf), (3, math.nan)]:
        bad = good.copy()
        bad[index] = bad_value
        assert compare(exact, bounds, bad, "float32").failing == [index]


def test_allowed_error_grows_with_magnitude_and_reduction_size():
    one, zero = mpmath.mpf(1), mpmath.mpf(0)
    assert allowed_error("float32", one, one * 100, zero, 1) > allowed_error("float32", one, one, zero, 1)
    assert allowed_error("float32", one, one, zero, 4096) > allowed_error("float32", one, one, zero, 1)
    # a 2x error never passes, even in bfloat16 over a 4096-element reduction
    assert allowed_error("bfloat16", one, one, one, 4096) < 1


def test_summation_is_charged_on_the_terms_not_their_conditioning():
    """An ill-conditioned sum (M = 100·S) over 4096 terms: the accumulation allowance follows S,
    so a float16 running total that stalls by 3% of S is still caught."""
    one, zero = mpmath.mpf(1), mpmath.mpf(0)
    tight = allowed_error("bfloat16", one, one * 100, zero, 4096, summands=one)
    loose = allowed_error("bfloat16", one, one * 100, zero, 4096)
    assert tight < loose
    assert tight == allowed_error("bfloat16", one, one * 100, zero, 1) + 12 * FORMATS["bfloat16"].unit_roundoff


def test_underflow_term_matters_in_float16_only():
    """exp(-16.34) is subnormal in float16 (absolute error up to 2^-25), not in float32."""
    zero, many = mpmath.mpf(0), mpmath.mpf(20)
    small = mpmath.mpf("1.6e-6")
    assert allowed_error("float16", small, small, many, 1) > 10 * allowed_error("float16", small, small, zero, 1)
    assert allowed_error("float32", small, small, many, 1) < 1.001 * allowed_error("float32", small, small, zero, 1)
    assert FORMATS["float16"].underflow_unit == mpmath.ldexp(1, -25)



def test_zero_denominator_mean_holds_its_nan_value_but_no_gradient():
    """nll_loss mean whose selected weight is 0: the value 0/0 must be NaN, as PyTorch's is; its gradient
    (PyTorch [0, nan, 0, 0, 0], cross_entropy all NaN) is not defined, so it carries no claim."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.spec import get_spec

    x = torch.tensor([-0.96, -0.108, 0.0, -0.5, -2.0], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([-1.07, 0.0, -0.896, 0.715, -0.95], dtype=torch.float64)
    out = torch.nn.functional.nll_loss(x, torch.tensor(1), weight=w, reduction="mean")
    (grad,) = torch.autograd.grad(out, [x])
    tensors = {"input": x.detach().numpy(), "target": np.array(1), "weight": w.numpy()}
    reference = exact_reference(get_spec("nll_loss"), tensors, {"reduction": "mean", "ignore_index": -100},
                                np.array(1.0))
    assert math.isnan(out.item()) and all(b.undefined for b in reference.grad_bounds["input"])
    assert compare(reference.value, reference.value_bounds, np.array([math.nan]), "float64").ok
    assert not compare(reference.value, reference.value_bounds, np.array([0.0]), "float64").ok
    assert compare(reference.grads["input"], reference.grad_bounds["input"], grad.numpy(), "float64",
                   derivative=True).ok


def _cosine_embedding(input1, input2, label, margin, dtype):
    """PyTorch's cosine_embedding_loss (sum) and its input gradients in ``dtype``."""
    x1 = torch.tensor(input1, dtype=dtype, requires_grad=True)
    x2 = torch.tensor(input2, dtype=dtype, requires_grad=True)
    out = torch.nn.functional.cosine_embedding_loss(x1, x2, torch.tensor([label], dtype=dtype), margin=margin,
                                                    reduction="sum")
    out.backward()
    return out.item(), x1.grad, x2.grad


@pytest.mark.parametrize(("input1", "input2", "label", "margin"), [
    ([[4.0, -128.0, -1.53e-5]], [[4.0, 0.5, 3.05e-5]], 1.0, 0.5),  # the shrunk input: 16400·16.25
    ([[200.0, 3.0, 0.0]], [[1.0, -2.0, 0.5]], -1.0, -0.5),  # a second witness, the hinge branch: 40009·5.25
])
def test_an_overflowing_radicand_withholds_the_claim(input1, input2, label, margin):
    """cos = Σx1·x2 / sqrt((Σx1² + ε)·(Σx2² + ε)): each squared norm fits float16, their product does not,
    and PyTorch (which forms the product before the root) returns the loss of cos = 0 with zero gradients.
    SymPy splits the root in two, so the peak must count the radicand itself (``_common_radicands``)."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.conformance.tolerance import withheld
    from losscheck.spec import get_spec

    tensors = {"input1": np.array(input1, dtype=np.float16).astype(np.float64),
               "input2": np.array(input2, dtype=np.float16).astype(np.float64), "target": np.array([label])}
    squares = [mpmath.fsum(mpmath.mpf(v) ** 2 for v in tensors[n].reshape(-1)) for n in ("input1", "input2")]
    assert not any(overflows(s, "float16") for s in squares) and overflows(squares[0] * squares[1], "float16")
    value, grad1, grad2 = _cosine_embedding(input1, input2, label, margin, torch.float16)
    exact, _, exact_grad2 = _cosine_embedding(tensors["input1"].tolist(), tensors["input2"].tolist(), label, margin,
                                              torch.float64)
    assert value == (1.0 if label == 1 else -margin) and not grad1.any() and not grad2.any()
    assert abs(value - exact) > 0.05 and exact_grad2.abs().max() > 0.02  # far outside any float16 allowance
    reference = exact_reference(get_spec("cosine_embedding_loss"), tensors, {"margin": margin, "reduction": "sum"},
                                np.array(1.0))
    assert withheld(reference.value_bounds[0], reference.value[0], "float16", False) == "an intermediate overflows"
    assert all(withheld(b, g, "float16", True)
               for b, g in zip(reference.grad_bounds["input2"], reference.grads["input2"]))


def test_a_radicand_within_range_keeps_the_claim():
    """Ten times smaller (2147 < 65504): the claim is held, and PyTorch float16 meets it."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.spec import get_spec

    tensors = {"input1": np.array([[20.0, 3.0, 0.0]]), "input2": np.array([[1.0, -2.0, 0.5]]),
               "target": np.array([-1.0])}
    reference = exact_reference(get_spec("cosine_embedding_loss"), tensors, {"margin": -0.5, "reduction": "sum"},
                                np.array(1.0))
    value, _, grad2 = _cosine_embedding(tensors["input1"].tolist(), tensors["input2"].tolist(), -1.0, -0.5,
                                        torch.float16)
    assert compare(reference.value, reference.value_bounds, np.array([value]), "float16").ok
    assert compare(reference.grads["input2"], reference.grad_bounds["input2"], grad2.double().numpy().reshape(-1),
                   "float16", derivative=True).ok
    assert not compare(reference.value, reference.value_bounds, np.array([0.5]), "float16").ok


def test_a_piecewise_gradient_counts_the_taken_branch_partial_products():
    """A hinge-shaped gradient Piecewise((a·b·c, z ≥ 0), (0, True)): its largest partial product is that of
    the branch taken, Π max(|f|, 1), not |a·b·c| (which can be small while a·b overflows)."""
    import sympy as sp
    from losscheck.derivations.magnitude import largest, largest_partial_product

    a, b, c, z = sp.symbols("a b c z", real=True)
    peak = largest_partial_product(sp.Piecewise((a * b * c, z >= 0), (0, True))).replace(largest, sp.Max)
    at = {a: 300, b: 400, c: sp.Rational(1, 10**6)}
    assert peak.subs({**at, z: 1}) == 120000 and peak.subs({**at, z: -1}) == 0


def _gaussian_nll(x, t, var, eps, dtype):
    """PyTorch's gaussian_nll_loss (reduction='none') in ``dtype``: 0.5·(log max(v, eps) + (x − t)²/max(v, eps))."""
    return torch.nn.functional.gaussian_nll_loss(torch.tensor(x, dtype=dtype), torch.tensor(t, dtype=dtype),
                                                 torch.tensor(var, dtype=dtype), eps=eps, reduction="none")


@pytest.mark.parametrize(("x", "t", "var", "eps"), [
    ([2.0 ** -15], [128.0], [0.0], 0.25),  # seed 2's shrunk input: 16384/0.25 = 65536, exact loss 32767.3
    ([-100.0], [100.0], [0.5], 1e-6),  # a second witness: 40000/0.5 = 80000, exact loss 39999.65
])
def test_an_overflowing_partial_product_withholds_the_claim(x, t, var, eps):
    """0.5·(x − t)²/v is one Mul of three factors: PyTorch forms (x − t)²/v first, which overflows float16
    where the loss does not, and returns inf; the peak counts the largest partial product, so no claim."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.conformance.tolerance import withheld
    from losscheck.spec import get_spec

    got = _gaussian_nll(x, t, var, eps, torch.float16)
    exact = _gaussian_nll(x, t, var, eps, torch.float64)
    assert torch.isinf(got).all() and exact.abs().max() < 65504
    tensors = {"input": np.array(x), "target": np.array(t), "var": np.array(var)}
    reference = exact_reference(get_spec("gaussian_nll_loss"), tensors,
                                {"reduction": "none", "full": False, "eps": eps}, np.ones(1))
    assert abs(float(reference.value[0]) - exact.item()) < 1e-6 * exact.abs().item()
    assert withheld(reference.value_bounds[0], reference.value[0], "float16", False) == "an intermediate overflows"


def test_a_partial_product_within_range_keeps_the_claim():
    """(x − t)²/v = 45000 fits float16: the claim is held, PyTorch meets it, and a 10% error is flagged."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.spec import get_spec

    tensors = {"input": np.array([-75.0]), "target": np.array([75.0]), "var": np.array([0.5])}
    reference = exact_reference(get_spec("gaussian_nll_loss"), tensors,
                                {"reduction": "none", "full": False, "eps": 1e-6}, np.ones(1))
    got = _gaussian_nll([-75.0], [75.0], [0.5], 1e-6, torch.float16).double().numpy()
    assert compare(reference.value, reference.value_bounds, got, "float16").ok
    assert not compare(reference.value, reference.value_bounds, got * 1.1, "float16").ok


WEIGHTED_MEANS = [  # signed weights whose w·l_u cancel in Σ w·l_u: the mean L carries u·Σ|w·l_u|, not u·|Σ w·l_u|
    ("l1_loss", [1000.3, -1000.7, 0.2, 5.1], [0.0, 0.0, 0.0, 0.0], [0.9, -0.9, 0.3, 0.7]),  # 3.8x over before
    ("l1_loss", [0.3, 45.1, -45.3, 1.1], [0.1, 0.2, 0.1, 0.4], [0.35, 1.1, -1.1, 0.6]),  # 2.3x over before
    ("mse_loss", [31.7, -31.9, 0.2, 5.1], [0.0, 0.0, 0.0, 0.0], [0.9, -0.9, 0.3, 0.7]),  # 4.6x over before
]


@pytest.mark.parametrize(("loss", "x", "t", "w"), WEIGHTED_MEANS)
def test_a_weighted_mean_gradient_carries_the_error_of_the_mean_it_reads(loss, x, t, w):
    """∂L/∂w_j = δ·(l_j − L)/Σw: the term δ·L/Σw reads L = Σ w·l / Σ w, which a float32 kernel rounds term by
    term (each w_i·l_i by u·|w_i·l_i|). PyTorch float32 passes; a kernel that drops that term, or sums Σw in
    bfloat16, is still flagged. The exact value is the oracle's, PyTorch float64 agrees."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.spec import get_spec

    tensors = {n: np.array(v, dtype=np.float32).astype(np.float64) for n, v in (("input", x), ("target", t),
                                                                                ("weight", w))}
    reference = exact_reference(get_spec(loss), tensors, {"reduction": "mean"}, np.array(1.0))
    exact = reference.grads["weight"]

    def weight_grad(dtype, denominator_dtype=None, drop_mean_term=False):
        xs, ts, ws = (torch.tensor(tensors[n], dtype=dtype, requires_grad=n == "weight")
                      for n in ("input", "target", "weight"))
        per = (xs - ts).abs() if loss == "l1_loss" else (xs - ts) ** 2
        total = ws.sum() if denominator_dtype is None else ws.to(denominator_dtype).sum().to(dtype)
        numerator = (per * ws).sum()
        out = numerator / (total.detach() if drop_mean_term else total)
        (grad,) = torch.autograd.grad(out, [ws])
        return grad.double().numpy()

    native = getattr(torch.nn.functional, loss)
    xs, ts = (torch.tensor(tensors[n], dtype=torch.float32) for n in ("input", "target"))
    ws = torch.tensor(tensors["weight"], dtype=torch.float32, requires_grad=True)
    (got,) = torch.autograd.grad(native(xs, ts, weight=ws, reduction="mean"), [ws])
    assert np.allclose(weight_grad(torch.float64), [float(e) for e in exact], rtol=1e-12, atol=0)
    assert compare(exact, reference.grad_bounds["weight"], got.double().numpy(), "float32", derivative=True).ok
    assert not compare(exact, reference.grad_bounds["weight"], weight_grad(torch.float32, drop_mean_term=True),
                       "float32", derivative=True).ok
    assert not compare(exact, reference.grad_bounds["weight"], weight_grad(torch.float32, torch.bfloat16),
                       "float32", derivative=True).ok


@pytest.mark.parametrize(("input1", "input2", "label", "margin"), [
    ([[1.8681640625, 0.62939453125, 2.224609375]], [[-5.21484375, -22.390625, -1.662109375]], 1.0, 0.0),
    ([[1.708984375, -2.1015625, -1.341796875]], [[31.328125, 3.53515625, -5.72265625]], -1.0, -0.5),
])
def test_an_adjoint_below_the_normal_range_is_allowed_its_underflow(input1, input2, label, margin):
    """float16 cosine_embedding_loss with upstream c = 2^-12 (a mean over 4097 rows): the backward forms the
    adjoint of the radicand p = (Σx1² + ε)·(Σx2² + ε), c·∂l/∂p, below float16's smallest normal, then multiplies
    it by Σx2² and 2·x1. PyTorch's grad input1 then errs by several times what the last operation's
    underflow allows (6.5x and 6.3x before ``adjoint_underflow``); the same kernel in float32 is accurate."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.spec import get_spec

    c = 2.0**-12
    tensors = {"input1": np.array(input1), "input2": np.array(input2), "target": np.array([label])}
    s1, s2 = (mpmath.fsum(mpmath.mpf(v) ** 2 for v in tensors[n].reshape(-1)) for n in ("input1", "input2"))
    dot = mpmath.fsum(mpmath.mpf(a) * mpmath.mpf(b) for a, b in zip(input1[0], input2[0]))
    adjoint = c * dot / (2 * (s1 * s2) ** mpmath.mpf(1.5))  # |c·∂l/∂p|, l = ±cos (+ a constant)
    assert adjoint < FORMATS["float16"].underflow_unit * 2 ** 11  # below the smallest normal, 2^-14
    reference = exact_reference(get_spec("cosine_embedding_loss"), tensors, {"margin": margin, "reduction": "none"},
                                np.array([c]))
    grads = {}
    for dtype in (torch.float16, torch.float32):
        x1 = torch.tensor(input1, dtype=dtype, requires_grad=True)
        x2 = torch.tensor(input2, dtype=dtype, requires_grad=True)
        out = torch.nn.functional.cosine_embedding_loss(x1, x2, torch.tensor([label], dtype=dtype), margin=margin,
                                                        reduction="none")
        out.backward(torch.tensor([c], dtype=dtype))
        grads[dtype] = x1.grad.double().numpy().reshape(-1)
    exact = reference.grads["input1"]
    assert compare(exact, reference.grad_bounds["input1"], grads[torch.float16], "float16", derivative=True).ok
    assert compare(exact, reference.grad_bounds["input1"], grads[torch.float32], "float32", derivative=True).ok
    # at upstream 1 every adjoint is normal: the same term is then negligible, and a 5% error is flagged
    whole = exact_reference(get_spec("cosine_embedding_loss"), tensors, {"margin": margin, "reduction": "none"},
                            np.array([1.0]))
    off = np.array([float(e) * 1.05 for e in whole.grads["input1"]])
    assert not compare(whole.grads["input1"], whole.grad_bounds["input1"], off, "float16", derivative=True).ok


@pytest.mark.parametrize(("logit", "upstream", "overflows_there"), [
    (-30000.0, -1.2666015625, True),  # seed 1001's element: 1.2666·1.8955·30000 = 72025
    (-20000.0, -2.0, True),  # a second witness: 2·1.8955·20000 = 75820
    (-20000.0, -1.5, False),  # 56865 fits: the claim is held, and PyTorch meets it
])
def test_the_upstream_is_multiplied_in_before_the_mean_divides(logit, upstream, overflows_there):
    """float16 binary_cross_entropy_with_logits, mean over 20 elements: the target gradient's backward forms
    δ·pos_weight·log σ(x) before dividing by 20 (and before the weight), so it is ±inf where the exact
    gradient, δ/20 times that, is about 2900. The peak scales a reduced loss's partial products by |δ|."""
    from losscheck.conformance.oracle import exact_reference
    from losscheck.conformance.tolerance import withheld
    from losscheck.spec import get_spec

    x = np.zeros(20)
    x[0] = logit
    tensors = {"input": x, "target": np.full(20, 0.5), "weight": np.full(20, 0.5),
               "pos_weight": np.full(20, 1.8955078125)}
    half = {n: torch.tensor(v, dtype=torch.float16, requires_grad=n == "target") for n, v in tensors.items()}
    out = torch.nn.functional.binary_cross_entropy_with_logits(half["input"], half["target"], weight=half["weight"],
                                                               pos_weight=half["pos_weight"], reduction="mean")
    (got,) = torch.autograd.grad(out, [half["target"]], torch.tensor(upstream, dtype=torch.float16))
    reference = exact_reference(get_spec("binary_cross_entropy_with_logits"), tensors, {"reduction": "mean"},
                                np.array(upstream))
    exact, bound = reference.grads["target"][0], reference.grad_bounds["target"][0]
    assert mpmath.isfinite(exact) and not overflows(exact, "float16")
    assert math.isinf(got[0].item()) == overflows_there
    assert bool(withheld(bound, exact, "float16", True)) == overflows_there
    assert compare(reference.grads["target"], reference.grad_bounds["target"], got.double().numpy(), "float16",
                   derivative=True).ok
