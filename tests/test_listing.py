"""`losscheck list` and `losscheck show NAME` at 80 columns: every line fits, nothing is lost to wrapping."""

from __future__ import annotations

import re

import pytest
from losscheck.docs_site.build import every_known_deviation
from losscheck.lean_bridge.registry import linked_declarations
from losscheck.spec import all_specs


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def narrow(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")


def test_list_fits_80_columns_and_keeps_every_formula_whole(run_cli, narrow):
    status, out, _ = run_cli("list")
    assert status == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    lines = out.splitlines()
    flat = _words(out)
    for name, spec in all_specs().items():
        assert name in lines  # a block per spec, headed by its whole name
        assert _words(spec.formula) in flat


def test_show_gives_one_spec_in_full(run_cli, narrow):
    spec = all_specs()["cross_entropy"]
    status, out, _ = run_cli("show", "cross_entropy")
    assert status == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    flat = _words(out)
    for option in spec.options:
        assert re.search(rf"\b{option.name} = {re.escape(repr(option.default))}", flat)
    for convention in spec.conventions:
        assert _words(f"{convention.name}: {convention.text}") in flat
    for name in linked_declarations("cross_entropy"):
        assert name in flat
    ids = [d.id for d in every_known_deviation() if d.loss == "cross_entropy"]
    assert ids and all(i in flat for i in ids)


def test_show_unknown_loss_is_exit_2(run_cli):
    status, _, err = run_cli("show", "no_such_loss")
    assert status == 2 and "unknown loss 'no_such_loss'" in err
