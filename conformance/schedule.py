"""Running a plan's units, one after another or side by side, with the same result either way.

Each target is first built in a worker (so a bad ``MODULE:ATTR`` is a usage error before anything
runs, and its ``losscheck_supports`` declaration is read there, never by importing it here). Then
every unit runs in plan order (``jobs=1``) or on ``jobs`` judge processes (trusted: they hold the
oracle and the judge, never user code), each with a worker of its own. Units are independent, and
their results are put back in plan order, so the Result does not depend on ``jobs``;
``on_unit`` sees each unit's result as soon as it is judged, for a streaming report.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import replace
from typing import Any

from ..derivations import disk_cache
from .capabilities import ANYTHING, Capabilities
from .planning import Unit, verify_spec
from .results import Result
from .runner import RunSettings
from .unit_runner import new_worker, run_unit
from .workers import InProcessWorker

UnitCallback = Callable[[int, Result], None]

_POOL_WORKER: Any = None


def _task(task: tuple, settings: RunSettings, worker: Any = None) -> Result:
    """A verification (per loss), a unit, or a loss's whole list of them, with a persistent worker."""
    global _POOL_WORKER
    if task[0] == "verify":
        _, loss, seed, fixed = task
        from ..spec import get_spec

        return Result(spec_problems=verify_spec(get_spec(loss), seed, fixed))
    if worker is None:
        if _POOL_WORKER is None:
            _POOL_WORKER = new_worker(settings)
        worker = _POOL_WORKER
    if task[0] == "unit":
        return run_unit(task[1], settings, worker)
    combined = Result()
    for part in task[1]:
        combined.merge(_task(part, settings, worker))
    return combined


def _tasks(units: Sequence[Unit], jobs: int) -> list[tuple]:
    """Per loss, its verification first, then its units, in plan order. With at least as many losses as
    jobs, each loss is one task, so a process derives each spec's symbolic forms once."""
    by_loss: dict[str, list[tuple]] = {}
    for unit in units:
        by_loss.setdefault(unit.loss, [("verify", unit.loss, unit.seed, unit.fixed)]).append(("unit", unit))
    if len(by_loss) >= jobs:
        return [("loss", parts) for parts in by_loss.values()]
    return [part for parts in by_loss.values() for part in parts]


def declare_capabilities(units: Sequence[Unit], probe: Any, declared: Capabilities = ANYTHING) -> list[Unit]:
    """Each unit with its target's capabilities: ``declared`` and the target's own ``losscheck_supports``,
    read by loading it in ``probe`` (a worker: never imported here). UsageError if a target cannot be built."""
    capabilities: dict[Any, Capabilities] = {}
    for unit in units:
        if unit.target not in capabilities:
            own = Capabilities.declared(probe.load(unit.target), f"{unit.target.name}.losscheck_supports")
            capabilities[unit.target] = declared.both(own)
    return [replace(u, capabilities=capabilities[u.target]) for u in units]


def combine(results: Sequence[Result], settings: RunSettings) -> Result:
    """The tasks' results merged in plan order: the run's Result."""
    combined = Result()
    if settings.in_process:
        combined.notes.append(InProcessWorker.NOTE)
    for result in results:
        combined.merge(result)
    return combined


def run_units(units: Sequence[Unit], settings: RunSettings, jobs: int = 1, declared: Capabilities = ANYTHING,
              on_unit: UnitCallback | None = None) -> Result:
    """Every unit's results, in plan order. UsageError if a target cannot be built."""
    probe = new_worker(settings)
    try:
        units = declare_capabilities(units, probe, declared)
        tasks = _tasks(units, jobs)
        done: list[Result | None] = [None] * len(tasks)

        def finish(index: int, result: Result) -> None:
            done[index] = result
            if on_unit is not None:
                on_unit(index, result)

        if jobs <= 1 or settings.in_process or len(tasks) < 2:
            for index, task in enumerate(tasks):
                finish(index, _task(task, settings, probe))
        else:
            _run_pool(tasks, settings, jobs, finish)
    finally:
        probe.close()
    return combine(done, settings)


def _start_judge(cache: tuple[str, str]) -> None:
    """A judge process: the parent's cache settings (``--cache-dir``, ``--no-cache``); PyTorch's warnings
    (deprecations, experimental dtypes) are not findings, in a judge process either."""
    import warnings

    warnings.simplefilter("ignore")
    disk_cache.restore(cache)


def _run_pool(tasks: list[tuple], settings: RunSettings, jobs: int, finish: Callable[[int, Result], None]) -> None:
    context = multiprocessing.get_context("spawn")  # never fork a process that holds torch's threads
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_judge,
                             initargs=(disk_cache.configuration(),)) as pool:
        pending = {pool.submit(_task, task, settings): index for index, task in enumerate(tasks)}
        while pending:
            completed, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in completed:
                finish(pending.pop(future), future.result())
