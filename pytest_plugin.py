"""The pytest plugin (entry point ``pytest11``): a test item per (loss, dtype, direction) of a kernel repo's losses.

A kernel repository names its implementations in its pytest configuration::

    [tool.pytest.ini_options]
    losscheck = ["cross_entropy=mykernels.losses:cross_entropy", "mse_loss=mykernels.losses:mse"]
    losscheck_dtypes = "float32,bfloat16"

or on the command line (``--losscheck cross_entropy=mykernels.losses:cross_entropy``). Each named loss is
checked once (in worker processes, as ``losscheck run`` does), and each of its rows becomes one test
whose failure message is that row's worst point and its reproducer; an all-unsupported row is skipped.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conformance.implementations import parse_impl
from .conformance.results import Result, verdict
from .conformance.tolerance import DTYPES

DIRECTIONS = ("forward", "backward")


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("losscheck")
    group.addoption("--losscheck", action="append", default=[], metavar="NAME=MODULE:ATTR",
                    help="check this implementation of a loss (repeatable)")
    parser.addini("losscheck", type="linelist", help="implementations to check, NAME=MODULE:ATTR", default=[])
    parser.addini("losscheck_dtypes", help="comma-separated dtypes (default: all four)", default="")


class LosscheckItem(pytest.Item):
    """One row: ``loss dtype direction`` of one implementation."""

    def __init__(self, *, loss: str, impl: str, dtype: str, direction: str, dtypes: tuple[str, ...], **kwargs: Any):
        super().__init__(**kwargs)
        self.loss, self.impl, self.dtype, self.direction, self.dtypes = loss, impl, dtype, direction, dtypes

    def _result(self) -> Result:
        cache = self.config.stash.setdefault(_RESULTS, {})
        key = (self.loss, self.impl, self.dtypes)
        if key not in cache:
            from .conformance.api import check

            cache[key] = check(self.loss, self.impl, dtypes=list(self.dtypes))
        return cache[key]

    def runtest(self) -> None:
        from .testing import failure_message

        result = self._result()
        rows = [r for r in result.results if r.dtype == self.dtype and r.direction == self.direction]
        if result.spec_problems:
            raise AssertionError("\n".join(result.spec_problems))
        if not rows:
            pytest.skip("no check in this row")
        outcome = verdict(rows)
        if outcome == "UNSUPPORTED":
            pytest.skip(f"unsupported: {rows[0].message}")
        if outcome in ("FAIL", "UNSTABLE"):
            row = Result(results=rows, cases=result.cases)
            raise AssertionError(failure_message(row))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, AssertionError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[str, int, str]:
        return "losscheck", 0, self.name


_RESULTS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(session: Any, config: Any, items: list) -> None:
    named = list(config.getini("losscheck")) + list(config.getoption("losscheck"))
    if not named:
        return
    dtypes = tuple(d.strip() for d in config.getini("losscheck_dtypes").split(",") if d.strip()) or DTYPES
    for text in named:
        loss, module, attr = parse_impl(text)
        impl = f"{module}:{attr}"
        for dtype in dtypes:
            for direction in DIRECTIONS:
                items.append(LosscheckItem.from_parent(session, name=f"losscheck[{loss}-{impl}-{dtype}-{direction}]",
                                                       loss=loss, impl=impl, dtype=dtype, direction=direction,
                                                       dtypes=dtypes))
