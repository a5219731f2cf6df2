"""``losscheck report FROM --html PATH`` and ``run --html PATH``: the argument checks and the writing.

Bad input (an unreadable report, an unwritable path, matplotlib missing) is a UsageError: one line, exit 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from .html_report import ReportError, load_report, write_html
from .implementations import UsageError
from .report_plots import MissingPlotting, require_plotting


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", metavar="FROM",
                        help="a report written by `losscheck run --report` (JSON or JSON Lines)")
    parser.add_argument("--html", required=True, metavar="PATH", help="write the HTML audit report to PATH")


def check_html_target(path: str) -> None:
    """Fail before any work when the report cannot be written: matplotlib missing, or PATH unwritable."""
    try:
        require_plotting()
    except MissingPlotting as error:
        raise UsageError(str(error)) from None
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as error:
        raise UsageError(f"cannot write HTML report {path!r}: {error.strerror}") from None


def run(args: argparse.Namespace, console: Console) -> int:
    check_html_target(args.html)
    try:
        document: dict[str, Any] = load_report(args.file)
    except ReportError as error:
        raise UsageError(str(error)) from None
    write_html(document, args.html)
    console.print(f"wrote {Path(args.html)} ({len(document['results'])} checks)", highlight=False, markup=False,
                  soft_wrap=True)
    return 0
