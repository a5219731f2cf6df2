"""``losscheck sweep MANIFEST`` on a Dask LocalCluster: one report, the same as running the same checks
locally; a bad manifest is a one-line usage error. The Dask tests skip where dask[distributed] is absent."""

import importlib.util
import json

import pytest
from losscheck.conformance.report import ReportStream, read_report
from losscheck.conformance.runner import RunSettings
from losscheck.conformance.sweep import read_manifest, run_locally

needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="dask[distributed] is not installed (the [sweep] extra)")

MANIFEST = {"implementations": ["pytorch", "mse_loss=wrong_impls:mse_half_gradient"], "losses": ["mse_loss"],
            "dtypes": ["float32", "bfloat16"], "seeds": [0, 4]}


def _write(tmp_path, document) -> str:
    path = tmp_path / "manifest.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return str(path)


@pytest.mark.parametrize("document, message", [
    ("not json", "is not JSON"),
    ([1, 2], "expected a JSON object"),
    ({**MANIFEST, "extra": 1}, "unknown key 'extra'"),
    ({**MANIFEST, "losses": ["no_such_loss"]}, "unknown loss 'no_such_loss'"),
    ({**MANIFEST, "losses": ["l1_loss"]}, "is for 'mse_loss', not a listed loss"),
    ({**MANIFEST, "seeds": [-1]}, "'seeds' must be"),
    ({**MANIFEST, "dtypes": ["float8"]}, "unknown dtype"),
    ({**MANIFEST, "implementations": ["mse_loss=nocolon"]}, "MODULE:ATTR"),
])
def test_a_bad_manifest_is_one_line_and_exit_2(run_cli, tmp_path, document, message):
    status, out, err = run_cli("sweep", _write(tmp_path, document))
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_a_missing_manifest_is_a_usage_error(run_cli, tmp_path):
    status, _out, err = run_cli("sweep", str(tmp_path / "absent.json"))
    assert status == 2 and "cannot read manifest" in err


def _local_report(tmp_path, manifest_path) -> dict:
    manifest = read_manifest(manifest_path)
    result = run_locally(manifest.runs(), RunSettings(manifest.device, manifest.timeout))
    stream = ReportStream(str(tmp_path / "local.json"), {})
    stream.finish(result)
    return read_report(str(tmp_path / "local.json"))


@needs_dask
def test_a_sweep_on_a_local_cluster_reports_what_a_local_run_does(run_cli, tmp_path):
    """Two workers, PyTorch and a wrong kernel, two dtypes, two seeds: the same report lines in the same
    order as running each (implementation, seed) here, and the wrong kernel's gradient flagged."""
    manifest = _write(tmp_path, MANIFEST)
    status, out, err = run_cli("sweep", manifest, "--workers", "2", "--report", str(tmp_path / "sweep.json"))
    assert status == 1, out + err
    assert "swept 4 runs" in out
    swept = read_report(str(tmp_path / "sweep.json"))
    local = _local_report(tmp_path, manifest)
    assert swept["results"] == local["results"]
    assert swept["spec_problems"] == local["spec_problems"]
    failing = {(r["target"], r["quantity"]) for r in swept["results"] if r["status"] == "fail"}
    assert any(q == "grad input" and "wrong_impls" in t for t, q in failing), failing
    assert not any("wrong_impls" not in t for t, _q in failing)  # PyTorch passes


@needs_dask
def test_an_unreachable_scheduler_is_a_usage_error(run_cli, tmp_path):
    status, _out, err = run_cli("sweep", _write(tmp_path, MANIFEST), "--scheduler", "tcp://127.0.0.1:9")
    assert status == 2 and "cannot connect" in err
