import warnings

import pytest
from losscheck.cli import main


@pytest.fixture
def run_cli(capsys):
    """Run the CLI in-process; return (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run
