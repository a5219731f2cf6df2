"""Every deliberately wrong implementation is flagged by `losscheck run --impl` (exit 1);
PyTorch's own kernels pass (exit 0)."""

import importlib
from pathlib import Path

import pytest
from losscheck.conformance.report import read_report
from losscheck.spec import all_specs


def _collect():
    """(module, loss, impl, quantity) from every tests/wrong_impls*.py module's FLAGGED list."""
    found = []
    for path in sorted(Path(__file__).parent.glob("wrong_impls*.py")):
        module = importlib.import_module(path.stem)
        found.extend((path.stem, *entry) for entry in module.FLAGGED)
    return found


WRONG = _collect()


@pytest.mark.parametrize("module, loss, impl, quantity", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_implementation_is_flagged(run_cli, tmp_path, module, loss, impl, quantity):
    report = tmp_path / "report.json"
    status, out, _err = run_cli("run", "--loss", loss, "--impl", f"{loss}={module}:{impl}",
                               "--report", str(report))
    assert status == 1, out
    assert "FAIL" in out and "reproducer:" in out
    document = read_report(report)
    assert document["ok"] is False
    failing = {r["quantity"] for r in document["results"] if r["status"] in ("fail", "error")}
    assert quantity in failing, failing


SLOW_TO_PASS = {"linear_cross_entropy": "five PyTorch paths (the reference and four chunked policies) in four dtypes"}


@pytest.mark.parametrize("loss", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW_TO_PASS else name
                                  for name in sorted(all_specs())])
def test_pytorch_itself_passes(run_cli, loss):
    status, out, _err = run_cli("run", "--loss", loss)
    assert status == 0, out
    assert "all checks conform" in out
