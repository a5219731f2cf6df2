"""The ledger entry half-nll_loss-ignored-rows-total-accumulates-in-input-dtype, held against exact sums.

PyTorch's CPU nll_loss in float16/bfloat16 adds the kept rows one at a time in the input dtype when some
rows are ignored, so the total stagnates. Each witness is checked against the exact rational sum; a control
without ignored rows (and one in float32) stays accurate. If PyTorch changes, these tests fail and the
entry must be revisited.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
import torch.nn.functional as F
from losscheck.conformance.deviations import known_deviations

ENTRY = "half-nll_loss-ignored-rows-total-accumulates-in-input-dtype"
ROWS = [([-2.0, -1.0, -0.5], 1), ([-8.0, -0.5, -2.0], 0), ([0.0, -1 / 64, -4.0], 1), ([-2.0, -2.0, -0.5], 2)]


def _batch(rows, n, dtype):
    x = torch.tensor([rows[i % len(rows)][0] for i in range(n)], dtype=dtype)
    t = torch.tensor([rows[i % len(rows)][1] for i in range(n)])
    return x, t


def _exact(x, t, reduction, ignore_index):
    kept = [i for i in range(len(t)) if int(t[i]) != ignore_index]
    total = -sum(Fraction(float(x[i, int(t[i])])) for i in kept)
    return total / len(kept) if reduction == "mean" else total


def _witnesses():
    constant = [([-4.0, -4.0, -4.0], 0), ([-4.0, -4.0, -4.0], 1)]
    return [(ROWS, torch.bfloat16, "sum"), (ROWS, torch.float16, "sum"), (ROWS, torch.bfloat16, "mean"),
            (constant, torch.bfloat16, "sum"), (constant, torch.float16, "sum")]


@pytest.mark.parametrize("rows, dtype, reduction", _witnesses())
def test_ignored_rows_make_the_half_total_stagnate_within_the_entrys_envelope(rows, dtype, reduction):
    x, t = _batch(rows, 4097, dtype)
    got = Fraction(float(F.nll_loss(x, t, ignore_index=1, reduction=reduction)))
    exact = _exact(x, t, reduction, 1)
    relative = abs(got - exact) / abs(exact)
    # far outside what a float32-accumulated total rounded once to the dtype could give (u = 2^-8 or 2^-11)
    assert relative > 2 * (2.0**-8 if dtype == torch.bfloat16 else 2.0**-11) or got < exact - 3
    entry = next(e for e in known_deviations() if e.id == ENTRY)
    assert entry.relative_error_below is not None and relative < entry.relative_error_below


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_without_ignored_rows_or_in_float32_the_total_is_accurate(dtype):
    x, t = _batch(ROWS, 4097, dtype)
    for ignore_index in (-100, 1) if dtype == torch.float32 else (-100,):
        got = Fraction(float(F.nll_loss(x, t, ignore_index=ignore_index, reduction="sum")))
        exact = _exact(x, t, "sum", ignore_index)
        ulp = Fraction(2) ** (int(abs(exact)).bit_length() - (8 if dtype == torch.bfloat16 else 11))
        if dtype == torch.float32:
            ulp = Fraction(2) ** (int(abs(exact)).bit_length() - 24)
        assert abs(got - exact) <= 2 * ulp


def test_the_gate_reads_the_seed_that_found_it_as_known(run_cli, tmp_path):
    status, out, _ = run_cli("run", "--loss", "nll_loss", "--dtype", "bfloat16", "--seed", "3", "--jobs", "1",
                             "--save-failures", str(tmp_path))
    assert status == 0, out
    assert ENTRY in out
