"""Known PyTorch deviations: each recorded reproducer still reproduces, a known
deviation passes, and a new one fails."""

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.deviations import known_deviations
from losscheck.conformance.oracle import exact_reference
from losscheck.spec import get_spec


def test_kl_div_target_gradient_at_zero_target():
    """PyTorch gives NaN; the exact (one-sided) derivative is -inf."""
    t = torch.tensor([0.0, 0.5], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([-1.0, -0.5], dtype=torch.float64)
    F.kl_div(x, t, reduction="sum").backward()
    assert math.isnan(t.grad[0])
    reference = exact_reference(get_spec("kl_div"), {"input": x.numpy(), "target": t.detach().numpy()},
                                {"reduction": "sum", "log_target": False}, np.array(1.0))
    assert reference.grads["target"][0] == -mpmath.inf
    assert mpmath.almosteq(reference.grads["target"][1], mpmath.log(0.5) + 1 + 0.5)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_float16_mean_accumulates_in_float16(loss):
    """PyTorch's float16 mean is inf when the total overflows; the exact mean, 30000, fits."""
    x = torch.tensor([[0.0, -3e4]] * 3, dtype=torch.float16)
    target = torch.tensor([1, 1, 1])
    assert torch.isinf(getattr(F, loss)(x, target))
    reference = exact_reference(get_spec(loss), {"input": x.double().numpy(), "target": target.numpy()},
                                {"reduction": "mean"}, np.array(1.0))
    assert mpmath.almosteq(reference.value[0], 30000, rel_eps=1e-12)
    assert reference.unit_total > torch.finfo(torch.float16).max


def test_poisson_full_target_gradient_at_zero_target():
    """PyTorch's masked Stirling term gives NaN at y = 0; the exact derivative there is −x."""
    x = torch.tensor([0.3, 0.3], dtype=torch.float64)
    y = torch.tensor([0.0, 2.0], dtype=torch.float64, requires_grad=True)
    F.poisson_nll_loss(x, y, full=True, reduction="sum").backward()
    assert math.isnan(y.grad[0]) and math.isclose(y.grad[1], -0.3 + math.log(2) + 0.25, rel_tol=1e-14)
    reference = exact_reference(get_spec("poisson_nll_loss"), {"input": x.numpy(), "target": y.detach().numpy()},
                                {"reduction": "sum", "full": True}, np.array(1.0))
    assert mpmath.almosteq(reference.grads["target"][0], -0.3, rel_eps=1e-15)


def test_poisson_float16_eps_underflows_at_zero_rate():
    """float16 rounds 0 + 1e-8 to 0: inf and NaN where the exact loss is −y·log(1e-8), or 0."""
    x = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float16, requires_grad=True)
    y = torch.tensor([2.0, 0.0, 2.0], dtype=torch.float16, requires_grad=True)
    out = F.poisson_nll_loss(x, y, log_input=False, eps=1e-8, reduction="none")
    grad_x, grad_y = torch.autograd.grad(out, [x, y], torch.ones(3, dtype=torch.float16))
    assert torch.isinf(out[0]) and torch.isnan(out[1]) and torch.isnan(grad_x[1]) and torch.isinf(grad_y[0])
    reference = exact_reference(get_spec("poisson_nll_loss"),
                                {"input": x.detach().double().numpy(), "target": y.detach().double().numpy()},
                                {"reduction": "none", "log_input": False, "eps": 1e-8}, np.ones(3))
    assert mpmath.almosteq(reference.value[0], -2 * mpmath.log(mpmath.mpf(1e-8)), rel_eps=1e-15)
    assert reference.value[1] == 0 and reference.grads["input"][1] == 1
    assert mpmath.almosteq(reference.grads["target"][0], -mpmath.log(mpmath.mpf(1e-8)), rel_eps=1e-15)
    bfloat16 = F.poisson_nll_loss(x.to(torch.bfloat16), y.to(torch.bfloat16), log_input=False, eps=1e-8,
                                  reduction="none")
    assert torch.isfinite(bfloat16).all()  # bfloat16's range holds 1e-8


