"""The cross-check as a table a Lean author can act on, and as JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .crosscheck import Finding
from .registry import LINKS, Link

_STYLE = {"equal": "green", "equal under": "green", "present": "green", "different": "bold red",
          "untranslatable": "bold red", "missing": "bold red", "no spec": "yellow", "not compared": "yellow",
          "error": "bold red"}


def _verdict(finding: Finding) -> str:
    if finding.status == "equal under":
        return "EQUAL UNDER " + ", ".join(finding.conventions)
    return finding.status.upper()


def _where(finding: Finding) -> str:
    return f"{finding.path.rsplit('/', 1)[-1]}:{finding.line}" if finding.path else "-"


def unlinked(specs: Sequence[str], links: Sequence[Link] = LINKS) -> list[str]:
    """The specs no registry entry links to TorchLean."""
    linked = {link.spec for link in links}
    return sorted(name for name in specs if name not in linked)


def print_findings(findings: Sequence[Finding], console: Console, without_link: Sequence[str] = ()) -> None:
    """The table (declarations by their last name, with file:line), then each counterexample."""
    table = Table(title="losscheck ↔ TorchLean (fully qualified names in the JSON report)", title_justify="left")
    for column in ("loss", "TorchLean (file:line)", "check", "verdict", "detail"):
        table.add_column(column, overflow="fold")
    for f in findings:
        style = _STYLE.get(f.status, "")
        declaration = f"{f.declaration.rsplit('.', 1)[-1]} ({_where(f)})"
        table.add_row(*map(escape, (f.spec, declaration, f.check)),
                      f"[{style}]{escape(_verdict(f))}[/]", escape(f.detail))
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
