"""The cross-check as a table a Lean author can act on, and as JSON.

The table stays readable at 80 columns: a declaration's name and its ``file:line`` (the line the
declaration starts on) sit in a column that is never wrapped, as wide as the longest name; the
loss, check, verdict and detail share the other column and wrap between words. The JSON report
holds every finding whole (fully qualified names, counterexamples, what a difference was named).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .findings import Finding
from .registry import LINKS, Link

_STYLE = {"equal": "green", "equal under": "green", "present": "green", "different": "bold red",
          "untranslatable": "bold red", "missing": "bold red", "no spec": "yellow", "not compared": "yellow",
          "error": "bold red"}


def _verdict(finding: Finding) -> str:
    if finding.status == "equal under":
        return "EQUAL UNDER " + ", ".join(finding.conventions)
    return finding.status.upper()


def _where(finding: Finding) -> str:
    """``Layers/Loss.lean:139``: the file's last two path parts (the spec and runtime layers both have a Loss.lean)."""
    return f"{'/'.join(finding.path.split('/')[-2:])}:{finding.line}" if finding.path else "-"


def unlinked(specs: Sequence[str], links: Sequence[Link] = LINKS) -> list[str]:
    """The specs no registry entry links to TorchLean."""
    linked = {link.spec for link in links}
    return sorted(name for name in specs if name not in linked)


def print_findings(findings: Sequence[Finding], console: Console, without_link: Sequence[str] = ()) -> None:
    """The table (declarations by their last name, with file:line), then each counterexample."""
    names = [f.declaration.rsplit(".", 1)[-1] for f in findings]
    widest = max([*map(len, names), *(len(_where(f)) for f in findings)], default=10)
    table = Table(title="losscheck ↔ TorchLean (fully qualified names in the JSON report)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("TorchLean (file:line)", no_wrap=True, min_width=widest)
    table.add_column("loss · check: verdict", overflow="fold", ratio=1)
    for f, name in zip(findings, names):
        style = _STYLE.get(f.status, "")
        verdict = f"{escape(f.spec)} · {escape(f.check)}: [{style}]{escape(_verdict(f))}[/]"
        table.add_row(f"{escape(name)}\n{escape(_where(f))}", verdict + (f"\n{escape(f.detail)}" if f.detail else ""))
    console.print(table)
    for f in findings:
        if f.counterexample:
            shown = json.dumps(f.counterexample, ensure_ascii=False)
            console.print(f"[bold red]{escape(f.declaration)} {f.check}[/]: {escape(shown)}")
    if without_link:
        console.print(f"specs with no TorchLean declaration linked: {escape(', '.join(without_link))}",
                      highlight=False)
    failed = [f for f in findings if f.failed]
    console.print(f"{len(failed)} of {len(findings)} checks fail" if failed else f"all {len(findings)} checks pass")


def findings_json(findings: Sequence[Finding], without_link: Sequence[str] = (), links: Sequence[Link] = LINKS) -> str:
    """Every finding, the registry with its conventions, the specs without a link, and ``ok``."""
    document = {
        "ok": not any(f.failed for f in findings),
        "findings": [asdict(f) for f in findings],
        "registry": [asdict(link) for link in links],
        "specs_without_link": list(without_link),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)
