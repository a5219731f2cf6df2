"""The audit report as one self-contained HTML file: tables, inline SVG plots, worst points, policy.

``load_report`` reads a saved report, either one JSON document or JSON Lines (a ``header`` line,
one ``check`` line per result, a ``summary`` line), into the document shape ``report_json``
writes: ``settings``, ``tolerance_policy``, ``groups``, ``results`` (and whatever else is there).
``write_html`` renders such a document. Nothing here imports the runner: statuses, targets and
directions are read from the data, and a status it has never seen is shown like any other.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from . import report_plots

PASSING = ("pass",)
WORST_SHOWN = 3
REPRODUCER_SHOWN = 3000  # characters of a reproducer shown; a batch of 4105 elements would take 100 kB
FOLD_AFTER = 8  # a status list longer than this starts folded


class ReportError(ValueError):
    """A report file that cannot be read (one line, naming the problem)."""


# ----------------------------------------------------------------- reading ---


def _from_lines(lines: Iterable[tuple[int, str]], path: str) -> dict[str, Any]:
    document: dict[str, Any] = {"results": []}
    for number, line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ReportError(f"{path}:{number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ReportError(f"{path}:{number}: expected a JSON object per line")
        kind = record.pop("kind", "check")
        if kind == "check":
            document["results"].append(record.get("result", record))
        elif kind == "spec_problem":
            document.setdefault("spec_problems", []).append(record.get("problem", record))
        elif kind in ("header", "summary"):
            document.update(record)
            document["complete"] = document.get("complete", False) or kind == "summary"
        else:
            document.setdefault("other_lines", []).append({"kind": kind, **record})
    return document


def load_report(path: str | Path) -> dict[str, Any]:
    """The report document at ``path`` (a JSON document or JSON Lines); ReportError if unreadable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ReportError(f"cannot read report {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not a text file") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = _from_lines(enumerate(text.splitlines(), 1), str(path))
    if isinstance(document, dict) and "kind" in document:  # JSON Lines of one line (a run that stopped early)
        document = [document]
    if isinstance(document, list):  # JSON Lines records gathered into one array
        document = _from_lines(((k, json.dumps(r)) for k, r in enumerate(document, 1)), str(path))
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise ReportError(f"{path}: not a losscheck report (no results)")
    if not all(isinstance(r, dict) for r in document["results"]):
        raise ReportError(f"{path}: a result is not a JSON object")
    return document


# ----------------------------------------------------------------- numbers ---


def number(value: Any) -> float:
    """A report number (non-finite ones are strings in strict JSON) as a float; NaN if missing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _show(value: Any) -> str:
    v = number(value)
    if math.isnan(v):
        return "-" if value in (None, "") else str(value)
    return "inf" if math.isinf(v) else f"{v:.3g}"


def direction(result: Mapping[str, Any]) -> str:
    """The result's own ``direction``, else backward for gradients and HVPs, forward otherwise."""
    if result.get("direction"):
        return str(result["direction"])
    quantity = str(result.get("quantity", ""))
    return "backward" if quantity.startswith(("grad", "hvp")) else "forward"


def regime(case: str) -> str:
    """The regime that drew a case's inputs: the first word after its options (``#0 matrix [..] typical +weight``)."""
    words = case.rsplit("]", 1)[-1].split()
    return words[0] if words else "case"


def measured(result: Mapping[str, Any]) -> bool:
    """Did the check measure an error at some element? (A crash, an unsupported call or a check with no
    numbers reports element −1, or no ULPs.)"""
    ulps = number(result.get("worst_ulps"))
    return not math.isnan(ulps) and ulps >= 0 and number(result.get("worst_index", 0)) != -1


GroupKey = tuple[str, str, str, str]  # loss, dtype, direction, target ("" when the report names none)


def group_results(results: Sequence[Mapping[str, Any]]) -> dict[GroupKey, list[Mapping[str, Any]]]:
    groups: dict[GroupKey, list[Mapping[str, Any]]] = {}
    for r in results:
        key = (str(r.get("loss", "?")), str(r.get("dtype", "?")), direction(r), str(r.get("target") or ""))
        groups.setdefault(key, []).append(r)
    return groups


QUIET = ("pass", "known", "unsupported", "not run")
"""Statuses that do not fail a group; any other status, named here or not, does."""


def _verdict(rows: Sequence[Mapping[str, Any]]) -> str:
    """The group's verdict: a failing status (fail, error, unstable, then any unknown one) beats known, known
    beats pass, and unsupported or not run is the verdict only when no check of the group ran."""
    statuses = {str(r.get("status", "?")) for r in rows}
    order = ("fail", "error", "unstable")
    failing = sorted(statuses - set(QUIET), key=lambda s: (order.index(s) if s in order else len(order), s))
    for status in (*failing, "known", "pass", "unsupported", "not run"):
        if status in statuses:
            return status.upper()
    return "-"


