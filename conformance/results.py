"""Verdicts: one result per checked quantity, and everything a run judged.

A ``QuantityResult`` is the judge's verdict on one quantity of one case in one dtype for one
target (``value``, ``grad NAME``, ``jvp``, ``hvp``, ``twice``, ``inputs unchanged``). A
``Result`` collects them in plan order and groups them into rows: (loss, target, dtype, direction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

from .cases import Case


class Status(str, Enum):
    """What the judge found. ``FAILING`` statuses make a run exit 1."""

    PASS = "pass"
    FAIL = "fail"  # outside the tolerance, or a wrong dtype, shape or device
    KNOWN = "known"  # outside the tolerance, where a recorded deviation of this target says
    UNSUPPORTED = "unsupported"  # declared, or raised NotImplementedError for a whole form or mode
    ERROR = "error"  # raised, crashed, exited or hung
    UNSTABLE = "unstable"  # the oracle itself moved between precisions
    NOT_RUN = "not run"  # after repeated deaths of the worker

    def __str__(self) -> str:
        return self.value


FAILING = (Status.FAIL, Status.ERROR, Status.UNSTABLE, Status.NOT_RUN)

MODES = ("value", "backward", "jvp", "hvp")
"""What an implementation may declare it supports: the call, backward, forward mode, double backward."""


def mode_of(quantity: str) -> str:
    """The mode a quantity exercises: ``grad x`` is backward; value, twice and inputs are the call."""
    if quantity.startswith("grad"):
        return "backward"
    return quantity if quantity in ("jvp", "hvp") else "value"


@dataclass
class QuantityResult:
    """One checked quantity of one case (or a whole-case error under ``value``).

    ``declared`` marks an unsupported check as declared by the implementation (``--supports``, its
    ``losscheck_supports`` attribute) or by PyTorch itself lacking the kernel, rather than merely
    raised by this case.
    """

    loss: str
    dtype: str
    case: str
    quantity: str
    status: Status
    worst_ulps: float = 0.0
    worst_relative: float = 0.0
    worst_ratio: float = 0.0
    worst_index: int = -1
    expected: str = ""
    got: str = ""
    message: str = ""
    reproducer: str = ""
    input_size: int = 0
    shrunk_case: str = ""
    shrunk_expected: str = ""
    shrunk_got: str = ""
    shrunk_reproducer: str = ""
    target: str = "pytorch"
    declared: bool = False
    form: str = ""
    """The case's form and the quantity's mode (shape case, options, optional tensors): what capabilities describe."""

    @property
    def direction(self) -> str:
        return "backward" if self.quantity.startswith(("grad", "hvp")) else "forward"

    @property
    def mode(self) -> str:
        return mode_of(self.quantity)


@dataclass
class Result:
    """Everything one run checked. ``ok`` is False if anything failed or was not run."""

    results: list[QuantityResult] = field(default_factory=list)
    spec_problems: list[str] = field(default_factory=list)
    cases: dict[tuple[str, str], Case] = field(default_factory=dict, repr=False)
    """(loss, case name) → the Case, for the failures' shrunk cases and reproducer files."""
    notes: list[str] = field(default_factory=list)
    """Run-level notes the report must show (the in-process debugging mode says so here)."""

    def merge(self, other: Result) -> None:
        self.results.extend(other.results)
        self.spec_problems.extend(p for p in other.spec_problems if p not in self.spec_problems)
        self.cases.update(other.cases)
        self.notes.extend(n for n in other.notes if n not in self.notes)

    def smallest_failures(self) -> list[QuantityResult]:
        """Per failing row, its failing check with the fewest input elements."""
        picked = []
        for rows in self.groups().values():
            failing = [r for r in rows if r.status in FAILING and r.status != Status.NOT_RUN]
            if failing:
                picked.append(min(failing, key=lambda r: (r.input_size, -r.worst_ratio)))
        return picked

    @property
    def ok(self) -> bool:
        return not self.spec_problems and not any(r.status in FAILING for r in self.results)

    @property
    def failures(self) -> list[QuantityResult]:
        return [r for r in self.results if r.status in FAILING]

    def groups(self) -> dict[tuple[str, str, str, str], list[QuantityResult]]:
        """Results by (loss, target, dtype, direction), in plan order."""
        grouped: dict[tuple[str, str, str, str], list[QuantityResult]] = {}
        for r in self.results:
            grouped.setdefault((r.loss, r.target, r.dtype, r.direction), []).append(r)
        return grouped

    def summary(self) -> str:
        lines = []
        for (loss, target, dtype, direction), rows in self.groups().items():
            unsupported = sum(r.status == Status.UNSUPPORTED for r in rows)
            lines.append(f"{row_label(loss, target):40s} {dtype:9s} {direction:8s} {verdict(rows):11s} "
                         f"worst {max(r.worst_ulps for r in rows):.3g} ulp"
                         + (f", {unsupported} unsupported" if unsupported else ""))
        lines.extend(f"spec problem: {p}" for p in self.spec_problems)
        lines.extend(self.notes)
        lines.append("OK" if self.ok else f"FAILED: {len(self.failures)} non-conforming checks")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def row_label(loss: str, target: str) -> str:
    """``loss`` for PyTorch's default path, else ``loss [target]``."""
    return loss if target == "pytorch" else f"{loss} [{target}]"


def verdict(rows: Sequence[QuantityResult]) -> str:
    """A row's verdict: FAIL beats UNSTABLE beats KNOWN beats PASS; all-unsupported is UNSUPPORTED."""
    statuses = {r.status for r in rows}
    if statuses & {Status.FAIL, Status.ERROR, Status.NOT_RUN}:
        return "FAIL"
    if Status.UNSTABLE in statuses:
        return "UNSTABLE"
    if statuses == {Status.UNSUPPORTED}:
        return "UNSUPPORTED"
    if Status.KNOWN in statuses:
        return "KNOWN"
    return "PASS"