def test_bce_float16_backward_eps_rounds_to_zero():
    """float16's 1e-12 is 0: 0/0 = NaN where p = y ∈ {0, 1}; the backward convention gives 0."""
    p = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float16, requires_grad=True)
    y = torch.tensor([0.0, 1.0, 0.5], dtype=torch.float16)
    F.binary_cross_entropy(p, y, reduction="sum").backward()
    assert torch.isnan(p.grad[:2]).all() and p.grad[2] == -math.inf
    reference = exact_reference(get_spec("binary_cross_entropy"),
                                {"input": p.detach().double().numpy(), "target": y.double().numpy()},
                                {"reduction": "sum"}, np.array(1.0))
    assert reference.grads["input"][:2] == [0, 0]
    assert mpmath.almosteq(reference.grads["input"][2], -0.5 / mpmath.mpf(float(np.float32(1e-12))), rel_eps=1e-15)
    p64 = p.detach().double().requires_grad_()
    F.binary_cross_entropy(p64, y.double(), reduction="sum").backward()
    assert p64.grad.tolist() == [float(g) for g in reference.grads["input"]]


def test_gaussian_float16_var_gradient_at_clamped_zero_variance():
    """float16 autograd adds +inf and −inf: NaN where the exact gradient −5e11 overflows to −inf."""
    x = torch.tensor([1.0, 0.5], dtype=torch.float16)
    y = torch.zeros(2, dtype=torch.float16)
    var = torch.tensor([0.0, 1.0], dtype=torch.float16, requires_grad=True)
    F.gaussian_nll_loss(x, y, var, reduction="sum").backward()
    assert torch.isnan(var.grad[0]) and var.grad[1] == 0.375
    tensors = {"input": x.double().numpy(), "target": y.double().numpy(), "var": var.detach().double().numpy()}
    reference = exact_reference(get_spec("gaussian_nll_loss"), tensors, {"reduction": "sum"}, np.array(1.0))
    eps = mpmath.mpf(1e-6)
    assert mpmath.almosteq(reference.grads["var"][0], (1 / eps - 1 / eps**2) / 2, rel_eps=1e-15)
    assert reference.grads["var"][0] < -torch.finfo(torch.float16).max


def test_gaussian_float16_mean_of_overflowing_elements():
    """An element loss of 124993 is inf in float16; the exact mean, 31248.27, fits."""
    x = torch.tensor([0.5, 0, 0, 0], dtype=torch.float16)
    y = torch.zeros(4, dtype=torch.float16)
    var = torch.tensor([0.0, 1, 1, 1], dtype=torch.float16)
    assert torch.isinf(F.gaussian_nll_loss(x, y, var))
    tensors = {"input": x.double().numpy(), "target": y.double().numpy(), "var": var.double().numpy()}
    reference = exact_reference(get_spec("gaussian_nll_loss"), tensors, {"reduction": "mean"}, np.array(1.0))
    assert mpmath.almosteq(reference.value[0], float(F.gaussian_nll_loss(x.double(), y.double(), var.double())),
                           rel_eps=1e-14)
    assert reference.unit_total > torch.finfo(torch.float16).max > reference.value[0]


def test_float16_inf_without_an_overflowing_total_is_not_excused(run_cli):
    """The accumulation deviation covers only totals past 65504; an inf elsewhere fails."""
    status, out, _ = run_cli("run", "--loss", "nll_loss", "--impl", "nll_loss=wrong_impls_nan:inf_in_half_mean")
    assert status == 1, out


@pytest.mark.parametrize("dtype, score, exact", [
    ("float64", -710.0, "710"), ("float32", -100.0, "100"), ("bfloat16", -89.0, "89"), ("float16", -12.0, "12"),
])
def test_soft_margin_loss_naive_exp_overflows(dtype, score, exact):
    """PyTorch's value is inf and its gradient NaN where exp(−y·x) overflows; the exact loss is ≈ −y·x."""
    torch_dtype = getattr(torch, dtype)
    x = torch.tensor([score, 1.0], dtype=torch_dtype, requires_grad=True)
    y = torch.tensor([1.0, -1.0], dtype=torch_dtype)
    out = F.soft_margin_loss(x, y, reduction="none")
    out.sum().backward()
    assert torch.isinf(out[0]) and torch.isfinite(out[1])
    assert math.isnan(x.grad[0]) and math.isfinite(x.grad[1])
    reference = exact_reference(get_spec("soft_margin_loss"), {"input": x.detach().double().numpy(),
                                                               "target": y.double().numpy()},
                                {"reduction": "none"}, np.ones(2))
    value = reference.value[0]
    with mpmath.workdps(50):
        assert mpmath.almosteq(value, -score + mpmath.log1p(mpmath.exp(score)), rel_eps=1e-30)
        assert mpmath.almosteq(reference.grads["input"][0], -1 / (1 + mpmath.exp(score)), rel_eps=1e-30)
    assert float(value) <= torch.finfo(torch_dtype).max and mpmath.nint(value) == mpmath.mpf(exact)


