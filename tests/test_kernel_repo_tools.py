"""Where kernel authors already are: JUnit XML, assert_conforms, the pytest plugin, nn.Module losses."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from losscheck.conformance.report import read_report
from losscheck.testing import assert_conforms

TESTS = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}


def test_junit_has_a_failing_case_per_failing_row_with_its_reproducer(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    junit = tmp_path / "junit.xml"
    status, _, _ = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=wrong_impls:mse_half_gradient",
                           "--dtype", "float32", "--junit", str(junit), "--save-failures", str(tmp_path),
                           "--jobs", "1")
    assert status == 1
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == {"mse_loss [wrong_impls:mse_half_gradient] float32 forward",
                          "mse_loss [wrong_impls:mse_half_gradient] float32 backward"}
    failure = cases["mse_loss [wrong_impls:mse_half_gradient] float32 backward"].find("failure")
    assert failure is not None and "grad" in failure.get("message") and "import torch" in failure.text
    assert cases["mse_loss [wrong_impls:mse_half_gradient] float32 forward"].find("failure") is None


def test_assert_conforms_names_the_worst_point_and_its_reproducer(monkeypatch):
    monkeypatch.chdir(TESTS)
    with pytest.raises(AssertionError) as raised:
        assert_conforms("mse_loss", "wrong_impls:mse_half_gradient", dtypes=["float32"], fail_fast=True)
    message = str(raised.value)
    assert "backward" in message and "oracle" in message and "F.mse_loss(" in message
    assert assert_conforms("mse_loss", dtypes=["float32"]).ok


def test_the_pytest_plugin_makes_a_test_per_row(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nlosscheck = mse_loss=wrong_impls:mse_half_gradient\n"
                                         "losscheck_dtypes = float32\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(tmp_path)], cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stdout
    assert "1 failed, 1 passed" in done.stdout
    assert "losscheck[mse_loss-wrong_impls:mse_half_gradient-float32-backward]" in done.stdout
    assert "F.mse_loss(" in done.stdout  # the reproducer is the assertion message


def test_an_nn_module_loss_class_takes_its_options_as_constructor_keywords(run_cli, tmp_path):
    """KLDivLoss(reduction=..., log_target=...)(input, target): every option of the grid reaches it."""
    report = tmp_path / "report.jsonl"
    status, out, _ = run_cli("run", "--impl", "kl_div=torch.nn:KLDivLoss", "--dtype", "float32",
                             "--save-failures", str(tmp_path), "--jobs", "1", "--report", str(report))
    assert status == 0, out
    results = read_report(str(report))["results"]
    assert {r["target"] for r in results} == {"torch.nn:KLDivLoss"}
    passed = [r["case"] for r in results if r["status"] == "pass"]
    assert any("log_target=True" in c for c in passed) and any("reduction='batchmean'" in c for c in passed)
