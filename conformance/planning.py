"""The plan of a run: each loss's cases (its option grid, then the gate's probes) and the run's units.

A **unit** is one (loss, target, dtype); ``plan_units`` lists a run's units in plan order (per loss, per
target, per dtype) and ``plan`` the cases each unit runs, in a fixed order that depends on the seed alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..derivations.symbolic import variant_key
from ..derivations.units import split_units
from ..spec import LossSpec, get_spec
from .capabilities import Capabilities
from .cases import Case, generate_cases
from .gradient_checks import verify_gradients
from .implementations import UsageError
from .probes import probe_cases
from .targets import CompileSettings, TargetRef


@cache
def plan(loss: str, seed: int, fixed: tuple = ()) -> tuple[Case, ...]:
    """The cases of a loss: its option grid, then the gate's probes (``fixed`` pins options)."""
    spec = get_spec(loss)
    options = dict(fixed)
    grid = generate_cases(spec, seed, options)
    return tuple(grid + probe_cases(spec, seed, first_number=len(grid), fixed=options))


def verify_spec(spec: LossSpec, seed: int, fixed: tuple = ()) -> list[str]:
    """The spec's symbolic gradients checked once per variant of its grid (finite differences, adjoint)."""
    problems: list[str] = []
    verified: set = set()
    for case in generate_cases(spec, seed, dict(fixed)):
        tensors = case.tensors("float64")
        key = variant_key(spec, case.present, split_units(spec, tensors, case.options), case.options)
        if key not in verified:
            verified.add(key)
            problems.extend(verify_gradients(spec, case, tensors))
    return problems


@dataclass(frozen=True)
class Unit:
    """One (loss, target, dtype) to check, and everything needed to do it in any process."""

    loss: str
    target: TargetRef
    dtype: str
    seed: int
    fixed: tuple = ()
    capabilities: Capabilities = field(default_factory=Capabilities)


def plan_units(losses: Sequence[str], impls: Mapping[str, str], dtypes: Sequence[str], seed: int,
               fixed: Mapping[str, Mapping[str, Any]], compile: CompileSettings | None, device: str) -> list[Unit]:
    """The run's units in plan order: per loss, per target (the --impl, or PyTorch's paths), per dtype."""
    from .targets import builtin_targets

    units = []
    for loss in losses:
        targets = ([TargetRef(loss, impls[loss], compile, device)] if loss in impls
                   else builtin_targets(loss, compile, device))
        pinned = tuple(sorted(fixed.get(loss, {}).items(), key=lambda item: item[0]))
        units += [Unit(loss, target, dtype, seed, pinned) for target in targets for dtype in dtypes]
    return units


def unit_budget(budget: float, units: int, jobs: int) -> float:
    """Each unit's share of a run's deep-search ``budget`` in seconds, units running ``jobs`` at a time."""
    if budget < 0:
        raise UsageError(f"budget must be a number of seconds >= 0, not {budget}")
    return budget * min(jobs, units) / max(units, 1)