def covers(entry, case, quantity, dtype, tensors, reference, failing, got):
    """Does ``entry`` explain every failing element?"""
    return entry.applies(case, quantity, dtype, reference) and all(
        entry.explains(element, case, quantity, tensors, got, dtype) for element in failing)


def test_soft_margin_overflow_entry_is_narrow():
    """inf/NaN below the dtype's overflow threshold, or an inf where PyTorch's value is NaN, is not excused."""
    spec = get_spec("soft_margin_loss")
    case = next(c for c in generate_cases(spec) if c.options["reduction"] == "none" and c.shape_case.name == "vector")
    entry = {e.id: e for e in known_deviations()}["soft_margin_loss-naive-exp-overflow-value"]
    x = np.array([-100.0, -50.0, 1.0, 2.0, 3.0])
    tensors = {"input": x, "target": np.ones(5)}
    reference = exact_reference(spec, tensors, case.options, np.ones(5))
    got = np.array([math.inf, 50.0, 0.3, 0.1, 0.05])
    assert covers(entry, case, "value", "float32", tensors, reference, [0], got)
    assert not covers(entry, case, "value", "float32", tensors, reference, [0, 1], np.where(x < 0, math.inf, got))
    assert not covers(entry, case, "value", "float16", tensors, reference, [0], np.where(x < 0, math.nan, got))
    assert not covers(entry, case, "value", "float32", tensors, reference, [2], np.where(x > 0, math.inf, got))
def test_float16_cosine_embedding_zero_vector_is_nan():
    """float16 loses the 1e-12 under the sqrt: cos = 0/0. The exact value is 1, the gradients finite."""
    x1 = torch.zeros(1, 3, dtype=torch.float16, requires_grad=True)
    x2 = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float16, requires_grad=True)
    target = torch.tensor([1.0], dtype=torch.float16)
    out = F.cosine_embedding_loss(x1, x2, target, reduction="sum")
    out.backward()
    assert torch.isnan(out) and torch.isnan(x1.grad).all() and torch.isnan(x2.grad).all()
    tensors = {"input1": np.zeros((1, 3)), "input2": x2.detach().double().numpy(), "target": np.array([1.0])}
    reference = exact_reference(get_spec("cosine_embedding_loss"), tensors, {"reduction": "sum", "margin": 0.0},
                                np.array(1.0))
    assert reference.value[0] == 1
    with mpmath.workdps(40):
        eps = mpmath.mpf(float(np.float32(1e-12)))
        for i, x in enumerate([1, 2, 3]):
            assert mpmath.almosteq(reference.grads["input1"][i], -x / mpmath.sqrt(eps * (14 + eps)), rel_eps=1e-30)
            assert reference.grads["input2"][i] == 0


def test_float16_cosine_embedding_norm_product_overflows():
    """float16 multiplies the squared norms before the sqrt, 256·257 > 65504 overflows, and cos becomes 0.
    The exact loss is 0.00195 (float32 agrees). The gate's mixed regime meets it; the peak counts that
    radicand, so no claim is made there (tests/test_tolerance.py: an overflowing radicand)."""
    x1 = torch.tensor([[16.0, 0.0, 0.0]], dtype=torch.float16)
    x2 = torch.tensor([[16.0, 1.0, 0.0]], dtype=torch.float16)
    target = torch.tensor([1.0], dtype=torch.float16)
    assert F.cosine_embedding_loss(x1, x2, target).item() == 1.0
    reference = exact_reference(get_spec("cosine_embedding_loss"),
                                {"input1": x1.double().numpy(), "input2": x2.double().numpy(),
                                 "target": target.double().numpy()}, {"reduction": "mean", "margin": 0.0},
                                np.array(1.0))
    assert mpmath.almosteq(reference.value[0], 0.0019474215171153, rel_eps=1e-12)
    assert abs(F.cosine_embedding_loss(x1.float(), x2.float(), target.float()).item() - 0.0019474215) < 1e-7


