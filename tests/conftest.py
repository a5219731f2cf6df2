import inspect
import os
import warnings

import pytest
from losscheck.cli import main
from losscheck.derivations import disk_cache


@pytest.fixture(scope="session", autouse=True)
def shared_oracle_cache(tmp_path_factory):
    """One cache root (oracle references, generated evaluators) for the session, shared by pytest-xdist's
    workers: never the repository, never the user's home. Tests that ask for the same references (PyTorch
    and the wrong kernels of a loss, at one seed) compute them once."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' base folders share this parent
    directory = root / "losscheck-cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(disk_cache.ENV_DIRECTORY, str(directory))
        patch.delenv(disk_cache.ENV_DISABLE, raising=False)
        yield directory


@pytest.fixture(autouse=True)
def _oracle_cache_per_test(request):
    """A test's ``--no-cache``/``--cache-dir`` does not outlive it; a test that patches code at run time
    (asks for ``monkeypatch``) runs uncached: the cache keys hash the source files, not patched objects."""
    saved = disk_cache._configured
    if "monkeypatch" in inspect.signature(request.function).parameters:
        disk_cache.configure(None)
    yield
    disk_cache._configured = saved


@pytest.fixture
def run_cli(capsys, tmp_path):
    """Run the CLI in-process; return (exit status, stdout, stderr). ``run`` saves its failures under the
    test's tmp_path unless the test names a folder (never ./losscheck-failures in the repository)."""

    def run(*args: str) -> tuple[int, str, str]:
        if args[:1] == ("run",) and "--save-failures" not in args:
            args = (*args, "--save-failures", str(tmp_path / "losscheck-failures"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run
