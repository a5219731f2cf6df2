"""``losscheck run --cache-dir PATH`` and ``--no-cache``: bad values are usage errors, the choice reaches the
``--jobs`` judge processes, and runs sharing a cache (one after another, or at once) keep their verdicts."""

import os
import subprocess
import sys

import pytest
from losscheck.conformance import oracle
from losscheck.derivations import disk_cache


def _entries(root) -> list:
    return [p for p in (root / "references").rglob("*") if p.is_file()] if (root / "references").exists() else []


@pytest.mark.parametrize("flags, message", [
    (["--cache-dir", ""], "--cache-dir needs a directory"),
    (["--cache-dir", "{file}"], "is not a directory"),
    (["--cache-dir", "{file}/below"], "cannot create it"),
    (["--cache-dir", "{tmp}/c", "--no-cache"], "contradict"),
])
def test_a_bad_cache_flag_is_one_line_and_exit_2(run_cli, tmp_path, flags, message):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    flags = [f.format(file=blocker, tmp=tmp_path) for f in flags]
    status, out, err = run_cli("run", "--loss", "mse_loss", "--dtype", "float32", *flags)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def _count_computing(monkeypatch) -> list:
    """Every reference the oracle computes (either pass) appends to the returned list."""
    calls: list = []
    for name in ("_exact_reference", "float64_reference"):
        real = getattr(oracle, name)
        monkeypatch.setattr(oracle, name, lambda *a, _real=real, **k: calls.append(1) or _real(*a, **k))
    return calls


def test_cache_dir_holds_the_references_a_second_run_reads(run_cli, monkeypatch, tmp_path):
    root = tmp_path / "chosen"
    args = ("run", "--loss", "mse_loss", "--dtype", "float32,float64", "--jobs", "1")
    first = run_cli(*args, "--cache-dir", str(root))
    assert first[0] == 0 and _entries(root)
    computed = _count_computing(monkeypatch)
    assert run_cli(*args, "--cache-dir", str(root))[0] == 0
    assert computed == []
    assert run_cli(*args, "--no-cache")[0] == 0
    assert computed  # --no-cache computes afresh


def test_no_cache_writes_nothing(run_cli, tmp_path):
    """The default cache is this test's own empty folder: the session's shared one is written by the other
    xdist worker at the same time, so a before/after listing of it raced (CI failed on that once). (No
    ``monkeypatch`` fixture: asking for it runs a test uncached, see conftest.)"""
    args = ("run", "--loss", "l1_loss", "--dtype", "bfloat16", "--seed", "7")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(disk_cache.ENV_DIRECTORY, str(tmp_path / "written"))
        assert run_cli(*args)[0] == 0
        assert _entries(tmp_path / "written")  # without the flag the run writes there: the check below can fail
        patch.setenv(disk_cache.ENV_DIRECTORY, str(tmp_path / "untouched"))
        assert run_cli(*args, "--no-cache")[0] == 0
        assert _entries(tmp_path / "untouched") == []


@pytest.mark.parametrize("flag", ["--cache-dir", "--no-cache"])
def test_the_choice_reaches_the_judge_processes(run_cli, tmp_path, monkeypatch, flag):
    """With --jobs 2 the references are computed in two spawned judge processes: they write where the flag
    says (and nowhere with --no-cache), not where the environment points."""
    elsewhere = tmp_path / "environment"
    monkeypatch.setenv(disk_cache.ENV_DIRECTORY, str(elsewhere))
    chosen = tmp_path / "chosen"
    args = ["--cache-dir", str(chosen)] if flag == "--cache-dir" else ["--no-cache"]
    status, out, _err = run_cli("run", "--loss", "mse_loss", "--loss", "l1_loss", "--dtype", "float32",
                                "--seed", "3", "--jobs", "2", *args)
    assert status == 0, out
    assert not _entries(elsewhere)
    assert bool(_entries(chosen)) == (flag == "--cache-dir")


def test_concurrent_runs_on_one_cache_keep_their_verdicts(tmp_path):
    """Two `losscheck run` processes at once on an empty cache: both finish with the verdict of a run without
    a cache, and leave no half-written entry behind."""
    root = tmp_path / "shared"
    command = [sys.executable, "-m", "losscheck", "run", "--loss", "mse_loss", "--dtype", "float32,float16",
               "--impl", "mse_loss=wrong_impls:mse_half_gradient", "--jobs", "1", "--cache-dir", str(root)]
    env = {**os.environ, "PYTHONPATH": os.path.dirname(__file__)}
    runs = [subprocess.Popen([*command, "--save-failures", str(tmp_path / f"f{i}")], cwd=tmp_path, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    outputs = [run.communicate(timeout=900) for run in runs]
    assert [run.returncode for run in runs] == [1, 1], outputs
    assert all("grad input" in out and "FAIL" in out for out, _ in outputs)
    assert _entries(root) and not [p for p in root.rglob("*.tmp")]


def test_an_entry_written_by_older_code_is_never_read(tmp_path, monkeypatch):
    """A stale entry (other oracle or spec sources: another code hash) sits under another key: the current
    code computes its own reference instead of trusting it."""
    import mpmath
    from losscheck.conformance import oracle_cache
    from losscheck.conformance.cases import generate_cases
    from losscheck.conformance.oracle import Reference, exact_reference
    from losscheck.spec import get_spec

    store = oracle_cache.OracleCache(tmp_path / "cache")
    spec = get_spec("mse_loss")
    case = generate_cases(spec)[0]
    tensors, upstream = case.tensors("float64"), case.upstream("float64")
    fresh = exact_reference(spec, tensors, case.options, upstream, cache=False)
    with monkeypatch.context() as patch:
        patch.setattr(oracle_cache, "code_hash", lambda *sources: "an older version of the sources")
        stale_key = oracle_cache.reference_key(spec, tensors, case.options, upstream,
                                               (oracle.WORKING_DIGITS, oracle.CHECK_DIGITS), True)
    stale = Reference(fresh.shape, [mpmath.mpf(42)] * len(fresh.value), fresh.value_bounds, fresh.grads,
                      fresh.grad_bounds, fresh.unit_total)
    store.save(stale_key, stale.encode())
    got = exact_reference(spec, tensors, case.options, upstream, cache=store)
    assert [v._mpf_ for v in got.value] == [v._mpf_ for v in fresh.value]
    assert len([p for p in store.directory.rglob("*") if p.is_file()]) == 2  # the stale entry, and the current one