def test_float16_cosine_embedding_norm_product_underflows():
    """Nonzero vectors near 1e-4: float16 multiplies the squared norms, the product (1e-14) underflows to 0
    and cos = dot/0 = inf; the exact loss is 0.1909 (float64 agrees)."""
    x1 = torch.tensor([[0.0001220703125, -0.00048828125, 9.5367431640625e-07]], dtype=torch.float16)
    x2 = torch.tensor([[0.000244140625, -0.000244140625, 0.0001220703125]], dtype=torch.float16)
    target = torch.tensor([1.0], dtype=torch.float16)
    assert F.cosine_embedding_loss(x1, x2, target, reduction="none").item() == -math.inf
    reference = exact_reference(get_spec("cosine_embedding_loss"),
                                {"input1": x1.double().numpy(), "input2": x2.double().numpy(),
                                 "target": target.double().numpy()}, {"reduction": "none", "margin": 0.0},
                                np.array([1.0]))
    assert mpmath.almosteq(reference.value[0], 0.190922379181782, rel_eps=1e-12)
    assert abs(F.cosine_embedding_loss(x1.double(), x2.double(), target.double()).item() - 0.190922379181782) < 1e-14


def test_float16_nan_without_a_zero_vector_is_not_excused(run_cli):
    """The zero-vector deviation covers only units with a zero vector; NaN elsewhere fails."""
    status, out, _ = run_cli("run", "--loss", "cosine_embedding_loss", "--dtype", "float16",
                             "--impl", "cosine_embedding_loss=wrong_impls_nan:cosine_nan_in_half")
    assert status == 1, out
def test_ctc_log_probs_gradient_is_not_the_derivative_for_unnormalised_rows():
    """PyTorch returns exp(x) − γ = [e^-1, e^-2 − 1]; the loss is −x[0,0,1], whose gradient is [0, −1].

    The oracle's reference gradient is PyTorch's convention; its math gradient is the derivative.
    """
    x = torch.tensor([[[-1.0, -2.0]]], dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([1])
    loss = F.ctc_loss(x, torch.tensor([[1]]), lengths, lengths, reduction="sum")
    loss.backward()
    assert loss.item() == 2.0
    assert x.grad.reshape(-1).tolist() == [math.exp(-1.0), math.expm1(-2.0)]
    tensors = {"log_probs": x.detach().numpy(), "targets": np.array([[1]]), "input_lengths": lengths.numpy(),
               "target_lengths": lengths.numpy()}
    reference = exact_reference(get_spec("ctc_loss"), tensors, {"reduction": "sum"}, np.array(1.0))
    assert reference.value[0] == 2
    assert reference.math_grads["log_probs"] == [0, -1]
    assert [float(g) for g in reference.grads["log_probs"]] == x.grad.reshape(-1).tolist()


def test_every_entry_has_a_reproducer_and_a_test_here():
    tested = {"kl_div-target-grad-nan-at-zero-target",
              "cross_entropy-float16-label-smoothing-sum-overflow",  # test_label_smoothing_overflow.py
              "float16-nll-cross_entropy-mean-accumulates-in-float16",
              "float16-nll_loss-mean-accumulates-in-float16",
              "half-nll_loss-ignored-rows-total-accumulates-in-input-dtype",  # test_half_nll_ignored_rows.py
              "soft_margin_loss-naive-exp-overflow-value", "soft_margin_loss-naive-exp-overflow-grad",
              "poisson_nll_loss-full-target-grad-nan-at-zero-target",
              "poisson_nll_loss-float16-eps-underflow-value", "poisson_nll_loss-float16-eps-underflow-grad-input",
              "poisson_nll_loss-float16-eps-underflow-grad-target",
              "binary_cross_entropy-float16-backward-eps-underflow-at-0",
              "binary_cross_entropy-float16-backward-eps-underflow-at-1",
              "gaussian_nll_loss-float16-var-grad-nan-at-clamped-zero-variance",
              "gaussian_nll_loss-float16-mean-of-overflowing-elements",
              "cosine_embedding_loss-float16-zero-vector-nan-value",
              "cosine_embedding_loss-float16-zero-vector-nan-grad-input1",
              "cosine_embedding_loss-float16-zero-vector-nan-grad-input2",
              "cosine_embedding_loss-float16-underflowing-norms-inf-value",
              "ctc_loss-grad-log_probs-unnormalised",
              "binary_cross_entropy-double-backward-eps-shift",
              "multi_margin_loss-empty-batch-uninitialized", "multilabel_margin_loss-empty-batch-uninitialized",
              *(f"{loss}-float16-weighted-mean-total-overflows-{q}" for loss in ("mse_loss", "l1_loss")
                for q in ("value", "grad-weight")),
              "kl_div-float16-mean-target-grad-at-subnormal-target",
              *(f"triplet_margin_loss-float16-p3-norm-underflow-nan-grad-{n}"
                for n in ("anchor", "positive", "negative")),
              *(f"fused_linear_cross_entropy-float16-ignored-row-overflowing-logits-nan-grad-{n}"
                for n in ("input", "weight", "bias")),
              *(f"linear_cross_entropy-float16-ignored-row-overflowing-logits-nan-grad-{n}"
                for n in ("input", "linear_weight", "linear_bias"))}
    for entry in known_deviations():
        assert entry.id in tested
        assert entry.reproducer["code"] and entry.reproducer["pytorch_value"] and entry.reproducer["exact_value"]


def test_known_deviation_is_allowed_but_a_new_one_fails(run_cli):
    status, out, _ = run_cli("run", "--loss", "kl_div", "--impl", "kl_div=wrong_impls_nan:nan_at_zero_target")
    assert status == 0, out
    assert "kl_div-target-grad-nan-at-zero-target" in out
    status, out, _ = run_cli("run", "--loss", "kl_div", "--impl", "kl_div=wrong_impls_nan:nan_everywhere_at_zero")
    assert status == 1, out


@pytest.fixture(autouse=True)
def _nan_impls(tmp_path, monkeypatch):
    (tmp_path / "wrong_impls_nan.py").write_text(
        "import torch\n"
        "import torch.nn.functional as F\n"
        "def nan_at_zero_target(input, target, reduction='mean', log_target=False):\n"
        "    return F.kl_div(input, target, reduction=reduction, log_target=log_target)\n"
        "def nan_everywhere_at_zero(input, target, reduction='mean', log_target=False):\n"
        "    out = F.kl_div(input, target, reduction=reduction, log_target=log_target)\n"
        "    return out + 0 * input.sum() * torch.where(target == 0, float('nan'), 0.0).sum()\n"
        "def inf_in_half_mean(input, target, weight=None, ignore_index=-100, reduction='mean'):\n"
        "    out = F.nll_loss(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction)\n"
        "    if input.dtype == torch.float16 and reduction == 'mean':\n"
        "        out = out + float('inf')\n"
        "    return out\n"
        "def cosine_nan_in_half(input1, input2, target, margin=0.0, reduction='mean'):\n"
        "    out = F.cosine_embedding_loss(input1, input2, target, margin=margin, reduction=reduction)\n"
        "    return out + float('nan') if input1.dtype == torch.float16 else out\n"
    )
    monkeypatch.chdir(tmp_path)


def test_bce_double_backward_shifts_by_eps():
    """PyTorch's HVP of BCE is (p² − 2py + y)/((p + ε)²(1 − p + ε)²), ε = 1e-12; the exact one has no ε."""
    p = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0.8], dtype=torch.float64)
    g, = torch.autograd.grad(F.binary_cross_entropy(p, y, reduction="sum"), p, create_graph=True)
    h, = torch.autograd.grad(g.sum(), p)
    P, Y = mpmath.mpf(0.3), mpmath.mpf(0.8)
    exact = (P * P - 2 * P * Y + Y) / (P**2 * (1 - P) ** 2)
    shifted = (P * P - 2 * P * Y + Y) / ((P + mpmath.mpf(1e-12)) ** 2 * (1 - P + mpmath.mpf(1e-12)) ** 2)
    assert abs(h.item() - shifted) < 1e-14 * shifted
    assert 1e-12 < abs((h.item() - exact) / exact) < 1e-6


