"""Every deliberately wrong implementation is flagged by `losscheck run --impl` (exit 1);
PyTorch's own kernels pass (exit 0)."""

import json

import pytest

WRONG = [
    ("mse_loss", "mse_half_gradient", "grad input"),
    ("mse_loss", "mse_sum_is_mean", "value"),
    ("mse_loss", "mse_weight_mean_over_numel", "value"),
    ("mse_loss", "returns_float32", "value"),
    ("mse_loss", "modifies_input", "inputs unchanged"),
    ("cross_entropy", "cross_entropy_log_softmax_overflow", "value"),
    ("cross_entropy", "cross_entropy_drops_smoothing", "value"),
    ("cross_entropy", "cross_entropy_detached_target", "grad target"),
    ("nll_loss", "nll_mean_over_rows", "value"),
    ("binary_cross_entropy_with_logits", "bce_detached_target", "grad target"),
    ("binary_cross_entropy_with_logits", "bce_naive_log_sigmoid", "value"),
    ("kl_div", "kl_div_batchmean_is_mean", "value"),
    ("kl_div", "kl_div_detached_target", "grad target"),
]


@pytest.mark.parametrize("loss, impl, quantity", WRONG, ids=[w[1] for w in WRONG])
def test_wrong_implementation_is_flagged(run_cli, tmp_path, loss, impl, quantity):
    report = tmp_path / "report.json"
    status, out, _err = run_cli("run", "--loss", loss, "--impl", f"{loss}=wrong_impls:{impl}",
                               "--report", str(report))
    assert status == 1, out
    assert "FAIL" in out and "reproducer:" in out
    document = json.loads(report.read_text())
    assert document["ok"] is False
    failing = {r["quantity"] for r in document["results"] if r["status"] in ("fail", "error")}
    assert quantity in failing, failing


@pytest.mark.parametrize("loss", ["mse_loss", "nll_loss", "kl_div", "binary_cross_entropy_with_logits",
                                  "cross_entropy"])
def test_pytorch_itself_passes(run_cli, loss):
    status, out, _err = run_cli("run", "--loss", loss)
    assert status == 0, out
    assert "all checks conform" in out
