"""A real Triton kernel of our own, run on CPU by Triton's interpreter, is checked like any kernel.

Skips where triton is not installed (``pip install ".[triton]"``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from losscheck.conformance.report import read_report

pytest.importorskip("triton", reason="triton is not installed (pip install '.[triton]')")

TESTS = Path(__file__).parent


def _run(impl: str, tmp_path: Path) -> tuple[int, str, dict]:
    report = tmp_path / "report.jsonl"
    env = {**os.environ, "TRITON_INTERPRET": "1",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "losscheck", "run", "--loss", "mse_loss", "--impl",
                           f"mse_loss=triton_kernels:{impl}", "--dtype", "float32,bfloat16", "--jobs", "1",
                           "--report", str(report), "--save-failures", str(tmp_path)],
                          cwd=TESTS, env=env, capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr, read_report(str(report))


def test_the_triton_mse_kernel_conforms_where_it_declares_support(tmp_path):
    status, out, document = _run("mse_loss", tmp_path)
    assert status == 0, out
    results = document["results"]
    judged = {r["quantity"] for r in results if r["status"] == "pass"}
    assert {"value", "grad input", "grad target", "twice"} <= judged
    assert any("declared unsupported: optional tensor weight" in r["message"] for r in results)


def test_a_triton_kernel_with_half_the_gradient_is_flagged(tmp_path):
    status, out, document = _run("mse_loss_half_gradient", tmp_path)
    assert status == 1, out
    failing = {r["quantity"] for r in document["results"] if r["status"] == "fail"}
    assert {"grad input", "grad target"} <= failing
    assert not [r for r in document["results"] if r["quantity"] == "value" and r["status"] == "fail"]
