"""Code-path coverage: a pairwise covering array over the gate's probes and a spec's path selectors.

A **selector** is a declared fact a kernel may branch on: the presence of each optional tensor
(``+weight`` / ``-weight``) and each value on an option's grid (``reduction``, booleans such as
``log_target`` or ``swap``, ``p``, ``margin``, ...). A **factor** is a selector, the probe kind (value
regime, size, layout, derivative modes) or the shape case. A **row** gives every factor one level.

The array has strength 2: for any two factors, every pair of levels that some valid row allows appears
in a chosen row. So every probe sees every selector value, and every two selector values meet somewhere.
Rows are chosen greedily from the explicit set of valid rows (a probe's own constraints, such as a regime
no present tensor can draw, make rows invalid): repeatedly the row that covers the most uncovered pairs
per unit of cost, ties broken by a shuffle seeded by the run seed, so the array is deterministic in it.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ABSENT = "n/a"
"""The level of a selector a row does not have (an option its shape case skips)."""


@dataclass(frozen=True)
class Row:
    """One row of the array: a probe on a shape case, with the optional tensors present and the options."""

    probe: str
    shape: str
    present: frozenset[str]
    options: Mapping[str, Any]
    loose: frozenset[str] = frozenset()
    """Factors whose pairs with the shape factor are not required in this row (see ``pairs_of``)."""

    def levels(self, optional: Sequence[str]) -> dict[str, Any]:
        """Factor → level, for coverage: probe, shape, ``+NAME``/``-NAME`` per optional tensor, options."""
        levels: dict[str, Any] = {"probe": self.probe, "shape": self.shape}
        levels.update({name: ("present" if name in self.present else "absent") for name in optional})
        levels.update({name: _hashable(value) for name, value in self.options.items()})
        return levels


def _hashable(value: Any) -> Any:
    return getattr(value, "name", value) if not isinstance(value, (int, float, str, bool, type(None))) else value


def pairs_of(levels: Mapping[str, Any], loose: frozenset[str] = frozenset()) -> set[tuple]:
    """The unordered pairs of (factor, level) a row covers; a ``loose`` factor pairs with everything but the
    shape (the shape search's many shapes meet each option value through the probe, not one by one)."""
    items = sorted((k, repr(v)) for k, v in levels.items() if v != ABSENT)
    return {(a, b) for a, b in itertools.combinations(items, 2)
            if not ({a[0], b[0]} & loose and "shape" in (a[0], b[0]))}


def covering_rows(candidates: Sequence[Row], optional: Sequence[str], seed: int, tag: str,
                  cost: Callable[[Row], float] = lambda row: 1.0) -> list[Row]:
    """A strength-2 covering array drawn from ``candidates`` (the valid rows), greedily, deterministic in
    ``seed`` and ``tag``: every pair of levels that some candidate holds is held by a chosen row."""
    rng = np.random.default_rng([seed, zlib.crc32(f"coverage/{tag}".encode())])
    order = [candidates[i] for i in rng.permutation(len(candidates))]
    pair_sets = [frozenset(pairs_of(row.levels(optional), row.loose)) for row in order]
    costs = [cost(row) for row in order]
    uncovered = set().union(*pair_sets) if pair_sets else set()
    chosen: list[Row] = []
    while uncovered:
        best = max(range(len(order)), key=lambda i: len(pair_sets[i] & uncovered) / costs[i])
        chosen.append(order[best])
        uncovered -= pair_sets[best]
    return chosen


def achieved(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """Probe → selector → the levels it saw, over rows given as factor → level maps."""
    seen: dict[str, dict[str, set]] = {}
    for levels in rows:
        probe = seen.setdefault(str(levels["probe"]), {})
        for factor, level in levels.items():
            if factor not in ("probe", "shape") and level != ABSENT:
                probe.setdefault(factor, set()).add(level if isinstance(level, str) else repr(level))
    return {probe: {f: sorted(v) for f, v in sorted(factors.items())} for probe, factors in seen.items()}


def case_levels(case: Any) -> dict[str, Any]:
    """A case's factor → level map (its probe, shape case, optional tensors, options)."""
    optional = [t.name for t in case.spec.optional_tensors]
    return Row(case.probe or "grid", case.shape_case.name, frozenset(case.present), case.options).levels(optional)


def run_coverage(result: Any) -> dict[str, dict[str, Any]]:
    """Per loss of a run's ``Result``: which selector values each probe's judged cases saw
    (``probes``), and the values some case of the run saw but a probe did not (``missing``)."""
    judged = {(r.loss, r.case) for r in result.results}
    rows: dict[str, list[dict[str, Any]]] = {}
    for (loss, name), case in result.cases.items():
        if (loss, name) in judged:
            rows.setdefault(loss, []).append(case_levels(case))
    coverage = {}
    for loss, levels in rows.items():
        seen = achieved(levels)
        everywhere: dict[str, set] = {}
        for factors in seen.values():
            for factor, values in factors.items():
                everywhere.setdefault(factor, set()).update(values)
        probes = {p: f for p, f in seen.items() if p != "grid"}
        missing = {p: {f: sorted(v - set(factors.get(f, ()))) for f, v in everywhere.items()
                       if v - set(factors.get(f, ()))} for p, factors in probes.items()}
        coverage[loss] = {"probes": probes, "missing": {p: m for p, m in missing.items() if m}}
    return coverage


def coverage_lines(coverage: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """``run_coverage`` as text: per loss, per probe, the selector values it saw, then any missed."""
    lines = ["coverage: selector values each probe saw"]
    for loss, entry in coverage.items():
        lines.append(loss)
        for probe, factors in entry["probes"].items():
            seen = " · ".join(f"{factor} {','.join(values)}" for factor, values in factors.items()) or "(no selectors)"
            lines.append(f"  {probe:12s} {seen}")
        for probe, factors in entry["missing"].items():
            lines.append(f"  MISSED by {probe}: " + " · ".join(f"{f} {','.join(v)}" for f, v in factors.items()))
    return lines
