"""The gate's probes: cases beyond the option grid, where kernels really break.

The option grid (``cases.generate_cases``) sweeps every option value over the
spec's shape cases in the spec's own regimes. The probes add, for every spec,
with no per-loss code:

* **regimes**: per shape case, the ``tiny`` regime (magnitudes down to the
  subnormals of every dtype) and the ``mixed`` regime (tiny, typical and large
  magnitudes of both signs, values near float16's overflow, signed and zero
  weights), each at a grid point drawn by the seed, with every optional tensor;
* **sizes**: on the first shape case with a batch dim, a single row (``none``,
  so the output keeps its batch dim), an empty
  batch, and an odd batch of at least ``LARGE_REDUCTION`` units (rows cycled
  from the drawn ones) under ``mean`` and ``sum``, to expose low-precision
  accumulation;
* **layouts**: the same values passed transposed, sliced and expanded;
* **checks**: per shape case, the defaults and a drawn grid point, in the
  ``interior`` regime, are run twice for determinism, in forward mode (JVP) and
  through double backward (HVP).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..derivations.units import split_units
from ..spec.core import PROBE_REGIMES, LossSpec, ShapeCase
from .cases import Case, batch_tensors, expandable, option_grid
from .extra_checks import EXTRA_CHECKS

LARGE_REDUCTION = 4096




def _with(options: dict, **changes: object) -> dict:
    return {**options, **{k: v for k, v in changes.items() if k in options}}


def _supports(spec: LossSpec, shape_case: ShapeCase, present: tuple[str, ...], options: dict, regime: str) -> bool:
    """Does some present tensor draw ``regime`` values of its own?"""
    return any(shape_case.domains.get(n, spec.tensor(n).domain_for(options)).supports(regime) for n in present)


def probe_cases(spec: LossSpec, seed: int, first_number: int, fixed: Mapping[str, Any] | None = None) -> list[Case]:
    """The probes of ``spec`` (see the module docstring), numbered from ``first_number``; ``fixed`` options
    are held at one value, as in ``generate_cases``."""
    rng = np.random.default_rng([seed, zlib.crc32(f"probes/{spec.name}".encode())])
    every = tuple(t.name for t in spec.tensors)
    required = tuple(t.name for t in spec.required_tensors)
    cases: list[Case] = []

    def add(shape_case: ShapeCase, present: tuple[str, ...], options: dict, regime: str = "typical",
            **variant: object) -> None:
        cases.append(Case(spec, shape_case, present, options, regime, seed, first_number + len(cases), **variant))

    for shape_case in spec.shape_cases:
        grid = option_grid(spec, shape_case, fixed)
        defaults = grid[0]
        for regime in PROBE_REGIMES:
            options = grid[int(rng.integers(len(grid)))]
            if _supports(spec, shape_case, every, options, regime):
                add(shape_case, every, options, regime)
        add(shape_case, required, defaults, "interior", checks=EXTRA_CHECKS)
        add(shape_case, every, grid[int(rng.integers(len(grid)))], "interior", checks=EXTRA_CHECKS)

    batched = next((sc for sc in spec.shape_cases if batch_tensors(spec, sc)), None)
    if batched is not None:
        defaults = option_grid(spec, batched, fixed)[0]
        units = max(len(split_units(spec, Case(spec, batched, every, defaults, "typical", seed, 0).raw_tensors(),
                                    defaults).kept), 1)
        rows = batched.shapes[batch_tensors(spec, batched)[0]][0]
        large = -(-LARGE_REDUCTION * rows // units) | 1  # odd, and at least LARGE_REDUCTION units
        add(batched, every, _with(defaults, reduction="none"), batch=1)  # a one-row batch keeps its batch dim
        add(batched, every, defaults, batch=0)
        for reduction in ("mean", "sum"):
            add(batched, every, _with(defaults, reduction=reduction), batch=large)
    layout_case = next((sc for sc in spec.shape_cases if any(len(s) for s in sc.shapes.values())), None)
    if layout_case is not None:
        defaults = option_grid(spec, layout_case, fixed)[0]
        for layout in ("transposed", "sliced"):
            add(layout_case, every, defaults, layout=layout)
        if batched is not None and expandable(spec, batched, every):
            add(batched, every, _with(option_grid(spec, batched, fixed)[0], reduction="none"), layout="expanded")
    return cases
