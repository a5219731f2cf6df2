"""Known PyTorch deviations: each recorded reproducer still reproduces, a known
deviation passes, and a new one fails."""

import math

import mpmath
import numpy as np
import pytest
import torch
import torch.nn.functional as F
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


def test_float16_cross_entropy_label_smoothing_overflow():
    """PyTorch's float16 sum is inf; the exact loss, 4000, is representable."""
    x = torch.tensor([[0.0, -1e4, -1e4, -1e4, -1e4]] * 2, dtype=torch.float16)
    target = torch.tensor([0, 0])
    assert torch.isinf(F.cross_entropy(x, target, label_smoothing=0.25, reduction="sum"))
    reference = exact_reference(get_spec("cross_entropy"), {"input": x.double().numpy(), "target": target.numpy()},
                                {"reduction": "sum", "label_smoothing": 0.25}, np.array(1.0))
    assert mpmath.almosteq(reference.value[0], 4000, rel_eps=1e-12)


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


def test_float16_inf_without_an_overflowing_total_is_not_excused(run_cli):
    """The accumulation deviation covers only totals past 65504; an inf elsewhere fails."""
    status, out, _ = run_cli("run", "--loss", "nll_loss", "--impl", "nll_loss=wrong_impls_nan:inf_in_half_mean")
    assert status == 1, out


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
    """Not yet exercised by a case (no scaled regime): float16 multiplies the squared norms before the
    sqrt, 256·257 > 65504 overflows, and cos becomes 0. The exact loss is 0.00195 (float32 agrees)."""
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


def test_float16_nan_without_a_zero_vector_is_not_excused(run_cli):
    """The zero-vector deviation covers only units with a zero vector; NaN elsewhere fails."""
    status, out, _ = run_cli("run", "--loss", "cosine_embedding_loss", "--dtype", "float16",
                             "--impl", "cosine_embedding_loss=wrong_impls_nan:cosine_nan_in_half")
    assert status == 1, out


def test_every_entry_has_a_reproducer_and_a_test_here():
    tested = {"kl_div-target-grad-nan-at-zero-target", "cross_entropy-float16-label-smoothing-sum-overflow",
              "float16-nll-cross_entropy-mean-accumulates-in-float16",
              "float16-nll_loss-mean-accumulates-in-float16",
              "cosine_embedding_loss-float16-zero-vector-nan-value",
              "cosine_embedding_loss-float16-zero-vector-nan-grad-input1",
              "cosine_embedding_loss-float16-zero-vector-nan-grad-input2"}
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
