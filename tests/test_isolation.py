"""The kernel under test runs in worker processes: nothing it does to its process changes a verdict.

Each hostile implementation (``hostile_impls.py``) is run through the CLI, as a CI gate would run
it. The truth here is independent of losscheck's judge: the exit status a CI system reads, the
report's statuses, and which cases were checked at all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from losscheck.conformance.report import read_report

TESTS = Path(__file__).parent


def _run(*args: str, cwd: Path = TESTS, timeout: float = 600) -> subprocess.CompletedProcess:
    """``losscheck`` in a fresh process, as CI runs it (the parent itself must survive the kernel)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "losscheck", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _statuses(report: Path) -> list[tuple[str, str, str]]:
    return [(r["case"], r["quantity"], r["status"]) for r in read_report(str(report))["results"]]


@pytest.mark.parametrize("impl, cause", [
    ("segfault_on_fifth_call", "crashed: SIGSEGV"),
    ("exits_zero", "exited with status 0 during the call"),
    ("exits_via_sys_exit", "SystemExit(0)"),
])
def test_a_kernel_that_kills_its_process_fails_the_gate_with_the_cause(tmp_path, impl, cause):
    report = tmp_path / "report.jsonl"
    done = _run("run", "--loss", "mse_loss", "--impl", f"mse_loss=hostile_impls:{impl}", "--dtype", "float32",
                "--report", str(report), "--save-failures", str(tmp_path / "failures"), "--jobs", "1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert cause in done.stdout
    document = read_report(str(report))
    assert document["complete"] and document["ok"] is False
    assert any(cause in r["message"] for r in document["results"])


def test_a_crash_on_the_fifth_call_costs_only_the_check_it_was_running(tmp_path):
    """Every other case is still checked: a fresh worker takes over after each crash."""
    report = tmp_path / "report.jsonl"
    done = _run("run", "--loss", "mse_loss", "--impl", "mse_loss=hostile_impls:segfault_on_fifth_call",
                "--dtype", "float32", "--report", str(report), "--save-failures", str(tmp_path), "--jobs", "1")
    assert done.returncode == 1
    results = read_report(str(report))["results"]
    crashed = [r for r in results if "SIGSEGV" in r["message"] and r["status"] == "error"]
    passed = [r for r in results if r["status"] == "pass"]
    assert crashed and len(passed) > 5 * len(crashed)  # one crash per five calls; the rest judged
    assert not [r for r in results if "died in the first call" in r["message"]]


def test_a_kernel_that_exits_every_time_is_given_up_on_and_the_rest_is_not_run(tmp_path):
    report = tmp_path / "report.jsonl"
    done = _run("run", "--loss", "mse_loss", "--impl", "mse_loss=hostile_impls:exits_zero", "--dtype", "float32",
                "--report", str(report), "--save-failures", str(tmp_path), "--jobs", "1")
    assert done.returncode == 1
    statuses = [s for _, _, s in _statuses(report)]
    assert statuses[:3] == ["error"] * 3 and set(statuses[3:]) == {"not run"}


def test_a_native_busy_wait_is_killed_at_the_timeout(tmp_path):
    report = tmp_path / "report.jsonl"
    done = _run("run", "--loss", "mse_loss", "--impl", "mse_loss=hostile_impls:native_busy_wait", "--dtype",
                "float32", "--timeout", "2", "--report", str(report), "--save-failures", str(tmp_path), "--jobs", "1",
                timeout=300)
    assert done.returncode == 1
    assert "no answer within 2 s during the call" in done.stdout


def test_a_kernel_that_patches_torch_and_losscheck_at_import_is_still_judged(tmp_path):
    """The module replaces torch.equal, torch.allclose and losscheck's compare/settle in its own process;
    the judge runs in the parent, which never imports it, so its doubled loss still fails."""
    done = _run("run", "--loss", "mse_loss", "--impl", "mse_loss=hostile_impls:patched_and_wrong", "--dtype",
                "float32", "--save-failures", str(tmp_path), "--jobs", "1")
    assert done.returncode == 1
    assert "FAIL" in done.stdout


def test_the_parent_never_imports_the_implementation(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    status, _, _ = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=hostile_impls:patched_and_wrong",
                           "--dtype", "float32", "--save-failures", str(tmp_path), "--jobs", "1")
    assert status == 1
    assert "hostile_impls" not in sys.modules


def test_an_unimportable_module_is_a_usage_error(run_cli, tmp_path):
    status, _, err = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=no_such_module_here:f",
                               "--save-failures", str(tmp_path))
    assert status == 2 and "no_such_module_here" in err and len(err.strip().splitlines()) == 1


