"""The audit report's plots, as SVG text made with matplotlib (an optional extra: ``losscheck[report]``).

Every plot takes plain numbers and statuses, so it works for any status the runner reports:
known ones get fixed colours, any other a neutral grey.
"""

from __future__ import annotations

import io
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

STATUS_COLOURS = {"pass": "#3a923a", "known": "#d89b1c", "fail": "#c8312b", "error": "#7b1fa2",
                  "unstable": "#e0592a", "unsupported": "#8c8c8c", "not run": "#bdbdbd"}
OTHER_COLOUR = "#5f7a8c"


class MissingPlotting(ImportError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise MissingPlotting("the HTML report needs matplotlib: pip install 'losscheck[report]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, selectable labels
    matplotlib.rcParams["svg.hashsalt"] = "losscheck"  # the same report gives the same SVG
    matplotlib.rcParams["font.sans-serif"] = ["DejaVu Sans"]  # not a 12-name fallback list on every label
    import matplotlib.pyplot as plt

    return plt


def require_plotting() -> None:
    """Raise MissingPlotting now, before any work, if matplotlib is absent."""
    _pyplot()


def colour(status: str) -> str:
    return STATUS_COLOURS.get(status, OTHER_COLOUR)


def _svg(figure: Any) -> str:
    plt = _pyplot()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")  # fixed margins: a tight bounding box lays every figure out twice
    plt.close(figure)
    text = buffer.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)  # the RDF block says only "matplotlib"
    text = re.sub(r"(\d\.\d)\d+", r"\1", text)  # a tenth of a point is finer than any screen shows
    text = re.sub(r"\s*\n\s*", "\n", text)
    text = re.sub(r' transform="rotate\(-0 [\d. ]+\)"', "", text)
    text = re.sub(r'<g id="[a-z_]+(?:\.[a-z_]+)?_\d+">', "<g>", text)  # group names nothing refers to
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is inlined in HTML


def _finite_log(values: Sequence[float], log: Any, floor: float) -> tuple[list[float], int]:
    """log(v) of the finite values (those below ``floor`` count as ``floor``), and how many were not finite."""
    shown = [log(max(v, floor)) for v in values if math.isfinite(v)]
    return shown, sum(1 for v in values if not math.isfinite(v))


def group_histograms(rows: Sequence[tuple[str, float, float]], title: str) -> str:
    """Two histograms of one (loss, dtype, direction) group's checks, stacked by status.

    ``rows`` holds (status, worst err/allowed, worst ULPs) per check. Left: log10(err/allowed), with
    the allowed error at 0; right: bits of error, log2(1 + ULPs).
    """
    plt = _pyplot()
    figure, (left, right) = plt.subplots(1, 2, figsize=(8.0, 2.3))
    statuses = sorted({status for status, _, _ in rows}, key=lambda s: (s not in STATUS_COLOURS, s))
    for axis, column, label, transform, floor in (
        (left, 1, "log10(err / allowed); below −6 at −6", math.log10, 1e-6),
        (right, 2, "bits of error, log2(1 + ULPs)", lambda v: math.log2(1 + v), 0.0),
    ):
        stacks, infinite = [], 0
        for status in statuses:
            values, bad = _finite_log([r[column] for r in rows if r[0] == status], transform, floor)
            infinite += bad
            stacks.append(values)
        if any(stacks):
            axis.hist(stacks, bins=24, stacked=True, histtype="stepfilled",  # one shape per status, not per bar
                      color=[colour(s) for s in statuses])
        if column == 1:
            axis.axvline(0.0, color="black", linewidth=1, linestyle="--")
            axis.text(0.0, 0.5, "allowed ", transform=axis.get_xaxis_transform(), rotation=90, ha="right",
                      va="center", fontsize=8)
        if infinite:
            axis.text(1.0, 1.0, f"{infinite} not finite ", transform=axis.transAxes, ha="right", va="top",
                      fontsize=8, color="#c8312b")
        axis.set_xlabel(label, fontsize=9)
        axis.tick_params(labelsize=8)
    left.set_ylabel("checks", fontsize=9)
    from matplotlib.patches import Patch  # handles of their own: a status with no finite value is still listed

    counts = Counter(status for status, _, _ in rows)
    left.legend(handles=[Patch(color=colour(s), label=f"{s} ({counts[s]})") for s in statuses], fontsize=7,
                loc="upper left", frameon=False)
    figure.suptitle(title, fontsize=10)
    figure.subplots_adjust(left=0.08, right=0.98, bottom=0.2, top=0.86, wspace=0.22)
    return _svg(figure)


def _log_locator() -> Any:
    from matplotlib.ticker import LogLocator

    return LogLocator(base=10, numticks=8)


def regime_scatter(rows: Sequence[tuple[str, str, float]], title: str) -> str:
    """err/allowed of every check of a failing group, by the regime that drew its inputs.

    ``rows`` holds (regime, status, worst err/allowed); the dashed line is the allowed error, so the
    plot shows where along the regimes the failure lives. Non-finite ratios are drawn at the top.
    """
    plt = _pyplot()
    regimes = sorted({regime for regime, _, _ in rows})
    figure, axis = plt.subplots(figsize=(8.0, 2.4))
    finite = [r[2] for r in rows if math.isfinite(r[2]) and r[2] > 0]
    top = max(finite, default=1.0) * 10
    for status in sorted({status for _, status, _ in rows}):
        points = [(regimes.index(regime) + 0.6 * ((k * 0.618) % 1 - 0.5), ratio if math.isfinite(ratio) else top)
                  for k, (regime, s, ratio) in enumerate(rows) if s == status]
        xs, ys = zip(*points)
        axis.scatter(xs, [max(y, 1e-6) for y in ys], s=12, color=colour(status), label=status)
    axis.set_yscale("log")
    axis.yaxis.set_major_locator(_log_locator())
    axis.minorticks_off()  # a log axis over 12 decades has hundreds of minor ticks: slow to lay out, unread
    axis.axhline(1.0, color="black", linewidth=1, linestyle="--")
    axis.set_xticks(range(len(regimes)), regimes, fontsize=8)
    axis.set_ylabel("err / allowed", fontsize=9)
    axis.tick_params(labelsize=8)
    axis.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.set_title(title, fontsize=10)
    figure.subplots_adjust(left=0.1, right=0.88, bottom=0.13, top=0.88)
    return _svg(figure)
