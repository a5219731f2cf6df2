"""The compiled target's setup: how long a call may take by default."""

import pytest
from losscheck import cli
from losscheck.conformance.targets import COMPILE_TIMEOUT


class Planned(Exception):
    """Raised by the stand-in for the run: the settings were decided, nothing needs to run."""


@pytest.mark.parametrize("flags, seconds", [
    ((), 20.0),
    (("--compile",), float(COMPILE_TIMEOUT)),
    (("--compile-mode", "default"), float(COMPILE_TIMEOUT)),
    (("--compile-dynamic", "true"), float(COMPILE_TIMEOUT)),
    (("--compile", "--timeout", "7"), 7.0),
    (("--timeout", "7"), 7.0)])
def test_a_compiled_call_gets_time_to_compile_unless_told(run_cli, monkeypatch, flags, seconds):
    """A compiled call includes inductor's compile of each new graph (tens of seconds on a busy machine): 20 s
    killed healthy workers on every loss; an explicit --timeout still rules."""
    seen = []

    def run_units(units, settings, *args, **kwargs):
        seen.append(settings.timeout)
        raise Planned

    monkeypatch.setattr(cli, "run_units", run_units)
    with pytest.raises(Planned):
        run_cli("run", "--loss", "mse_loss", "--dtype", "float64", *flags)
    assert seen == [seconds]
    assert COMPILE_TIMEOUT > 20


def test_a_bad_timeout_is_still_a_usage_error(run_cli):
    assert run_cli("run", "--compile", "--timeout", "-5")[0] == 2
    assert run_cli("run", "--compile", "--timeout", "")[0] == 2
