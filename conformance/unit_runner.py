"""One unit (loss, target, dtype) run to its verdicts: its cases in plan order against one worker
(``runner.CaseRunner``), then deep search if budgeted, the capability rules (``settle_unit``) and the
shrinking of each row's smallest failure."""

from __future__ import annotations

from typing import Any

from ..spec import get_spec
from .cases import Case
from .planning import Unit, plan
from .results import FAILING, QuantityResult, Result, Status
from .runner import CaseRunner, RunSettings, new_worker  # noqa: F401  (new_worker: schedule's, from here)
from .shrink import shrink


def settle_unit(results: list[QuantityResult], settings: RunSettings) -> None:
    """Apply the capability rules to one unit's results, in place.

    * A ``NotImplementedError`` on a form the implementation accepted for other values is a failure:
      capabilities describe forms, never values (else a hard regime could be dodged).
    * A row (direction) in which nothing was checked fails unless its unsupported checks were declared.
    * ``--strict`` makes every unsupported check a failure, ``--require MODE`` those of MODE.
    """
    accepted = {r.form: r.case for r in results if r.status not in (Status.UNSUPPORTED, Status.ERROR, Status.NOT_RUN)}
    for r in results:
        if r.status == Status.UNSUPPORTED and not r.declared and r.form in accepted:
            r.status = Status.FAIL
            r.message = (f"{r.message}; but the same form was accepted in case {accepted[r.form]}: "
                         f"a capability describes forms, never values")
    for direction in ("forward", "backward"):
        row = [r for r in results if r.direction == direction]
        if row and all(r.status == Status.UNSUPPORTED for r in row) and not all(r.declared for r in row):
            for r in row:
                if not r.declared:
                    r.status = Status.FAIL
                    r.message = (f"{r.message}; nothing in this row was checked and it was not declared "
                                 f"unsupported (--supports, or a losscheck_supports attribute)")
    for r in results:
        if r.status == Status.UNSUPPORTED and (settings.strict or r.mode in settings.require):
            r.status = Status.FAIL
            r.message = f"{r.message}; required by {'--strict' if settings.strict else '--require ' + r.mode}"


def run_unit(unit: Unit, settings: RunSettings, worker: Any) -> Result:
    """Check one unit's cases in plan order, settle it, and shrink its failures."""
    spec = get_spec(unit.loss)
    runner = CaseRunner(spec, unit.target, worker, settings, unit.capabilities)
    result = Result()
    def run_case(case: Case) -> list[QuantityResult]:
        result.cases[(spec.name, case.name)] = case
        try:
            results = runner.run(case, unit.dtype)
        except Exception as error:  # losscheck's own bug: loud, and the other cases still run
            results = [QuantityResult(spec.name, unit.dtype, case.name, "value", Status.ERROR,
                                      message=f"internal error in losscheck's judge: {type(error).__name__}: {error}",
                                      target=unit.target.name)]
        result.results.extend(results)
        return results

    for case in plan(spec.name, unit.seed, unit.fixed):
        run_case(case)
        if settings.fail_fast and not result.ok:
            break
    if settings.budget and not (settings.fail_fast and not result.ok):
        from .deep import search

        search(spec, run_case, unit.seed, settings.budget, dict(unit.fixed))
    settle_unit(result.results, settings)
    if not settings.fail_fast:
        _shrink_failures(result, runner)
    return result


def _shrink_failures(result: Result, runner: CaseRunner) -> None:
    """Attach to each row's smallest failure the shrunk case that still fails (see ``shrink``)."""
    for failure in result.smallest_failures():
        if runner.lost or failure.status == Status.ERROR:
            continue  # a crash or hang is not shrunk: each try could cost a worker or a timeout
        case = result.cases[(failure.loss, failure.case)]

        def fails(candidate: Case, failure: QuantityResult = failure) -> bool:
            return not runner.lost and any(r.quantity == failure.quantity and r.status in FAILING
                                           for r in runner.run(candidate, failure.dtype))

        try:
            shrunk = shrink(case, failure.dtype, fails)
        except Exception:  # shrinking is a convenience: the unshrunk failure stands as reported
            continue
        if shrunk is case:
            continue
        again = [r for r in runner.run(shrunk, failure.dtype) if r.quantity == failure.quantity and r.status in FAILING]
        if not again:
            continue
        result.cases[(failure.loss, shrunk.name)] = shrunk
        failure.shrunk_case, failure.shrunk_reproducer = shrunk.name, again[0].reproducer
        failure.shrunk_expected, failure.shrunk_got = again[0].expected, again[0].got