@pytest.mark.parametrize("loss, target", [("multi_margin_loss", torch.empty(0, dtype=torch.long)),
                                          ("multilabel_margin_loss", torch.empty(0, 3, dtype=torch.long))])
def test_empty_batch_mean_is_not_nan(loss, target):
    """The exact mean over no rows is NaN (0/0); PyTorch returns whatever its output held, never NaN."""
    out = getattr(F, loss)(torch.empty(0, 3, dtype=torch.float64), target)
    assert not math.isnan(out.item())
    reference = exact_reference(get_spec(loss), {"input": np.empty((0, 3)), "target": target.numpy()},
                                {"reduction": "mean"}, np.array(1.0))
    assert mpmath.isnan(reference.value[0])


@pytest.mark.parametrize("loss, scale", [("mse_loss", 1.0), ("l1_loss", 5.0)])
def test_float16_weighted_mean_total_overflows(loss, scale):
    """With weight=, the float16 total Σw·l overflows: PyTorch inf, the exact mean is 25."""
    x = torch.full((4100,), 5.0 * scale, dtype=torch.float16, requires_grad=True)
    w = torch.ones(4100, dtype=torch.float16, requires_grad=True)
    t = torch.zeros(4100, dtype=torch.float16)
    out = getattr(F, loss)(x, t, weight=w)
    assert torch.isinf(out)
    assert torch.isinf(torch.autograd.grad(out, w)[0]).all()
    reference = exact_reference(get_spec(loss), {"input": x.detach().double().numpy(), "target": t.double().numpy(),
                                                 "weight": w.detach().double().numpy()},
                                {"reduction": "mean"}, np.array(1.0))
    assert reference.value[0] == 25
    assert reference.unit_total > torch.finfo(torch.float16).max


