"""Every CLI exit status, and each kind of bad input, with a one-line message."""

import os
import subprocess
import sys

import pytest
from losscheck.conformance.cases import generate_cases
from losscheck.conformance.probes import probe_cases
from losscheck.conformance.report import read_report
from losscheck.spec import all_specs

TESTS = os.path.dirname(__file__)


def test_list_shows_every_spec_with_torchlean_links(run_cli):
    status, out, _err = run_cli("list")
    assert status == 0
    for name in all_specs():
        assert name[:12] in out


@pytest.mark.parametrize("args, message", [
    (["run", "--loss", "mse_losss"], "unknown loss 'mse_losss'"),
    (["run", "--impl", "mse_loss"], "malformed --impl"),
    (["run", "--impl", "mse_loss=wrong_impls"], "malformed --impl"),
    (["run", "--impl", "no_such_loss=wrong_impls:crashes"], "unknown loss"),
    (["run", "--impl", "mse_loss=no_such_module_xyz:f"], "cannot import module 'no_such_module_xyz'"),
    (["run", "--impl", "mse_loss=wrong_impls:no_such_attr"], "has no attribute 'no_such_attr'"),
    (["run", "--loss", "kl_div", "--impl", "mse_loss=wrong_impls:crashes"], "not among the --loss"),
    (["run", "--dtype", "float8"], "unknown dtype 'float8'"),
    (["run", "--seed", "abc"], "--seed must be an integer"),
    (["run", "--timeout", "soon"], "--timeout must be an integer"),
    (["run", "--device", "tpu"], "unknown device 'tpu'"),
    (["run", "--report", "/no/such/dir/r.json"], "cannot write report"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_bad_usage_exits_2_with_one_line(run_cli, args, message):
    status, out, err = run_cli(*args)
    assert status == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_cuda_without_a_gpu_is_a_usage_error(run_cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    status, _out, err = run_cli("run", "--loss", "mse_loss", "--device", "cuda")
    assert status == 2 and "cuda" in err


def test_crashing_implementation_is_a_reported_failure(run_cli, tmp_path):
    report = tmp_path / "r.json"
    status, out, _err = run_cli("run", "--impl", "mse_loss=wrong_impls:crashes", "--dtype", "float32",
                               "--report", str(report))
    assert status == 1
    assert "kernel launch failed" in out
    results = read_report(report)["results"]
    assert results and all(r["status"] == "error" for r in results)


def test_implementation_calling_sys_exit_is_a_reported_failure(run_cli):
    status, out, _ = run_cli("run", "--impl", "mse_loss=wrong_impls:exits", "--dtype", "float64")
    assert status == 1
    assert "SystemExit" in out


def test_hanging_implementation_is_interrupted_and_reported(run_cli, tmp_path):
    report = tmp_path / "r.json"
    status, _out, _err = run_cli("run", "--impl", "mse_loss=wrong_impls:hangs", "--dtype", "float32",
                               "--timeout", "1", "--report", str(report))
    assert status == 1
    results = read_report(report)["results"]
    assert "no answer within 1 s during the call" in results[0]["message"]
    spec = all_specs()["mse_loss"]
    grid = generate_cases(spec, 0)
    cases = len(grid) + len(probe_cases(spec, 0, len(grid)))
    assert len(results) == cases  # every case (grid and probes) is still reported, none silently dropped
    assert [r["status"] for r in results[:3]] == ["error"] * 3  # killed at the timeout, a fresh worker each
    assert {r["status"] for r in results[3:]} == {"not run"}  # then given up on, which fails the run too


def test_report_json_holds_policy_groups_and_results(run_cli, tmp_path):
    report = tmp_path / "r.json"
    status, _out, _err = run_cli("run", "--loss", "nll_loss", "--dtype", "float32,bfloat16", "--seed", "3",
                               "--report", str(report))
    assert status == 0
    document = read_report(report)
    assert document["ok"] is True
    assert document["settings"]["seed"] == 3 and document["settings"]["dtypes"] == ["float32", "bfloat16"]
    assert {g["dtype"] for g in document["groups"]} == {"float32", "bfloat16"}
    assert "tolerances" in document["tolerance_policy"]
    spec = all_specs()["nll_loss"]
    grid = generate_cases(spec, 3)
    names = {c.name for c in grid + probe_cases(spec, 3, len(grid))}
    assert {(r["case"], r["dtype"]) for r in document["results"]} == {(n, d) for n in names
                                                                       for d in ("float32", "bfloat16")}


def test_entry_point_runs_as_a_subprocess(tmp_path):
    env = dict(os.environ, PYTHONPATH=TESTS)
    ok = subprocess.run([sys.executable, "-m", "losscheck", "run", "--loss", "mse_loss", "--dtype", "float64"],
                        capture_output=True, text=True, env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = subprocess.run([sys.executable, "-m", "losscheck", "run", "--impl",
                          "mse_loss=wrong_impls:mse_sum_is_mean", "--dtype", "float64"],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert bad.returncode == 1
    usage = subprocess.run([sys.executable, "-m", "losscheck", "run", "--loss", "nope"],
                           capture_output=True, text=True, env=env, cwd=tmp_path)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1


def test_python_api_check_returns_ok():
    import warnings

    import losscheck

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = losscheck.check("kl_div", dtypes=["float32"])
    assert result.ok
    assert "kl_div" in str(result)
    with pytest.raises(ValueError, match="unknown loss"):
        losscheck.check("kl")


def test_not_implemented_is_unsupported_only_where_pytorch_lacks_it_too(run_cli, monkeypatch, tmp_path):
    """A kernel may skip a dtype PyTorch lacks (unsupported); skipping one PyTorch has is a failure."""
    report = tmp_path / "r.json"
    status, out, _ = run_cli("run", "--impl", "mse_loss=wrong_impls:no_half_kernel", "--report", str(report))
    assert status == 1
    statuses = {(r["dtype"], r["status"]) for r in read_report(report)["results"]}
    assert ("float16", "error") in statuses and ("float32", "pass") in statuses

    import torch
    import torch.nn.functional as F

    original = F.mse_loss

    def pytorch_without_half(input, target, **kwargs):
        if input.dtype == torch.float16:
            raise RuntimeError("\"mse_cpu\" not implemented for 'Half'")
        return original(input, target, **kwargs)

    monkeypatch.setattr(F, "mse_loss", pytorch_without_half)  # the judge's PyTorch, which the parent asks
    status, out, _ = run_cli("run", "--impl", "mse_loss=wrong_impls:no_half_kernel", "--report", str(report))
    assert status == 0, out
    rows = read_report(report)["groups"]
    assert {g["verdict"] for g in rows if g["dtype"] == "float16"} == {"UNSUPPORTED"}
    assert {g["verdict"] for g in rows if g["dtype"] == "float32"} == {"PASS"}
    assert all(r["declared"] for r in read_report(report)["results"] if r["status"] == "unsupported")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("loss", sorted(all_specs()))
def test_pytorch_cuda_kernels_conform(loss):
    import warnings

    import losscheck

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = losscheck.check(loss, device="cuda")
    assert result.ok, result.summary()
