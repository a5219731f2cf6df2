"""Deep mode: after a unit's planned cases, keep searching with Hypothesis until a time budget is spent.

The search space is every case the gate knows how to build for a spec, with no per-loss code: a declared or
derived (``shape_search``) shape case, a subset of the optional tensors, a point of the shape case's option
grid, a value regime (the spec's own, ``tiny``, ``mixed``, ``interior``), a layout, a batch size (as the
size probes resize it), the derivative modes, and the draw's own number (new values). Each drawn case runs
through the unit's runner, so the judge, the reproducers and the shrinking of failures are the default
run's. Hypothesis is guided toward the cases that come closest to their tolerance: each case reports
``target(worst err/allowed)`` over its judged checks. The search is seeded by the run seed, and a failure
found is recorded, never raised, so that the search goes on until the budget is spent.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as seeded
from hypothesis import strategies as st

from ..spec.core import PROBE_REGIMES, LossSpec
from .cases import Case, batch_tensors, expandable, option_grid
from .extra_checks import EXTRA_CHECKS
from .layouts import LAYOUTS
from .probes import SEARCH_PERIOD, large_batch
from .shape_search import search_shapes

FIRST_NUMBER = 1_000_000
"""Deep cases are numbered from here, apart from the plan's."""


def _shape_cases(spec: LossSpec) -> list[tuple[Any, int | None]]:
    return [(c, None) for c in spec.shape_cases] + [(c, SEARCH_PERIOD) for c in search_shapes(spec)]


@st.composite
def deep_cases(draw: Any, spec: LossSpec, seed: int, fixed: dict) -> Case:
    """A case anywhere in the space of the module docstring."""
    shape_case, period = draw(st.sampled_from(_shape_cases(spec)))
    optional = [t.name for t in spec.optional_tensors]
    chosen = draw(st.sets(st.sampled_from(optional))) if optional else set()
    present = tuple(t.name for t in spec.tensors if not t.optional or t.name in chosen)
    options = dict(draw(st.sampled_from(option_grid(spec, shape_case, fixed))))
    own = sorted({r for n in present for r in shape_case.domains.get(n, spec.tensor(n).domain_for(options)).regimes})
    regime = draw(st.sampled_from(["typical", *PROBE_REGIMES, "interior", *own]))
    checks = draw(st.sampled_from([(), EXTRA_CHECKS])) if regime == "interior" else ()
    layouts = [layout for layout in LAYOUTS if layout != "expanded" or expandable(spec, shape_case, present)]
    layout = draw(st.sampled_from(layouts)) if any(len(s) for s in shape_case.shapes.values()) else "contiguous"
    batch = None
    if period is None and layout != "expanded" and batch_tensors(spec, shape_case):  # none for a recursion
        batch = draw(st.sampled_from([None, 0, 1, 2, 3, "large"]))
        if batch == "large":
            batch = large_batch(spec, shape_case, tuple(t.name for t in spec.tensors), options, seed)
    number = FIRST_NUMBER + draw(st.integers(0, 2**20))
    return Case(spec, shape_case, present, options, regime, seed, number, batch=batch, layout=layout,
                checks=checks, probe="deep", period=period)


def _closeness(results: list[Any]) -> float:
    """The worst err/allowed of a case's judged checks (a failing check counts as far past its tolerance)."""
    ratios = [r.worst_ratio for r in results if isinstance(r.worst_ratio, float) and math.isfinite(r.worst_ratio)]
    failed = any(r.status.name in ("FAIL", "ERROR") for r in results)
    return max(ratios, default=0.0) + (1e6 if failed else 0.0)


def search(spec: LossSpec, run_case: Any, seed: int, budget: float, fixed: dict | None = None) -> list[
        tuple[Case, list[Any]]]:
    """Run Hypothesis-drawn cases through ``run_case(case) -> results`` for ``budget`` seconds; return each
    case with its results, in the order run."""
    done: list[tuple[Case, list[Any]]] = []
    deadline = time.monotonic() + budget

    class _Spent(BaseException):
        """Not an ``Exception``: Hypothesis lets it through at once, with no replay of the case that raised
        it (a replay past the deadline raises again, which Hypothesis reports as a flaky failure)."""

    @seeded(seed)  # the same draws for the same run seed
    @settings(max_examples=10**6, deadline=None, database=None, derandomize=False, print_blob=False,
              phases=(Phase.generate, Phase.target), suppress_health_check=list(HealthCheck))
    @given(deep_cases(spec, seed, dict(fixed or {})))
    def explore(case: Case) -> None:
        if time.monotonic() >= deadline:
            raise _Spent
        results = run_case(case)
        done.append((case, results))
        target(_closeness(results), label="worst err/allowed")

    with contextlib.suppress(_Spent):
        explore()
    return done
