"""Presenting a Result: the summary table, the failure reproducers, the JSON report."""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .runner import FAILING, Result, verdict
from .tolerance import describe_policy, policy_line

_STYLE = {"PASS": "green", "KNOWN": "yellow", "UNSUPPORTED": "dim", "FAIL": "bold red", "UNSTABLE": "bold red"}


def _number(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.3g}"


def summary_table(result: Result) -> Table:
    """Loss × dtype × direction: checks, worst ULPs, worst relative error, worst error/allowed, verdict."""
    table = Table(title="losscheck conformance", title_justify="left")
    numeric = ("checks", "worst ulp", "rel err", "err/allowed")
    for column in ("loss", "dtype", "direction", *numeric, "verdict"):
        table.add_column(column, justify="right" if column in numeric else "left")
    for (loss, dtype, direction), rows in result.groups().items():
        v = verdict(rows)
        table.add_row(loss, dtype, direction, str(len(rows)), _number(max(r.worst_ulps for r in rows)),
                      _number(max(r.worst_relative for r in rows)), _number(max(r.worst_ratio for r in rows)),
                      f"[{_STYLE[v]}]{v}[/]")
    return table


def print_result(result: Result, console: Console, saved: dict[int, str] | None = None) -> None:
    """The table, then per failing (loss, dtype, direction) its smallest case, shrunk, with a reproducer."""
    console.print(summary_table(result))
    saved = saved or {}
    for worst in result.smallest_failures():
        failing = [r for r in result.groups()[(worst.loss, worst.dtype, worst.direction)] if r.status in FAILING]
        console.rule(f"[bold red]FAIL[/] {worst.loss} {worst.dtype} {worst.direction}: {len(failing)} failing checks")
        plain = {"markup": False, "highlight": False, "soft_wrap": True}
        console.print(f"case     {worst.case}", **plain)
        console.print(f"quantity {worst.quantity}  ({worst.status}: {worst.message})", **plain)
        if worst.expected or worst.got:
            console.print(f"element  {worst.worst_index}: oracle {worst.expected}  implementation {worst.got}"
                          f"  ({_number(worst.worst_ulps)} ulp, {_number(worst.worst_ratio)}x allowed)", **plain)
        if worst.shrunk_case:
            console.print(f"shrunk   {worst.shrunk_case}: oracle {worst.shrunk_expected}  implementation "
                          f"{worst.shrunk_got}", **plain)
        console.print("reproducer:", **plain)
        console.print(worst.shrunk_reproducer or worst.reproducer, **plain)
        if id(worst) in saved:
            console.print(f"saved    {saved[id(worst)]}  (replay: losscheck repro {saved[id(worst)]})", **plain)
    for problem in result.spec_problems:
        console.print(f"[bold red]spec problem[/] {escape(problem)}")
    known = sorted({r.message for r in result.results if r.status == "known"})
    for message in known:
        console.print(f"[yellow]allowed[/] {escape(message)}")
    console.print(f"tolerance policy: {policy_line()}", markup=False, highlight=False, soft_wrap=True)
    status = "[green]all checks conform[/]" if result.ok else f"[bold red]{len(result.failures)} checks fail[/]"
    console.print(status)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def report_json(result: Result, settings: dict[str, Any]) -> str:
    """Everything, as strict JSON (non-finite numbers as strings)."""
    groups = [
        {"loss": loss, "dtype": dtype, "direction": direction, "checks": len(rows), "verdict": verdict(rows),
         "worst_ulps": max(r.worst_ulps for r in rows), "worst_relative": max(r.worst_relative for r in rows),
         "worst_ratio": max(r.worst_ratio for r in rows)}
        for (loss, dtype, direction), rows in result.groups().items()
    ]
    document = {
        "ok": result.ok,
        "settings": settings,
        "environment": {"torch": torch.__version__, "python": platform.python_version()},
        "tolerance_policy": describe_policy(),
        "groups": groups,
        "spec_problems": result.spec_problems,
        "results": [asdict(r) for r in result.results],
    }
    return json.dumps(_json_safe(document), indent=1, allow_nan=False, default=str)
