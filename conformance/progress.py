"""Progress of a run for the person waiting on it: Rich's progress bar, only on a terminal.

One step per (loss, target, dtype) unit judged; the line shows the last unit, the checks judged and
the failures so far. When output is not a terminal (CI logs, pipes, tests) it prints nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .results import FAILING, Result, row_label


class RunProgress:
    def __init__(self, console: Console, units: Sequence[Any]):
        self.enabled = console.is_terminal
        self.checks = self.failures = 0
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(bar_width=20), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.task = self.progress.add_task("starting", total=len(units)) if self.enabled else None

    def __enter__(self) -> RunProgress:
        if self.enabled:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self.progress.stop()

    def unit(self, result: Result) -> None:
        """A unit (or a loss's verification) was judged."""
        if not self.enabled or not result.results:
            return
        self.checks += len(result.results)
        self.failures += sum(r.status in FAILING for r in result.results)
        last = result.results[-1]
        units = len({(r.loss, r.target, r.dtype) for r in result.results})  # a task may hold a whole loss
        self.progress.update(self.task, advance=units, description=(
            f"{row_label(last.loss, last.target)} {last.dtype}: {self.checks} checks, {self.failures} failing"))
