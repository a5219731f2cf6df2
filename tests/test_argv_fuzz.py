"""Every malformed command line gets exit 2 and one line naming the problem: argv fuzzed with Hypothesis.

The run itself is replaced by an empty result, so only argument handling is exercised: whatever argv
Hypothesis builds from the real flags and hostile values, ``main`` returns 0 (a valid command) or 2
with exactly one line on stderr, and never raises.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from losscheck import cli
from losscheck.conformance.results import Result

VALUES = st.sampled_from(["", "-1", "0", "-5", "1e3", "nan", "inf", "2", "float32", "float8", "mse_loss", "kl",
                          "cuda", "cuda:x", "tpu", "a=b", "=", "x=", "mse_loss=", "mse_loss=os:path",
                          "mse_loss=no.such:mod", "dtypes=float32", "modes=warp", "reduction=sum", "shape_cases=",
                          "value,hvp", "sideways", "/nonexistent/dir/report.jsonl", "margin=0.5", "true", "maybe",
                          "\x00", "é", "--loss", "99999999999999999999"])
FLAGS = st.sampled_from(["--loss", "--impl", "--option", "--dtype", "--device", "--seed", "--timeout", "--jobs",
                         "--compile-mode", "--compile-dynamic", "--supports", "--require", "--report", "--junit",
                         "--save-failures"])
SWITCHES = st.sampled_from(["--compile", "--strict", "--fail-fast", "--in-process", "--bogus", "-x"])
ARGUMENT = st.one_of(st.tuples(FLAGS, VALUES).map(list), SWITCHES.map(lambda s: [s]), st.text(max_size=8).map(
    lambda t: [t]))


@pytest.fixture
def no_run(monkeypatch, tmp_path):
    """Replace the run with an empty result, and work in a scratch directory: a fuzzed ``--report x=``
    or ``--junit a=b`` writes a file named after the value, which must not land in the repository."""
    monkeypatch.setattr(cli, "run_units", lambda *args, **kwargs: Result())
    monkeypatch.chdir(tmp_path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(command="run", parts=[["--report", "\x00"]])  # open() raised ValueError: a traceback
@given(command=st.sampled_from(["run", "repro", "list", "nonsense", ""]), parts=st.lists(ARGUMENT, max_size=5))
def test_any_argv_exits_0_or_2_with_one_line(no_run, capsys, tmp_path_factory, command, parts):
    argv = [command, *(a for part in parts for a in part)]
    if "--save-failures" not in argv:
        argv += ["--save-failures", str(tmp_path_factory.mktemp("failures"))] if command == "run" else []
    status = cli.main(argv)
    _, err = capsys.readouterr()
    assert status in (0, 2), (argv, status, err)
    if status == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("losscheck: error:"), (argv, err)
        assert "Traceback" not in err
