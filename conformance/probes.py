"""The gate's probes: cases beyond the option grid, where kernels really break.

The option grid (``cases.generate_cases``) sweeps every option value over the
spec's shape cases in the spec's own regimes. The probes add, for every spec,
with no per-loss code, these probe kinds (``probe_slots``):

* **regimes**: per shape case, ``tiny`` (magnitudes down to the subnormals of
  every dtype) and ``mixed`` (tiny, typical and large magnitudes of both signs,
  values near float16's overflow, signed and zero weights);
* **modes**: per shape case, in the ``interior`` regime, run twice for
  determinism, in forward mode (JVP) and through double backward (HVP);
* **sizes**: on the first shape case with a batch dim, a single row, an empty
  batch, and an odd batch of at least ``LARGE_REDUCTION`` units (rows cycled
  from the drawn ones), to expose low-precision accumulation;
* **layouts**: the same values passed transposed, sliced and expanded;
* **shapes**: the shape cases ``shape_search`` derives from the declared ones
  (sizes 1, 2, primes, vector tails, totals past 256/1024/4096, equal sizes),
  values repeating with period ``SEARCH_PERIOD`` per dim.

Each probe runs at several rows of a pairwise covering array (``coverage``)
over the probe kind, the shape case and the code-path selectors (each optional
tensor present or absent, each option value), so that every probe sees every
selector value (the large reduction also without ``weight=``, under every
reduction) and every two selector values meet in some probe.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from ..derivations.units import split_units
from ..spec.core import PROBE_REGIMES, LossSpec, ShapeCase
from .cases import Case, batch_tensors, expandable, option_grid
from .coverage import Row, covering_rows
from .extra_checks import EXTRA_CHECKS
from .shape_search import search_shapes

LARGE_REDUCTION = 4096


def _supports(spec: LossSpec, shape_case: ShapeCase, present: tuple[str, ...], options: dict, regime: str) -> bool:
    """Does some present tensor draw ``regime`` values of its own?"""
    return any(shape_case.domains.get(n, spec.tensor(n).domain_for(options)).supports(regime) for n in present)


def _present_sets(spec: LossSpec) -> list[tuple[str, ...]]:
    optional = [t.name for t in spec.optional_tensors]
    sets = []
    for mask in itertools.product((True, False), repeat=len(optional)):
        chosen = {name for name, on in zip(optional, mask) if on}
        sets.append(tuple(t.name for t in spec.tensors if not t.optional or t.name in chosen))
    return sets


def large_batch(spec: LossSpec, batched: ShapeCase, every: tuple[str, ...], options: dict, seed: int) -> int:
    """An odd batch of at least ``LARGE_REDUCTION`` units of ``batched`` (rows cycled)."""
    units = max(len(split_units(spec, Case(spec, batched, every, options, "typical", seed, 0).raw_tensors(),
                                options).kept), 1)
    rows = batched.shapes[batch_tensors(spec, batched)[0]][0]
    return -(-LARGE_REDUCTION * rows // units) | 1


def probe_slots(spec: LossSpec, seed: int) -> list[tuple[str, ShapeCase, dict[str, Any]]]:
    """(probe kind, shape case, the case's variant: regime, batch, layout, checks) for every probe of ``spec``."""
    every = tuple(t.name for t in spec.tensors)
    slots: list[tuple[str, ShapeCase, dict[str, Any]]] = []
    for shape_case in spec.shape_cases:
        slots += [(regime, shape_case, {"regime": regime}) for regime in PROBE_REGIMES]
        slots.append(("modes", shape_case, {"regime": "interior", "checks": EXTRA_CHECKS}))
    batched = next((sc for sc in spec.shape_cases if batch_tensors(spec, sc)), None)
    if batched is not None:
        large = large_batch(spec, batched, every, option_grid(spec, batched)[0], seed)
        slots += [("one row", batched, {"batch": 1}), ("empty batch", batched, {"batch": 0}),
                  ("large", batched, {"batch": large})]
    layout_case = next((sc for sc in spec.shape_cases if any(len(s) for s in sc.shapes.values())), None)
    if layout_case is not None:
        slots += [(layout, layout_case, {"layout": layout}) for layout in ("transposed", "sliced")]
        if batched is not None and expandable(spec, batched, every):
            slots.append(("expanded", batched, {"layout": "expanded"}))
    slots += [("shapes", shape_case, {"period": SEARCH_PERIOD}) for shape_case in search_shapes(spec)]
    return slots


SEARCH_PERIOD = 7
"""Derived shapes repeat values drawn on at most 7 per dim (prime: no power-of-two stride aliases them)."""
PROBE_COST = {"large": 8.0, "modes": 2.0}
"""Relative cost of a probe's case (oracle work), so that pairs are covered by cheap probes where they can be."""


def _valid(spec: LossSpec, shape_case: ShapeCase, present: tuple[str, ...], options: dict,
           variant: Mapping[str, Any]) -> bool:
    """Can this probe run as intended with these tensors and options?"""
    regime = variant.get("regime", "typical")
    if regime in PROBE_REGIMES and not _supports(spec, shape_case, present, options, regime):
        return False
    return variant.get("layout") != "expanded" or bool(expandable(spec, shape_case, present))


def probe_cases(spec: LossSpec, seed: int, first_number: int, fixed: Mapping[str, Any] | None = None) -> list[Case]:
    """The probes of ``spec`` (see the module docstring), numbered from ``first_number``; ``fixed`` options
    are held at one value, as in ``generate_cases``."""
    optional = [t.name for t in spec.optional_tensors]
    slots = {(kind, shape_case.name): (shape_case, variant) for kind, shape_case, variant in probe_slots(spec, seed)}
    loose = {"shapes": frozenset(o.name for o in spec.options)}  # each derived shape meets every tensor subset
    candidates = [Row(kind, name, frozenset(present), options, loose.get(kind, frozenset()))
                  for (kind, name), (shape_case, variant) in slots.items()
                  for present in _present_sets(spec) for options in option_grid(spec, shape_case, fixed)
                  if _valid(spec, shape_case, present, options, variant)]
    sizes = {key: max(math.prod(s) for s in shape_case.shapes.values()) for key, (shape_case, _) in slots.items()}
    rows = covering_rows(candidates, optional, seed, spec.name,
                         lambda row: PROBE_COST.get(row.probe, 1.0) + sizes[(row.probe, row.shape)] / 512)
    rows.sort(key=lambda row: list(slots).index((row.probe, row.shape)))  # plan order: by probe, as declared
    cases = []
    for row in rows:
        shape_case, variant = slots[(row.probe, row.shape)]
        present = tuple(t.name for t in spec.tensors if t.name in row.present or not t.optional)
        variant = {"regime": "typical", **variant}
        cases.append(Case(spec, shape_case, present, dict(row.options), seed=seed,
                          number=first_number + len(cases), probe=row.probe, **variant))
    return cases
