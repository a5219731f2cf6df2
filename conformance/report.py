"""Presenting a Result: the summary table, the failure reproducers, the JSON Lines report.

The report (``run --report PATH``) is JSON Lines: a ``header`` line (settings, environment,
tolerance policy), one ``check`` line per judged check, ``spec_problem`` lines, then a ``summary``
line (ok, the rows, the unsupported and known-deviation lists). Lines are written and flushed as
units are judged, so a killed run keeps every result it had judged; at the end the file is
rewritten atomically in plan order, so it is the same for any ``--jobs``. ``read_report`` gives
the whole document back as one dict.
"""

from __future__ import annotations

import json
import math
import os
import platform
from collections import Counter
from dataclasses import asdict
from typing import Any

import torch
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .coverage import run_coverage
from .results import FAILING, QuantityResult, Result, Status, row_label, verdict
from .tolerance import describe_policy, policy_line

_STYLE = {"PASS": "green", "KNOWN": "yellow", "UNSUPPORTED": "dim", "FAIL": "bold red", "UNSTABLE": "bold red"}


def _number(value: float) -> str:
    """Three significant digits, the exponent without padding (1.26e7, 3.4e-5), so numbers stay narrow."""
    if math.isinf(value):
        return "inf"
    mantissa, _, exponent = f"{value:.3g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


SHORT_DTYPES = {"float64": "f64", "float32": "f32", "float16": "f16", "bfloat16": "bf16"}


def summary_table(result: Result) -> Table:
    """Row × dtype × direction: n (checks run), unsupported, worst ULPs, worst error/allowed, verdict.

    Fits 80 columns with loss names never broken (a target goes on a line of its own): dtypes are
    short (f32 = float32, bf16 = bfloat16) and the worst relative error is in the report, not here."""
    table = Table(title="losscheck conformance", title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True,
                  padding=(0, 0), show_edge=False)
    numeric = ("n", "unsup", "ulp", "err/\nallowed")
    for column in ("loss", "dtype", "dir", *numeric, "verdict"):
        table.add_column(column, justify="right" if column in numeric else "left",
                         no_wrap=column in ("loss", "dtype", "dir", "verdict"), overflow="fold")
    for (loss, target, dtype, direction), rows in result.groups().items():
        v = verdict(rows)
        unsupported = sum(r.status == Status.UNSUPPORTED for r in rows)
        label = loss if target == "pytorch" else f"{loss}\n[{target}]"
        table.add_row(label, SHORT_DTYPES.get(dtype, dtype), {"forward": "fwd", "backward": "bwd"}[direction],
                      str(len(rows)), str(unsupported or ""), _number(max(r.worst_ulps for r in rows)),
                      _number(max(r.worst_ratio for r in rows)), f"[{_STYLE[v]}]{v}[/]")
    return table


def unsupported_lines(result: Result) -> list[str]:
    """Per row, how many checks were unsupported and why (the distinct reasons, most frequent first)."""
    lines = []
    for (loss, target, dtype, direction), rows in result.groups().items():
        reasons = Counter(r.message for r in rows if r.status == Status.UNSUPPORTED)
        if reasons:
            shown = "; ".join(f"{reason} (×{count})" for reason, count in reasons.most_common(3))
            more = f"; and {len(reasons) - 3} more reasons" if len(reasons) > 3 else ""
            lines.append(f"{row_label(loss, target)} {dtype} {direction}: {sum(reasons.values())} unsupported: "
                         f"{shown}{more}")
    return lines


def print_result(result: Result, console: Console, saved: dict[int, str] | None = None) -> None:
    """The table, then per failing row its smallest case, shrunk, with a reproducer."""
    plain = {"markup": False, "highlight": False, "soft_wrap": True}
    for note in result.notes:
        console.print(f"[bold yellow]note[/] {escape(note)}")
    console.print(summary_table(result))
    saved = saved or {}
    groups = result.groups()
    for worst in result.smallest_failures():
        failing = [r for r in groups[(worst.loss, worst.target, worst.dtype, worst.direction)] if r.status in FAILING]
        console.rule(f"[bold red]FAIL[/] {escape(row_label(worst.loss, worst.target))} {worst.dtype} "
                     f"{worst.direction}: {len(failing)} failing checks")
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
    not_run = [r for r in result.results if r.status == Status.NOT_RUN]
    if not_run:
        console.print(f"[bold red]not run[/] {len(not_run)} cases: {escape(not_run[0].message)}")
    for problem in result.spec_problems:
        console.print(f"[bold red]spec problem[/] {escape(problem)}")
    for line in unsupported_lines(result):
        console.print(f"[dim]unsupported[/] {escape(line)}")
    for message in sorted({r.message for r in result.results if r.status == Status.KNOWN}):
        console.print(f"[yellow]allowed[/] {escape(message)}")
    console.print(f"tolerance policy: {policy_line()}", **plain)
    unsupported = sum(r.status == Status.UNSUPPORTED for r in result.results)
    tail = f" ({unsupported} unsupported checks listed above)" if unsupported else ""
    status = ("[green]all checks conform[/]" if result.ok else f"[bold red]{len(result.failures)} checks fail[/]")
    console.print(status + tail)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _line(document: dict[str, Any]) -> str:
    return json.dumps(_json_safe(document), allow_nan=False, default=str) + "\n"


