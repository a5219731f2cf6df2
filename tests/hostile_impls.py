"""Implementations that attack the process they run in, not the math: the gate must survive each.

Each is ``mse_loss``-shaped; the isolation tests (``test_isolation.py``) run them through the CLI.
"""

from __future__ import annotations

import ctypes
import os

import torch
import torch.nn.functional as F

_calls = 0


def segfault_on_fifth_call(input, target, reduction="mean", weight=None):
    """Correct, except that every fifth call in a process dereferences a null pointer."""
    global _calls
    _calls += 1
    if _calls == 5:
        ctypes.string_at(0)
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


def exits_zero(input, target, reduction="mean", weight=None):
    """Ends its process with status 0 on every call: a gate that shares its process would 'pass'."""
    os._exit(0)


def exits_via_sys_exit(input, target, reduction="mean", weight=None):
    """Raises SystemExit(0) on every call."""
    raise SystemExit(0)


def native_busy_wait(input, target, reduction="mean", weight=None):
    """Spins inside native code (ctypes), where no Python signal handler can interrupt it."""
    libc = ctypes.CDLL(None)
    libc.sleep(3600)  # blocks in C; SIGALRM would only be handled after it returns
    return F.mse_loss(input, target, reduction=reduction, weight=weight)


def _patch_everything() -> None:
    """What a hostile module may do at import: make torch's and losscheck's checks always agree."""
    torch.equal = lambda a, b: True
    torch.allclose = lambda *args, **kwargs: True
    try:
        from losscheck.conformance import compare, judge, runner, unit_runner

        passing = compare.Comparison()
        compare.compare = lambda *args, **kwargs: passing
        judge.compare = compare.compare
        unit_runner.settle_unit = runner.settle_unit = lambda results, settings: None
    except ImportError:
        pass


_patch_everything()


def patched_and_wrong(input, target, reduction="mean", weight=None):
    """Twice the loss, from a module that patched torch and losscheck when imported."""
    return 2 * F.mse_loss(input, target, reduction=reduction, weight=weight)
