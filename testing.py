"""For a kernel repository's own tests: ``assert_conforms`` raises with the worst point and its reproducer.

    from losscheck.testing import assert_conforms

    def test_my_cross_entropy():
        assert_conforms("cross_entropy", "mykernels.losses:cross_entropy", dtypes=["float32", "bfloat16"])

The implementation is named as ``MODULE:ATTR`` and runs in worker processes, like ``losscheck run``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .conformance.api import check
from .conformance.results import Result, row_label
from .conformance.tolerance import DTYPES


def failure_message(result: Result) -> str:
    """Each failing row's smallest failure: where, oracle against implementation, and the reproducer."""
    parts = []
    for worst in result.smallest_failures():
        parts.append(f"{row_label(worst.loss, worst.target)} {worst.dtype} {worst.direction}: {worst.quantity} "
                     f"{worst.status}: {worst.message}\n  case {worst.case}\n"
                     f"  oracle {worst.shrunk_expected or worst.expected}  implementation "
                     f"{worst.shrunk_got or worst.got}\n{worst.shrunk_reproducer or worst.reproducer}")
    not_run = [r for r in result.failures if str(r.status) == "not run"]
    if not_run:
        parts.append(f"{len(not_run)} cases not run: {not_run[0].message}")
    parts.extend(f"spec problem: {p}" for p in result.spec_problems)
    return "\n\n".join(parts)


def assert_conforms(loss: str, impl: str | None = None, dtypes: Sequence[str] = DTYPES, **options: Any) -> Result:
    """Check ``impl`` for ``loss`` (keywords as ``losscheck.check``); AssertionError naming each failure."""
    result = check(loss, impl, dtypes=dtypes, **options)
    if not result.ok:
        raise AssertionError(f"{impl or 'PyTorch'} does not conform to {loss}:\n{failure_message(result)}")
    return result
