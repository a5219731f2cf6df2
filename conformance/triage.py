"""Triage of a run's failures: whose failure is it, and the material for a new known deviation.

A failing check of one of PyTorch's own targets (eager PyTorch, its extra paths such as the chunked
``linear_cross_entropy``, their compiled forms) is a failure of the reference implementation itself:
either PyTorch departs from the math there (a known-deviation candidate, once its mechanism is named
and proven) or the policy is wrong. A failing check of user code (``--impl``) is triaged by running
PyTorch's eager function on the same case (its smallest failing one, shrunk) in a worker of its own
and judging it the same way: a failure PyTorch shares reads differently from one PyTorch passes.

``candidates`` turns PyTorch's own failures into ledger-shaped entries with the proof material filled
in (the case, its options and reproducer, PyTorch's value and the exact value); the mechanism, the
narrowing ``where``/``requires`` and the test are left to the person who files it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ..spec import LossSpec
from .results import FAILING, QuantityResult, Result, Status
from .runner import CaseRunner, RunSettings
from .targets import DEFAULT, EXTRA_TARGETS

REFERENCE_FAILS = "the reference implementation itself fails here"
SHARED = "PyTorch fails this check too on the same case: a deviation the reference shares, not only yours"
PYTORCH_PASSES = "PyTorch passes this check on the same case: the failure is this implementation's"


def is_pytorch(loss: str, target: str) -> bool:
    """Is the row label ``target`` one of PyTorch's own paths of ``loss`` (with or without +compiled)?"""
    source = target.split("+", 1)[0]
    return source == DEFAULT or source in {t.name for t in EXTRA_TARGETS.get(loss, ())}


@dataclass
class Triage:
    """For each failing check shown (``Result.smallest_failures``), by id(): what the triage found."""

    notes: dict[int, str]
    pytorch_results: dict[int, QuantityResult]  # PyTorch's own verdict on a user failure's case


def triage(result: Result, run_pytorch: Callable[[str, Any, str], list[QuantityResult]]) -> Triage:
    """Triage every failing row's smallest failure. ``run_pytorch(loss, case, dtype)`` gives PyTorch's eager
    verdicts on one case (a worker's ``CaseRunner.run``); it is called once per user failure's case."""
    notes: dict[int, str] = {}
    theirs: dict[int, QuantityResult] = {}
    for failure in result.smallest_failures():
        if is_pytorch(failure.loss, failure.target):
            notes[id(failure)] = REFERENCE_FAILS
            continue
        case = result.cases.get((failure.loss, failure.shrunk_case or failure.case))
        if case is None:
            notes[id(failure)] = "not triaged: its case is not recorded"
            continue
        own = next((r for r in run_pytorch(failure.loss, case, failure.dtype) if r.quantity == failure.quantity), None)
        if own is None:
            notes[id(failure)] = f"not triaged: PyTorch's run of this case has no {failure.quantity} check"
        elif own.status in FAILING:
            notes[id(failure)], theirs[id(failure)] = SHARED, own
        else:
            notes[id(failure)] = f"{PYTORCH_PASSES} ({own.status}{': ' + own.message if own.message else ''})"
    return Triage(notes, theirs)


class PyTorchRuns:
    """PyTorch's eager verdicts on single cases, for ``triage``: in this process, since PyTorch's own function is
    not user code (a worker per loss cost every failing wrong-kernel run seconds to start)."""

    def __init__(self, specs: Mapping[str, LossSpec], settings: RunSettings):
        self.specs, self.settings = specs, replace(settings, in_process=True)
        self.runners: dict[str, CaseRunner] = {}
        self.verdicts: dict[tuple[str, str, str], list[QuantityResult]] = {}  # a case's rows share one run

    def __call__(self, loss: str, case: Any, dtype: str) -> list[QuantityResult]:
        if loss not in self.runners:
            self.runners[loss] = CaseRunner.for_source(self.specs[loss], DEFAULT, self.settings)
        key = (loss, case.name, dtype)
        if key not in self.verdicts:
            self.verdicts[key] = self.runners[loss].run(case, dtype)
        return self.verdicts[key]

    def close(self) -> None:
        for runner in self.runners.values():
            runner.worker.close()


def annotate(result: Result, found: Triage) -> None:
    """Append each triage note to its check's message, so the JSON report says it too."""
    for r in result.results:
        if id(r) in found.notes:
            r.message = f"{r.message}; {found.notes[id(r)]}" if r.message else found.notes[id(r)]


def candidates(result: Result, found: Triage) -> list[dict[str, Any]]:
    """Known-deviation candidates, ledger-shaped: one per failing row of a PyTorch target (its smallest
    failure), and one per user failure that PyTorch shares (PyTorch's own failing check)."""
    entries = []
    for failure in result.smallest_failures():
        own = failure if is_pytorch(failure.loss, failure.target) else found.pytorch_results.get(id(failure))
        if own is None or own.status == Status.NOT_RUN:
            continue
        case = result.cases.get((failure.loss, failure.shrunk_case or failure.case))
        expected = own.shrunk_expected or own.expected
        got = own.shrunk_got or own.got
        entries.append({
            "id": f"{own.loss}-{own.dtype}-{own.quantity.replace(' ', '-')}-CANDIDATE",
            "loss": own.loss,
            "quantity": own.quantity,
            "dtypes": [own.dtype],
            "options": _plain(case.options) if case is not None else {},
            "where": {},
            "pytorch": got,
            "exact": expected,
            "explanation": "TODO: the mechanism (what PyTorch computes instead, and why), proven at a second input",
            "reproducer": {"code": own.shrunk_reproducer or own.reproducer, "pytorch_value": got,
                           "exact_value": expected},
            "found": {"target": own.target if own is failure else "pytorch", "case": own.shrunk_case or own.case,
                      "status": str(own.status), "message": own.message, "worst_ratio": str(own.worst_ratio)},
        })
    return entries


def _plain(options: dict[str, Any]) -> dict[str, Any]:
    """Options as JSON data (an imported callable by its name)."""
    return {k: (v if isinstance(v, (str, int, float, bool, type(None))) else str(v)) for k, v in options.items()}