def _check_line(r: QuantityResult) -> str:
    """One check; the reproducer only where there is something to reproduce (a failure, a known deviation):
    a passing 4097-row probe's would add megabytes, and its case name and the seed rebuild it."""
    fields = asdict(r)
    if r.status not in (*FAILING, Status.KNOWN):
        fields["reproducer"] = ""
    return _line({"kind": "check", **fields, "status": str(r.status)})


def _summary(result: Result) -> dict[str, Any]:
    groups = [
        {"loss": loss, "target": target, "dtype": dtype, "direction": direction, "checks": len(rows),
         "unsupported": sum(r.status == Status.UNSUPPORTED for r in rows), "verdict": verdict(rows),
         "worst_ulps": max(r.worst_ulps for r in rows), "worst_relative": max(r.worst_relative for r in rows),
         "worst_ratio": max(r.worst_ratio for r in rows)}
        for (loss, target, dtype, direction), rows in result.groups().items()
    ]
    return {"kind": "summary", "ok": result.ok, "groups": groups, "unsupported": unsupported_lines(result),
            "known": sorted({r.message for r in result.results if r.status == Status.KNOWN}),
            "notes": result.notes, "failures": len(result.failures), "coverage": run_coverage(result)}


def _header(settings: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "header", "format": "losscheck-report/2", "settings": settings,
            "environment": {"torch": torch.__version__, "python": platform.python_version()},
            "tolerance_policy": describe_policy()}


def report_document(result: Result, settings: dict[str, Any]) -> dict[str, Any]:
    """The whole report as one dict, as ``read_report`` gives it back (for the HTML report of a run)."""
    lines = [_header(settings), *(json.loads(_check_line(r)) for r in result.results),
             *({"kind": "spec_problem", "problem": p} for p in result.spec_problems), _summary(result)]
    return _gather(lines)


class ReportStream:
    """The JSON Lines report, streamed unit by unit, then rewritten in plan order."""

    def __init__(self, path: str, settings: dict[str, Any]):
        self.path = path
        self.header = _line(_header(settings))
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run
        self.file.write(self.header)
        self.file.flush()

    def unit(self, index: int, result: Result) -> None:
        for r in result.results:
            self.file.write(_check_line(r))
        for problem in result.spec_problems:
            self.file.write(_line({"kind": "spec_problem", "problem": problem}))
        self.file.flush()

    def finish(self, result: Result) -> None:
        self.file.close()
        lines = [self.header, *map(_check_line, result.results),
                 *(_line({"kind": "spec_problem", "problem": p}) for p in result.spec_problems),
                 _line(_summary(result))]
        temporary = f"{self.path}.tmp"
        with open(temporary, "w", encoding="utf-8") as out:
            out.writelines(lines)
        os.replace(temporary, self.path)


def read_report(path: str) -> dict[str, Any]:
    """A report (finished, or the stream of a killed run) as one document: header fields, ``results``,
    ``spec_problems``, and the summary's fields when the run finished (``ok`` is None otherwise)."""
    with open(path, encoding="utf-8") as lines:
        return _gather(json.loads(text) for text in lines if text.strip())


def _gather(lines: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"results": [], "spec_problems": [], "ok": None, "complete": False}
    for line in lines:
        kind = line.pop("kind", None)
        if kind == "check":
            document["results"].append(line)
        elif kind == "spec_problem":
            document["spec_problems"].append(line["problem"])
        elif kind in ("header", "summary"):
            document.update(line)
            document["complete"] = document["complete"] or kind == "summary"
    return document