def test_jobs_one_and_two_give_byte_identical_reports(tmp_path):
    reports = []
    for jobs in ("1", "2"):
        report = tmp_path / f"report-{jobs}.jsonl"
        done = _run("run", "--loss", "l1_loss", "--loss", "hinge_embedding_loss", "--dtype", "float32,bfloat16",
                    "--report", str(report), "--jobs", jobs, "--save-failures", str(tmp_path))
        assert done.returncode == 0, done.stdout
        reports.append(report.read_bytes())
    assert reports[0] == reports[1]


def test_the_report_streams_before_the_run_ends(tmp_path):
    """A run killed part-way keeps every check it had judged: the report is flushed unit by unit."""
    report = tmp_path / "report.jsonl"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    process = subprocess.Popen([sys.executable, "-m", "losscheck", "run", "--loss", "mse_loss", "--loss", "l1_loss",
                                "--report", str(report), "--jobs", "1", "--save-failures", str(tmp_path)],
                               cwd=TESTS, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time

        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if report.exists() and '"kind": "check"' in report.read_text():
                break
            time.sleep(0.5)
        process.kill()
        process.wait()
    finally:
        process.kill()
    document = read_report(str(report))
    assert document["results"] and not document["complete"] and document["ok"] is None


# ------------------------------------------------------------------------------- capabilities ---

def test_a_kernel_that_raises_not_implemented_for_whole_forms_passes_with_them_listed(run_cli, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.chdir(TESTS)
    args = ("run", "--loss", "cross_entropy", "--impl", "cross_entropy=capability_impls:cross_entropy_nc_index_only",
            "--dtype", "float32", "--save-failures", str(tmp_path), "--jobs", "1")
    report = tmp_path / "report.jsonl"
    status, out, _ = run_cli(*args, "--report", str(report))
    assert status == 0, out
    assert "unsupported" in out and "only (N, C) logits" in out
    results = read_report(str(report))["results"]
    unsupported = {r["case"].split(" [")[0] for r in results if r["status"] == "unsupported"}
    checked = {r["case"].split(" [")[0] for r in results if r["status"] == "pass"}
    assert all("index (N,C)" not in c or "d1" in c for c in unsupported)
    assert any("index (N,C)" in c for c in checked)
    status, out, _ = run_cli(*args, "--strict")
    assert status == 1


def test_a_declared_subset_passes_and_strict_or_require_fails_it(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    args = ("run", "--loss", "mse_loss", "--impl", "mse_loss=capability_impls:mse_float32_first_order",
            "--dtype", "float32,float16", "--save-failures", str(tmp_path), "--jobs", "1")
    status, out, _ = run_cli(*args)
    assert status == 0, out
    assert "declared unsupported: dtypes float16" in out and "declared unsupported: mode jvp" in out
    assert run_cli(*args, "--require", "hvp")[0] == 1
    assert run_cli(*args, "--strict")[0] == 1


def test_a_declaration_says_why_and_a_malformed_why_is_a_usage_error(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    base = ("run", "--loss", "mse_loss", "--dtype", "float32,float16", "--save-failures", str(tmp_path), "--jobs", "1")
    status, out, _ = run_cli(*base, "--impl", "mse_loss=capability_impls:mse_float32_with_a_reason")
    assert status == 0, out
    assert "declared unsupported: dtypes float16 (the half kernels are not written yet)" in " ".join(out.split())
    status, out, err = run_cli(*base, "--impl", "mse_loss=capability_impls:mse_with_a_malformed_reason")
    assert status == 2 and "'why' must be a string" in out + err


def test_an_uninstalled_reference_library_is_unsupported_with_its_import_error(run_cli, tmp_path):
    try:
        import torchvision.ops  # noqa: F401
    except Exception:
        pass
    else:
        pytest.skip("torchvision imports here: the reference is available")
    status, out, _ = run_cli("run", "--loss", "sigmoid_focal_loss", "--dtype", "float32", "--save-failures",
                             str(tmp_path), "--jobs", "1")
    assert status == 0, out
    assert "torchvision.ops:sigmoid_focal_loss cannot be imported" in " ".join(out.split())


def test_supports_on_the_command_line_declares_the_same(run_cli, tmp_path):
    report = tmp_path / "report.jsonl"
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--dtype", "float32", "--supports", "shape_cases=matrix",
                             "--supports", "reduction=sum", "--save-failures", str(tmp_path), "--jobs", "1",
                             "--report", str(report))
    assert status == 0, out
    results = read_report(str(report))["results"]
    reasons = {r["message"] for r in results if r["status"] == "unsupported"}
    assert {"declared unsupported: shape_cases odd vector", "declared unsupported: reduction='mean'"} <= reasons
    checked = [r for r in results if r["status"] == "pass"]
    assert checked and all(r["case"].split(" ")[1] == "matrix" and "reduction='sum'" in r["case"] for r in checked)


def test_not_implemented_everywhere_does_not_pass(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=capability_impls:mse_not_implemented",
                             "--dtype", "float32", "--save-failures", str(tmp_path), "--jobs", "1")
    assert status == 1 and "nothing in this row was checked" in out


def test_not_implemented_for_hard_values_of_an_accepted_form_is_a_failure(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--impl",
                             "mse_loss=capability_impls:mse_dodges_large_inputs", "--dtype", "float32",
                             "--save-failures", str(tmp_path), "--jobs", "1")
    assert status == 1 and "a capability describes forms, never values" in out


def test_a_silent_zero_gradient_is_a_failure_not_unsupported(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--impl",
                             "mse_loss=capability_impls:mse_silent_zero_backward", "--dtype", "float32",
                             "--save-failures", str(tmp_path), "--jobs", "1")
    assert status == 1 and "FAIL" in out


@pytest.mark.parametrize("argv, problem", [
    (["run", "--seed", "-1"], "--seed"),
    (["run", "--timeout", "-5"], "--timeout"),
    (["run", "--timeout", "0"], "--timeout"),
    (["run", "--jobs", "0"], "--jobs"),
    (["run", "--require", "sideways"], "--require"),
    (["run", "--supports", "colour=red"], "--supports"),
    (["run", "--supports", "dtypes"], "--supports"),
    (["run", "--device", "tpu"], "device"),
])
def test_bad_run_arguments_get_one_line_and_exit_2(run_cli, argv, problem):
    status, _, err = run_cli(*argv)
    assert status == 2 and problem in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device")
def test_cuda_runs_in_workers_too(tmp_path):
    report = tmp_path / "report.jsonl"
    done = _run("run", "--loss", "mse_loss", "--device", "cuda", "--report", str(report), "--jobs", "1",
                "--save-failures", str(tmp_path))
    assert done.returncode == 0, done.stdout
    document = read_report(str(report))
    assert document["settings"]["device"] == "cuda" and document["results"]


def test_in_process_mode_says_so(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(TESTS)
    status, out, _ = run_cli("run", "--loss", "mse_loss", "--impl", "mse_loss=wrong_impls:mse_half_gradient",
                             "--dtype", "float32", "--in-process", "--fail-fast", "--save-failures", str(tmp_path))
    assert status == 1
    assert "in-process mode (debugging only)" in out


def test_progress_shows_on_a_terminal_only():
    import io

    from losscheck.conformance.progress import RunProgress
    from losscheck.conformance.results import QuantityResult, Result, Status
    from rich.console import Console

    rows = [QuantityResult("mse_loss", "float32", "#0", "value", Status.FAIL)]
    shown = io.StringIO()
    with RunProgress(Console(file=shown, force_terminal=True, width=80), [object(), object()]) as progress:
        progress.unit(Result(results=rows))
        progress.progress.refresh()
    assert "mse_loss float32: 1 checks, 1 failing" in shown.getvalue() and "1/2" in shown.getvalue()
    quiet = io.StringIO()
    with RunProgress(Console(file=quiet, force_terminal=False), [object()]) as progress:
        progress.unit(Result(results=rows))
    assert quiet.getvalue() == ""
