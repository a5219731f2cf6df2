"""Triage: PyTorch's own failure says the reference fails; a user failure says whether PyTorch shares it;
--candidates writes the proof material of PyTorch's failures."""

import json

import pytest
from losscheck.conformance import deviations
from losscheck.conformance.triage import PYTORCH_PASSES, REFERENCE_FAILS, SHARED

HIDDEN = "kl_div-target-grad-nan-at-zero-target"  # PyTorch NaN, exact -inf: a real departure from the math


@pytest.fixture
def without_the_kl_div_entry(monkeypatch):
    """The ledger without one proven entry: PyTorch's kl_div then fails its zero-target gradient checks."""
    every = deviations.known_deviations
    monkeypatch.setattr(deviations, "known_deviations",
                        lambda ledgers=(): tuple(e for e in every(ledgers) if e.id != HIDDEN))


@pytest.fixture
def kernels(tmp_path, monkeypatch):
    (tmp_path / "triage_kernels.py").write_text(
        "import torch.nn.functional as F\n"
        "def same_as_pytorch(input, target, reduction='mean', log_target=False):\n"
        "    return F.kl_div(input, target, reduction=reduction, log_target=log_target)\n"
        "def doubled(input, target, reduction='mean', log_target=False):\n"
        "    return 2 * F.kl_div(input, target, reduction=reduction, log_target=log_target)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_pytorch_failing_says_the_reference_fails_and_writes_a_candidate(run_cli, kernels,
                                                                          without_the_kl_div_entry):
    path = kernels / "candidates.json"
    status, out, _ = run_cli("run", "--loss", "kl_div", "--dtype", "float64", "--jobs", "1",
                             "--candidates", str(path))
    assert status == 1 and REFERENCE_FAILS in out, out
    found = json.loads(path.read_text())
    assert found and all(c["loss"] == "kl_div" and c["dtypes"] == ["float64"] for c in found)
    target_grads = [c for c in found if c["quantity"] == "grad target"]
    assert target_grads and all(c["reproducer"]["code"] and c["pytorch"] == "nan" and c["exact"] in ("-inf", "+inf")
                                for c in target_grads), target_grads


def test_a_failure_pytorch_shares_reads_differently_from_one_it_passes(run_cli, kernels,
                                                                        without_the_kl_div_entry):
    status, out, _ = run_cli("run", "--loss", "kl_div", "--dtype", "float64", "--jobs", "1",
                             "--impl", "kl_div=triage_kernels:same_as_pytorch")
    assert status == 1 and SHARED in out and PYTORCH_PASSES not in out, out
    status, out, _ = run_cli("run", "--loss", "kl_div", "--dtype", "float64", "--jobs", "1",
                             "--impl", "kl_div=triage_kernels:doubled")
    assert status == 1 and PYTORCH_PASSES in out, out


def test_a_passing_run_writes_no_candidates(run_cli, kernels):
    path = kernels / "candidates.json"
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--dtype", "float64", "--jobs", "1",
                             "--candidates", str(path))
    assert status == 0 and json.loads(path.read_text()) == [], out
