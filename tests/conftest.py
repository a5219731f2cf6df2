import inspect
import os
import warnings

import mpmath
import pytest
from losscheck.cli import main
from losscheck.derivations import disk_cache

# The full tier: tests the edit loop (`python -m pytest -q`) skips and CI (`--full`) runs, each with why the
# default tier does not lose a class of bug by skipping it. Keyed "file::test function" (every parameter).
FULL_TIER = {
    "test_gradients.py::test_finite_differences_and_adjoint_identity_confirm_every_variant":
        "every variant and reduction at seed 5; the default tier's runs (PyTorch's passes, the wrong kernels, "
        "the mutants) verify every variant of the grid the same way (check_loss), and "
        "test_verify_gradients_catches_a_wrong_derivative holds that check",
    "test_gradients.py::test_structured_gradients_equal_the_expanded_form":
        "a third check of the symbolic gradients, after finite differences and the adjoint identity",
    "test_oracle.py::test_reference_is_stable_under_a_precision_increase":
        "re-evaluates every spec at 100/120 digits; every reference the default tier computes is confirmed "
        "at 50/70 digits, and test_too_little_working_precision_is_reported_unstable holds that check",
    "test_gate.py::test_a_user_distance_given_as_module_attr_is_held_to_its_own_math":
        "a user's Chebyshev distance through --option; the default tier runs the function-valued option "
        "path with the grid's Manhattan distance (PyTorch and the first wrong kernel of the loss)",
}
WRONG_KERNELS = "test_wrong_impls.py::test_wrong_implementation_is_flagged"  # the first one of each loss stays


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true", default=False,
                     help="run the full tier too (what CI runs): every wrong kernel and the slow cross-checks")


def pytest_configure(config):
    config.addinivalue_line("markers", "full_tier: runs only with --full (see FULL_TIER in tests/conftest.py)")


def pytest_collection_modifyitems(config, items):
    """Mark the full tier (FULL_TIER, and every test marked ``slow``); without --full, deselect it. The default
    tier keeps the first wrong kernel of every loss and every generic bug class (tests/test_mutants.py)."""
    losses_seen: set[str] = set()
    full = []
    for item in items:
        name = f"{item.path.name}::{getattr(item, 'originalname', item.name)}"
        if name == WRONG_KERNELS:
            loss = item.callspec.params["loss"]
            if loss not in losses_seen:
                losses_seen.add(loss)
                continue
        elif name not in FULL_TIER and item.get_closest_marker("slow") is None:
            continue
        item.add_marker(pytest.mark.full_tier)
        full.append(item)
    if not config.getoption("--full") and full:
        skipped = {id(item) for item in full}
        config.hook.pytest_deselected(items=full)
        items[:] = [item for item in items if id(item) not in skipped]


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


@pytest.fixture(autouse=True)
def _mpmath_precision_is_left_as_found():
    """A test that sets mpmath's global precision and leaves it changed alters the tests after it in the
    same worker (it made report strings depend on test order once): fail the test that leaks it."""
    before = mpmath.mp.prec
    yield
    leaked, mpmath.mp.prec = mpmath.mp.prec, before
    assert leaked == before, f"the test left mpmath.mp.prec at {leaked} (was {before}); use mpmath.workprec"


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
