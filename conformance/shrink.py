"""Shrinking a failing case to a minimal one with Hypothesis.

The search space around a failing case: how many rows of the batch to keep
(its first k rows; k shrinks towards 1) and, per float element, how many
significant bits to keep (1, 2, 4, or all, one level for all elements of a
case with more than MAX_ELEMENTS; shrinks towards 1, so values
become signed powers of two and simple fractions while keeping their sign
and magnitude, and equal values stay equal, so kinks and ties survive). Each
candidate is rounded into the tensor's domain and its dtype, then run through
the same runner; it counts as failing when the same quantity fails again.
``hypothesis.find`` searches that space, derandomized, and shrinks to the simplest failing
candidate within a budget of ``SHRINK_EXAMPLES`` candidates (a count, not seconds, so the
reproducer printed does not depend on the machine's speed).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from .cases import Case, batch_tensors, round_to
from .replay import ReplayCase, replay_case

BITS = (1, 2, 4, 64)
SHRINK_EXAMPLES = 60
MAX_ELEMENTS = 256


def _keep_bits(value: float, bits: int) -> float:
    """``value`` rounded to ``bits`` significant bits (nearest)."""
    if bits >= 53 or value == 0 or not math.isfinite(value):
        return value
    mantissa, exponent = math.frexp(value)
    return math.ldexp(round(mantissa * 2**bits) / 2**bits, exponent)


def _candidate(case: Case, dtype: str, rows: int, levels: list[int]) -> ReplayCase:
    tensors = case.tensors(dtype)
    upstream = case.upstream(dtype)
    batched = batch_tensors(case.spec, case.shape_case) or ()
    if rows and batched:
        tensors = {n: v[:rows] if n in batched else v for n, v in tensors.items()}
        if upstream.ndim:
            upstream = upstream[:rows]
    simplified = {}
    position = 0
    for name, values in tensors.items():
        if values.dtype.kind != "f":
            simplified[name] = values
            continue
        domain = case.shape_case.domains.get(name, case.spec.tensor(name).domain_for(case.options))
        flat = values.reshape(-1).copy()
        for i, v in enumerate(flat):
            flat[i] = min(max(_keep_bits(float(v), BITS[levels[position + i]]), domain.lo), domain.hi)
        position += flat.size
        simplified[name] = round_to(flat.reshape(values.shape), dtype)
    return replay_case(case, simplified, upstream, label="(shrunk)")


def shrink(case: Case, dtype: str, fails: Callable[[Case], bool], examples: int = SHRINK_EXAMPLES) -> Case:
    """The simplest case near ``case`` for which ``fails`` holds (``case`` itself if none is found within
    ``examples`` candidates)."""
    tensors = case.tensors(dtype)
    batched = batch_tensors(case.spec, case.shape_case) or ()
    rows = next((int(v.shape[0]) for n, v in tensors.items() if n in batched and v.ndim), 0)
    floats = sum(int(v.size) for v in tensors.values() if v.dtype.kind == "f")
    if rows:
        rows_strategy = st.integers(1, rows)
        floats = sum(int(v[:1].size) * rows if n in batched else int(v.size)
                     for n, v in tensors.items() if v.dtype.kind == "f")
    else:
        rows_strategy = st.just(0)
    per_element = floats <= MAX_ELEMENTS  # a large case keeps one precision level for all its elements
    length = floats if per_element else 1
    space = st.tuples(rows_strategy, st.lists(st.integers(0, len(BITS) - 1), min_size=length, max_size=length))
    tried = [0]

    def still_fails(drawn: tuple[int, list[int]]) -> bool:
        tried[0] += 1
        if tried[0] > examples:
            return False
        return fails(_candidate(case, dtype, drawn[0], _levels(drawn[1], floats)))

    try:
        rows_kept, levels = find(space, still_fails, settings=settings(
            max_examples=examples, database=None, deadline=None, derandomize=True,
            phases=(Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return case
    return _candidate(case, dtype, rows_kept, _levels(levels, floats))


def _levels(drawn: list[int], floats: int) -> list[int]:
    return drawn if len(drawn) == floats else drawn * floats
