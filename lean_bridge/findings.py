"""``Finding``: the verdict of one cross-check of one TorchLean declaration, as reports and the docs show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FAILING = ("different", "untranslatable", "missing", "error")


@dataclass
class Finding:
    """One check of one declaration.

    ``status``: equal / equal under (``conventions``) / present (a certificate) pass; different,
    untranslatable, missing and error fail; no spec / not compared are reported and do not fail.
    """

    spec: str
    declaration: str
    check: str
    status: str
    detail: str = ""
    path: str = ""
    line: int = 0
    docstring: str = ""
    conventions: list[str] = field(default_factory=list)
    counterexample: dict[str, Any] | None = None
    named: str = ""  # what a different definition computes instead, where it could be named

    @property
    def failed(self) -> bool:
        return self.status in FAILING