# ------------------------------------------------------------------- HTML ---

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; padding: 0 1rem; color: #1b1b1b; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .88rem; }
th, td { border: 1px solid #ccc; padding: .2rem .45rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .5rem; white-space: pre-wrap; word-break: break-all; font-size: .8rem; }
h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
.status { font-weight: bold; } .figure svg { max-width: 100%; height: auto; }
""".strip()


def _status_html(status: str) -> str:
    return f'<span class="status" style="color:{report_plots.colour(status.lower())}">{escape(status)}</span>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers) if any(headers) else ""
    body = "".join("<tr>" + "".join(f'<td{" class=n" if k in numeric else ""}>{cell}</td>'
                                    for k, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def _mapping_html(value: Any) -> str:
    """Nested settings or policy data as nested tables."""
    if isinstance(value, Mapping):
        return _table(("", ""), ((escape(str(k)), _mapping_html(v)) for k, v in value.items()))
    if isinstance(value, list):
        return escape(", ".join(map(str, value))) if all(not isinstance(v, (dict, list)) for v in value) \
            else "".join(_mapping_html(v) for v in value)
    return escape(str(value))


def _anchor(key: GroupKey) -> str:
    return "g-" + "-".join(part.replace(" ", "_").replace(":", "_") for part in key if part)


def _largest(results: Sequence[Mapping[str, Any]], field: str) -> float:
    """The largest value of ``field`` over ``results``, NaN ignored (NaN if there is none)."""
    values = [v for v in (number(r.get(field)) for r in results) if not math.isnan(v)]
    return max(values, default=math.nan)


def _summary(groups: Mapping[GroupKey, list[Mapping[str, Any]]], with_target: bool) -> str:
    rows = []
    for key, results in groups.items():
        counts = Counter(str(r.get("status", "?")) for r in results)
        rows.append([f'<a href="#{_anchor(key)}">{escape(key[0])}</a>', escape(key[1]), escape(key[2]),
                     *([escape(key[3])] if with_target else []), str(len(results)),
                     *(_show(_largest(results, field)) for field in ("worst_ulps", "worst_relative", "worst_ratio")),
                     escape(", ".join(f"{n} {s}" for s, n in sorted(counts.items()))), _status_html(_verdict(results))])
    headers = ["loss", "dtype", "direction", *(["target"] if with_target else []), "checks", "worst ULPs",
               "worst rel err", "worst err/allowed", "statuses", "verdict"]
    first_number = 4 if with_target else 3
    return _table(headers, rows, numeric=range(first_number, first_number + 4))


def _worst_points(results: Sequence[Mapping[str, Any]]) -> str:
    """The non-passing checks with the largest err/allowed: expected against got, and the reproducer."""
    flagged = [r for r in results if r.get("status") not in PASSING]
    flagged.sort(key=lambda r: -number(r.get("worst_ratio")) if not math.isnan(number(r.get("worst_ratio"))) else 0)
    distinct: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for r in flagged:  # one point per (status, quantity, message): five copies of one crash say nothing more
        distinct.setdefault((str(r.get("status")), str(r.get("quantity")), str(r.get("message"))), r)
    shown = list(distinct.values())[:WORST_SHOWN]
    parts = []
    for k, r in enumerate(shown):
        rows = [("status", _status_html(str(r.get("status", "?")))), ("case", escape(str(r.get("case", "")))),
                ("quantity", escape(str(r.get("quantity", ""))))]
        errors = (("element", "worst_index"), ("expected (oracle)", "expected"), ("got (implementation)", "got"),
                  ("ULPs", "worst_ulps"), ("relative error", "worst_relative"), ("err / allowed", "worst_ratio"))
        for label, field in (*(errors if measured(r) else ()), ("message", "message"), ("shrunk case", "shrunk_case"),
                             ("shrunk: expected", "shrunk_expected"), ("shrunk: got", "shrunk_got")):
            if r.get(field) not in (None, ""):
                rows.append((label, escape(str(r[field]))))
        reproducer = str(r.get("shrunk_reproducer") or r.get("reproducer") or "")
        if len(reproducer) > REPRODUCER_SHOWN:
            reproducer = (reproducer[:REPRODUCER_SHOWN] + f"\n… ({len(reproducer)} characters in all: the whole "
                          "reproducer is in the JSON report and in the file --save-failures writes)")
        opened = " open" if k == 0 else ""
        folded = (f"<details{opened}><summary>reproducer</summary><pre>{escape(str(reproducer))}</pre></details>"
                 if reproducer else "")
        parts.append(_table(("", ""), rows) + folded)
    if len(flagged) > len(shown):
        parts.append(f"<p>{len(shown)} of the group's {len(flagged)} non-passing checks are shown (the worst, one "
                     "per status, quantity and message); the lists below name them all.</p>")
    return "".join(parts)


def _group_section(key: GroupKey, results: Sequence[Mapping[str, Any]]) -> str:
    title = " · ".join(part for part in key if part)
    rows = [(str(r.get("status", "?")), number(r.get("worst_ratio")), number(r.get("worst_ulps")))
            for r in results if measured(r)]
    unmeasured = len(results) - len(rows)
    plots = report_plots.group_histograms(rows, title) if rows else ""
    if unmeasured:
        plots += (f"<p>{unmeasured} of {len(results)} checks measured no error at an element (a crash, an "
                  "unsupported call, or a check with no numbers to compare); they are not plotted.</p>")
    verdict = _verdict(results)
    if any(r.get("status") not in PASSING and measured(r) for r in results):
        scatter = [(regime(str(r.get("case", ""))), str(r.get("status", "?")), number(r.get("worst_ratio")))
                   for r in results if measured(r)]
        plots += "" if not scatter else report_plots.regime_scatter(scatter, f"{title}: err/allowed by input regime")
    worst = _worst_points(results)
    return (f'<section id="{_anchor(key)}"><h3>{escape(title)} {_status_html(verdict)}</h3>'
            f'<div class="figure">{plots}</div>'
            + (f"<h4>Worst points</h4>{worst}" if worst else "") + "</section>")


def _status_lists(results: Sequence[Mapping[str, Any]]) -> str:
    """One table per status other than pass (unsupported, known deviations, errors, any new status)."""
    by_status: dict[str, list[Mapping[str, Any]]] = {}
    for r in results:
        if r.get("status") not in PASSING:
            by_status.setdefault(str(r.get("status", "?")), []).append(r)
    parts = []
    for status, rows in sorted(by_status.items()):
        cells = ([escape(str(r.get(f, ""))) for f in ("loss", "dtype", "case", "quantity")]
                 + ([escape(str(r.get("target", "")))] if any(r.get("target") for r in rows) else [])
                 + [escape(str(r.get("message", "")))] for r in rows)
        headers = ["loss", "dtype", "case", "quantity", *(["target"] if any(r.get("target") for r in rows) else []),
                   "message"]
        table = _table(headers, cells)
        if len(rows) > FOLD_AFTER:
            table = f"<details><summary>the {len(rows)} checks</summary>{table}</details>"
        parts.append(f"<h3>{_status_html(status)} ({len(rows)})</h3>{table}")
    return "".join(parts) or "<p>Every check passed.</p>"


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report page for ``document`` (see ``load_report``)."""
    report_plots.require_plotting()
    results = [r for r in document.get("results", []) if isinstance(r, Mapping)]
    groups = group_results(results)
    with_target = any(key[3] for key in groups)
    failing = sum(1 for r in results if str(r.get("status", "?")) not in QUIET)
    ok = document.get("ok")
    if ok is None:  # a stream cut before its summary: judge what is there
        ok = failing == 0
    headline = ("all checks conform" if ok else f"{failing} checks do not conform")
    if document.get("complete") is False:
        headline += " so far: the run did not finish (the report has no summary line)"
    problems = document.get("spec_problems") or []
    body = [
        "<h1>losscheck audit report</h1>",
        f"<p>{_status_html('PASS' if ok else 'FAIL')} {escape(headline)}; {len(results)} checks in "
        f"{len(groups)} groups.</p>",
        "<h2>Summary</h2>", _summary(groups, with_target),
        *(["<h2>Spec problems</h2><ul>" + "".join(f"<li>{escape(str(p))}</li>" for p in problems) + "</ul>"]
          if problems else []),
        *(["<h2>Notes</h2><ul>" + "".join(f"<li>{escape(str(n))}</li>" for n in document["notes"]) + "</ul>"]
          if document.get("notes") else []),
        "<h2>Groups</h2><p>Per (loss, dtype, direction): histograms over the group's checks of each check's worst "
        "err/allowed and worst error in bits; for a group that does not pass, every check's err/allowed by the "
        "regime its inputs were drawn from; then the worst points with their reproducers.</p>",
        *(_group_section(key, rows) for key, rows in groups.items()),
        "<h2>Checks that did not pass, by status</h2>", _status_lists(results),
        "<h2>Tolerance policy</h2>", _mapping_html(document.get("tolerance_policy", "not recorded")),
        "<h2>Settings</h2>", _mapping_html(document.get("settings", "not recorded")),
        *(["<h2>Environment</h2>", _mapping_html(document["environment"])] if document.get("environment") else []),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>losscheck audit report</title>'
            f"<style>{STYLE}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_html(document: Mapping[str, Any], path: str | Path) -> None:
    """Write the report page for ``document`` to ``path`` (MissingPlotting without matplotlib)."""
    text = render_html(document)
    Path(path).write_text(text, encoding="utf-8")
