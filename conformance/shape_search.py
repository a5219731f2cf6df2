"""Shape search: shape cases derived from a spec's declared ones, at the sizes where kernels switch paths.

Every dim of a declared shape case gets a **label** from the spec's structure, with no per-loss code:

* elementwise: the output's dims ``o0 … ok`` (every tensor broadcasts to the output, right-aligned; an
  ``align_last`` tensor one dim short gets a trailing 1 first); a tensor's dim of size 1 against a larger
  output dim is a broadcast dim and stays 1;
* class axis (``Slices`` with ``axis=1``): ``n``, ``c`` and the spatial dims ``s1 … sk`` of the first sliced
  tensor; a class-index target is it without ``c``, per-class tensors are ``(c,)``, per-unit tensors the
  output's dims.

A derived case sets new sizes per label and keeps each tensor's broadcast dims:

* elementwise, on the first case of two or more dims (else one): sizes 1 and 2; a prime last dim; last dims
  2^5 ± 1 whose totals leave vector tails of several lengths mod 4, 8, 16 and 32;
  totals just above 256, 1024 and 4096 (one row of 257, 1025 and 4097), which is also a class count past
  4096 for a per-class (last-dim) tensor; and, where the case has a middle dim, the last dim equal to it;
* class axis, on the first K-dim case (small C: the oracle's unit reads C symbols): the class count equal
  to the last spatial size, equal to the first, and the batch equal to the class count, and a second
  spatial dim where the declared case has one.

Structures this cannot label (recursions, gathered or shared tensors, encoded rows) get no derived cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import singledispatch
from typing import Any

from ..spec.core import Elementwise, LossSpec, ShapeCase, Slices

LARGE_SIZES = (257, 1025, 4097)
"""Totals just above 256, 1024 and 4096: as one row, also a class count past each of them."""
TAIL_SIZES = (31, 33)
"""Last dims 2^5 ± 1: with 3 rows and 1 (and the prime 13 with 3 rows) the totals leave tails of 1, 3, 5, 7, 13
and 29 elements mod 4, 8, 16 and 32."""


def _elementwise_labels(spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]]:
    structure = spec.structure
    first = tuple(case.shapes[spec.required_tensors[0].name])
    shapes = {}
    for name, shape in case.shapes.items():
        shape = tuple(shape)
        if name in structure.align_last and len(shape) == len(first) - 1:
            shape = (*shape, 1)
        shapes[name] = shape
    rank = max(len(s) for s in shapes.values())
    out = [max((s[len(s) - rank + i] for s in shapes.values() if len(s) - rank + i >= 0), default=1)
           for i in range(rank)]
    labels = {}
    for name, shape in shapes.items():
        offset = rank - len(shape)
        dims = tuple("1" if size == 1 and out[offset + j] != 1 else f"o{offset + j}" for j, size in enumerate(shape))
        labels[name] = dims[:-1] if len(shape) != len(case.shapes[name]) else dims
    return labels


def _class_axis_labels(spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]] | None:
    structure = spec.structure
    first = tuple(case.shapes[structure.sliced[0]])
    if len(first) < 2:
        return None
    spatial = tuple(f"s{k + 1}" for k in range(len(first) - 2))
    labels = {}
    for name, shape in case.shapes.items():
        if name in structure.per_class:
            labels[name] = ("c",)
        elif name in structure.sliced and len(shape) == len(first):
            labels[name] = ("n", "c", *spatial)
        elif name == structure.index_target and len(shape) == len(first) - 1:
            labels[name] = ("n", *spatial)
        elif name in structure.per_unit and len(shape) <= len(first) - 1:
            labels[name] = ("n", *spatial)[len(first) - 1 - len(shape):]
        else:
            return None
    return labels


def dim_labels(spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]] | None:
    """Tensor → a label per dim (see the module docstring), or None where the structure is not labelled."""
    return _labels(spec.structure, spec, case)


@singledispatch
def _labels(structure: Any, spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]] | None:
    return None  # a recursion's lengths and labels are not free sizes


@_labels.register
def _(structure: Elementwise, spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]] | None:
    return _elementwise_labels(spec, case)


@_labels.register
def _(structure: Slices, spec: LossSpec, case: ShapeCase) -> dict[str, tuple[str, ...]] | None:
    """A plain class axis only (dim 1, nothing shared, gathered, encoded or sized elsewhere)."""
    if (structure.axis == 1 and not structure.shared and not structure.gathered and not structure.encode
            and structure.classes is None):
        return _class_axis_labels(spec, case)
    return None


def resized(case: ShapeCase, labels: Mapping[str, tuple[str, ...]], sizes: Mapping[str, int],
            name: str) -> ShapeCase:
    """``case`` with each labelled dim at its new size (broadcast dims ``1`` stay)."""
    shapes = {t: tuple(sizes.get(label, size) if label != "1" else 1 for label, size in zip(labels[t], shape))
              for t, shape in case.shapes.items()}
    return replace(case, name=f"{name} (from {case.name})", shapes=shapes)


def _sizes_of(case: ShapeCase, labels: Mapping[str, tuple[str, ...]]) -> dict[str, int]:
    return {label: size for t, shape in case.shapes.items() for label, size in zip(labels[t], shape) if label != "1"}


def search_shapes(spec: LossSpec) -> list[ShapeCase]:
    """The derived shape cases of ``spec`` (see the module docstring), in a fixed order."""
    return _search(spec.structure, spec)


@singledispatch
def _search(structure: Any, spec: LossSpec) -> list[ShapeCase]:
    return _class_axis_search(spec)  # every labelled shape case (none for structures ``_labels`` declines)


@_search.register
def _(structure: Elementwise, spec: LossSpec) -> list[ShapeCase]:
    return _elementwise_search(spec)


def _elementwise_search(spec: LossSpec) -> list[ShapeCase]:
    first = spec.required_tensors[0].name
    cases = [c for c in spec.shape_cases if len(c.shapes[first]) >= 1]
    base = next((c for c in cases if len(c.shapes[first]) >= 2), cases[0] if cases else None)
    if base is None:
        return []
    labels = dim_labels(spec, base)
    sizes = _sizes_of(base, labels)
    last = f"o{len(base.shapes[first]) - 1}"
    head = "o0" if last != "o0" else None
    wanted: list[tuple[str, dict[str, int]]] = [("sizes 1", {head: 1, last: 1}), ("sizes 2", {head: 2, last: 2}),
                                                ("prime 13", {head: 3, last: 13})]
    wanted += [(f"tail {t}", {head: rows, last: t}) for t, rows in zip(TAIL_SIZES, (3, 1))]
    wanted += [(f"total {t}", {head: 1, last: t}) for t in LARGE_SIZES]
    middle = [label for label in sizes if label not in (head, last)]
    if middle:
        wanted.append(("last = middle", {last: sizes[middle[0]]}))
    return [resized(base, labels, {k: v for k, v in new.items() if k}, name) for name, new in wanted]


def _class_axis_search(spec: LossSpec) -> list[ShapeCase]:
    derived = []
    for case in spec.shape_cases:
        labels = dim_labels(spec, case)
        if labels is None:
            continue
        sizes = _sizes_of(case, labels)
        c = sizes["c"]
        spatial = sorted(label for label in sizes if label.startswith("s"))
        if not spatial and "n" in sizes:
            derived.append(resized(case, labels, {"n": c}, "batch = classes"))
        if spatial:
            derived.append(resized(case, labels, {spatial[-1]: c, **({spatial[0]: c + 1} if len(spatial) > 1
                                                                    else {})}, "classes = last spatial"))
        if len(spatial) > 1:
            derived.append(resized(case, labels, {spatial[0]: c, spatial[-1]: c - 1 or 2}, "classes = first spatial"))
        if len(spatial) == 1:
            derived.append(_second_spatial(case, labels, c + 1))
    return derived


def _second_spatial(case: ShapeCase, labels: Mapping[str, tuple[str, ...]], size: int) -> ShapeCase:
    """``case`` with a second spatial dim of ``size`` after its one spatial dim ``s1``."""
    shapes = {}
    for t, shape in case.shapes.items():
        at = labels[t].index("s1") + 1 if "s1" in labels[t] else None
        shapes[t] = tuple(shape) if at is None else (*shape[:at], size, *shape[at:])
    return replace(case, name=f"two spatial dims (from {case.name})", shapes=shapes)