def test_kl_div_float16_subnormal_target_is_right_alone():
    """The subnormal-target entry is narrow: a single element under sum is right in float16."""
    x = torch.tensor([0.0], dtype=torch.float16)
    y = torch.tensor([2.0**-22], dtype=torch.float16, requires_grad=True)
    F.kl_div(x, y, reduction="sum").backward()
    assert math.isclose(y.grad.item(), math.log(2.0**-22) + 1, rel_tol=1e-3)
    entry = next(e for e in known_deviations() if e.id == "kl_div-float16-mean-target-grad-at-subnormal-target")
    assert entry.options["reduction"] == ["mean", "batchmean"] and entry.pytorch == "finite"


def test_triplet_p3_norm_underflows_in_float16():
    """vector_norm(v, 3) of a tiny float16 v: gradient NaN; the exact gradient is 2^(−2/3) per element."""
    v = torch.tensor([1e-6, 1e-6], dtype=torch.float16, requires_grad=True)
    torch.linalg.vector_norm(v, 3).backward()
    assert torch.isnan(v.grad).all()
    w = torch.tensor([1e-6, 1e-6], dtype=torch.float64, requires_grad=True)
    torch.linalg.vector_norm(w, 3).backward()
    assert torch.allclose(w.grad, torch.full((2,), 2.0 ** (-2 / 3), dtype=torch.float64))


def test_fused_linear_cross_entropy_ignored_row_with_overflowing_logits():
    """One ignored row whose float16 logits overflow: PyTorch's gradients are NaN, the exact ones 0."""
    h = torch.float16
    x = torch.tensor([[-32768.0, 0.0, 2**-22]], dtype=h, requires_grad=True)
    w = torch.tensor([[-2.0, 128, -1024], [8192, -128, 1], [512, -512, -2**-15], [32768, -2**-19, 1024]], dtype=h,
                     requires_grad=True)
    b = torch.tensor([8192.0, 1, -2048, 32768], dtype=h, requires_grad=True)
    out = F.cross_entropy(F.linear(x, w, b), torch.tensor([1]), ignore_index=1)
    grads = torch.autograd.grad(out, [x, w, b])
    assert all(torch.isnan(g).all() for g in grads)
    tensors = {"input": x.detach().double().numpy(), "weight": w.detach().double().numpy(), "target": np.array([1]),
               "bias": b.detach().double().numpy()}
    reference = exact_reference(get_spec("fused_linear_cross_entropy"), tensors,
                                {"reduction": "mean", "ignore_index": 1, "label_smoothing": 0.0}, np.array(1.0))
    assert all(v == 0 for name in ("input", "weight", "bias") for v in reference.grads[name])


def test_linear_cross_entropy_ignored_row_with_overflowing_logits():
    """The same ignored float16 row through F.linear_cross_entropy's reference path: NaN gradients, exact 0."""
    h = torch.float16
    x = torch.tensor([[-32768.0, 0.0, 2**-22]], dtype=h, requires_grad=True)
    w = torch.tensor([[-2.0, 128, -1024], [8192, -128, 1], [512, -512, -2**-15], [32768, -2**-19, 1024]], dtype=h,
                     requires_grad=True)
    b = torch.tensor([8192.0, 1, -2048, 32768], dtype=h, requires_grad=True)
    out = F.linear_cross_entropy(x, w, torch.tensor([1]), linear_bias=b, ignore_index=1)
    grads = torch.autograd.grad(out, [x, w, b])
    assert all(torch.isnan(g).all() for g in grads)
    tensors = {"input": x.detach().double().numpy(), "linear_weight": w.detach().double().numpy(),
               "target": np.array([1]), "linear_bias": b.detach().double().numpy()}
    reference = exact_reference(get_spec("linear_cross_entropy"), tensors,
                                {"reduction": "mean", "ignore_index": 1, "label_smoothing": 0.0}, np.array(1.0))
    assert all(v == 0 for name in ("input", "linear_weight", "linear_bias") for v in reference.grads[name])
