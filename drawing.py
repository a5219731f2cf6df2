"""Drawing values from a spec's domains: the NumPy side of ``losscheck.spec.domains`` (used by the
conformance cases and the Lean bridge's link checks alike).

A spec declares domains (bounds, edges, regimes, planted values and rows); this module draws from
them with a ``numpy.random.Generator``, one drawing function per domain class (``functools``
single dispatch), so ``spec/`` stays math only. The distributions are the ones each domain's
docstring states:

* reals: ``typical`` N(0, 2²); ``large`` ±10^U(2, log10 large_scale); ``tiny`` ±10^U(−8, −3) with
  ``SUBNORMALS`` planted; ``mixed`` one of those three per element, with 3e4 planted (float16
  overflows its square and the sum of two);
* edges are written into distinct random slots (at most half of them), as SciPy's
  ``_mptestutils`` does, except in the ``interior`` regime.

Class indices, label lists and sequence lengths are drawn by ``sample_classes`` and
``sample_sequences``, which know the class count and the structure's constraints.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from functools import singledispatch
from typing import Any

import numpy as np

from .spec.domains import (
    SUBNORMALS,
    Choices,
    ClassIndex,
    Domain,
    Interval,
    LabelLists,
    Lattice,
    LogProbabilityRows,
    NonPositive,
    PlantedRows,
    SequenceLengths,
    Weight,
)
from .spec.signature import ShapeCase
from .spec.structure import Sequences

Shape = tuple[int, ...]


@singledispatch
def sample(domain: Domain, rng: np.random.Generator, shape: Shape, regime: str = "typical") -> np.ndarray:
    """Values of ``domain`` in ``regime``, its edges mixed in (not in ``interior``)."""
    values = _draw(domain, rng, shape, regime)
    if domain.edges and values.size >= 2 and regime != "interior":
        flat = values.reshape(-1)
        slots = rng.choice(flat.size, size=min(len(domain.edges), flat.size // 2), replace=False)
        flat[slots] = domain.edges[: len(slots)]
    return values


@sample.register
def _planted_rows(domain: PlantedRows, rng: np.random.Generator, shape: Shape, regime: str = "typical") -> np.ndarray:
    values = sample(domain.base, rng, shape, regime)
    if len(shape) == 0 or shape[-1] == 0 or regime == "interior":
        return values
    flat = values.reshape(-1, shape[-1])
    count = min(len(domain.rows), flat.shape[0] - 1)
    if count <= 0:
        return values
    length = shape[-1]
    for slot, row in zip(rng.choice(flat.shape[0], size=count, replace=False), domain.rows):
        flat[slot] = rng.permutation([row[i % len(row)] for i in range(length)])
    return values


def _plant(rng: np.random.Generator, values: np.ndarray, planted: Sequence[float]) -> np.ndarray:
    """Write ``planted`` into distinct random slots of ``values`` (at most half of them)."""
    flat = values.reshape(-1)
    count = min(len(planted), flat.size // 2)
    if count:
        flat[rng.choice(flat.size, size=count, replace=False)] = planted[:count]
    return values


def _tiny(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Magnitudes log-uniform in [1e-8, 1e-3] (float16 subnormal below 6e-5), with SUBNORMALS planted."""
    return _plant(rng, np.asarray(10.0 ** rng.uniform(-8.0, -3.0, size=shape)), SUBNORMALS)


def _mixed(rng: np.random.Generator, shape: Shape, large_scale: float, planted: Sequence[float] = (3e4,)) -> np.ndarray:
    """Magnitudes, per element one of: typical (|N(0, 2²)|), tiny, or large (1e2 … large_scale), with
    ``planted`` (by default 3e4: within a factor of 2.2 of float16's largest finite value 65504, so its
    square, and the sum of two such values of one sign, overflow while single values do not)."""
    kinds = rng.integers(0, 3, size=shape)
    values = np.asarray(abs(rng.standard_normal(shape)) * 2.0)
    values = np.where(kinds == 1, _tiny(rng, shape), values)
    values = np.where(kinds == 2, 10.0 ** rng.uniform(2.0, math.log10(large_scale), size=shape), values)
    return _plant(rng, values, planted)


@singledispatch
def _draw(domain: Domain, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    signs = rng.choice([-1.0, 1.0], size=shape)
    if regime == "large":
        return 10.0 ** rng.uniform(2.0, math.log10(domain.large_scale), size=shape) * signs
    if regime == "tiny":
        return _tiny(rng, shape) * signs
    if regime == "mixed":
        return _mixed(rng, shape, domain.large_scale) * signs
    return rng.standard_normal(shape) * 2.0


@_draw.register
def _interval(domain: Interval, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    if regime == "interior":  # 1% clear of each end, so no dtype rounds a value onto one
        margin = (domain.hi - domain.lo) / 100
        return np.asarray(rng.uniform(domain.lo + margin, domain.hi - margin, size=shape))
    uniform = np.asarray(rng.uniform(domain.lo, domain.hi, size=shape))
    if regime not in ("tiny", "mixed"):
        return uniform
    offset = np.minimum(_tiny(rng, shape), (domain.hi - domain.lo) / 2)
    near = np.where(rng.integers(0, 2, size=shape) == 1, domain.lo + offset, domain.hi - offset)
    if regime == "tiny":
        return near
    kinds = rng.integers(0, 3, size=shape)
    ends = rng.choice([domain.lo, domain.hi], size=shape)
    return np.where(kinds == 0, uniform, np.where(kinds == 1, near, ends))


@_draw.register
def _weight(domain: Weight, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    if regime != "mixed":
        return np.asarray(rng.uniform(domain.lo, domain.hi, size=shape))
    return _plant(rng, np.asarray(rng.uniform(-domain.hi, domain.hi, size=shape)), (0.0,))


@_draw.register
def _lattice(domain: Lattice, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    if regime == "interior":  # off the lattice: no kink is hit
        values = rng.uniform(domain.lo, domain.hi, size=shape)
    else:
        lo, hi = math.ceil(domain.lo / domain.step), math.floor(domain.hi / domain.step)
        values = rng.integers(lo, hi + 1, size=shape) * domain.step
    if domain.leading_rows:
        flat = values.reshape(-1, shape[-1])
        for slot, row in enumerate(domain.leading_rows[: flat.shape[0]]):
            flat[slot] = row[: shape[-1]]
    return values


@_draw.register
def _choices(domain: Choices, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    values = rng.choice(domain.values, size=shape)
    if domain.planted:
        flat = values.reshape(-1)
        planted = domain.planted[: flat.size]
        flat[: len(planted)] = planted
        rng.shuffle(flat)
    return values


@_draw.register
def _non_positive(domain: NonPositive, rng: np.random.Generator, shape: Shape, regime: str) -> np.ndarray:
    if regime == "tiny":
        return -_tiny(rng, shape)
    if regime == "mixed":
        return -_mixed(rng, shape, 1e4, planted=(0.0, 1e4))
    return -rng.exponential(2.0, size=shape)


@_draw.register
def _log_probability_rows(domain: LogProbabilityRows, rng: np.random.Generator, shape: Shape,
                          regime: str) -> np.ndarray:
    logits = rng.standard_normal(shape) * 2.0
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


# ------------------------------------------------------------ class indices ---


@singledispatch
def sample_classes(domain: ClassIndex, rng: np.random.Generator, shape: Shape, num_classes: int) -> np.ndarray:
    """Indices in [0, C) with 1, 0 and C − 1 planted first, then shuffled."""
    values = rng.integers(0, num_classes, size=shape)
    flat = values.reshape(-1)
    planted = [1 % num_classes, 0, num_classes - 1][: flat.size]
    flat[: len(planted)] = planted
    rng.shuffle(flat)
    return values


@sample_classes.register
def _label_lists(domain: LabelLists, rng: np.random.Generator, shape: Shape, num_classes: int) -> np.ndarray:
    """A full row, an empty row (−1 first) and rows of random length, each ended by −1, shuffled."""
    rows = rng.integers(-1, num_classes, size=shape).reshape(-1, shape[-1] if shape else 1)
    for r, row in enumerate(rows):
        length = [num_classes, 0][r] if r < 2 and len(rows) > 1 else int(rng.integers(1, num_classes + 1))
        row[:length] = rng.integers(0, num_classes, size=length)
        if length < row.size:
            row[length] = -1
    rng.shuffle(rows)
    return rows.reshape(shape)


# ---------------------------------------------------------------- sequences ---


@singledispatch
def sample_jointly(structure: Any, rng: np.random.Generator, shape_case: ShapeCase,
                   options: Mapping[str, Any]) -> dict[str, Any]:
    """The integer tensors a structure draws together, because they constrain one another (none for most
    structures: each tensor is drawn from its own domain)."""
    return {}


@sample_jointly.register
def sample_sequences(structure: Sequences, rng: np.random.Generator, shape_case: ShapeCase,
                     options: Mapping[str, Any]) -> dict[str, Any]:
    """A ``Sequences`` structure's integer tensors, drawn together: input lengths, label lengths, labels.

    Sequence 0 always uses all T steps; label lengths range over 0..S (a padded batch of three or
    more has a zero length); labels avoid ``blank`` and sequence 0 repeats one (a repeat needs a
    blank between). A labels shape of (L,) means concatenated rows, of at most L labels in all.
    Input lengths are raised to what each row needs (labels plus one blank per repeat), so every
    other sequence has a path. Where the input lengths' domain is ``one_short``, sequence 1 gets S
    labels and one step fewer than they need (S ≥ 2): no path.
    """
    inputs_name = next(n for n in structure.per_unit if n != structure.label_lengths)
    shapes = shape_case.shapes
    sequence_shape = shapes[structure.sequence]
    steps, batch, classes = ((sequence_shape[0], sequence_shape[1], sequence_shape[2]) if len(sequence_shape) == 3
                             else (sequence_shape[0], None, sequence_shape[1]))
    labels = [c for c in range(classes) if c != options.get("blank", 0)]
    target_shape = shapes[structure.labels]
    concatenated = batch is not None and len(target_shape) == 1
    width = target_shape[-1] if not concatenated else min(target_shape[0], steps // 2 + 1)
    count = batch or 1
    input_lengths = [steps] + [int(rng.integers(max(steps - 2, 1), steps + 1)) for _ in range(count - 1)]
    if concatenated:
        lengths = _partition(rng, target_shape[0], count, width)
    else:
        lengths = [int(rng.integers(0, width + 1)) for _ in range(count)]
        if count >= 3:
            lengths[2] = 0
        lengths[0] = max(lengths[0], min(2, width))
    domain = shape_case.domains.get(inputs_name)
    infeasible = 1 if isinstance(domain, SequenceLengths) and domain.one_short else None
    if infeasible is not None:
        lengths[infeasible] = width
    rows = []
    for n in range(count):
        row = [int(v) for v in rng.choice(labels, size=lengths[n])]
        if n == 0 and len(row) >= 2:
            row[1] = row[0]  # a repeated label
        rows.append(row)
    for n in range(count):
        while _needed(rows[n]) > steps + (n == infeasible):  # a chance repeat can make a row too long
            rows[n].pop()
        lengths[n] = len(rows[n])
        needed = _needed(rows[n])
        input_lengths[n] = needed - 1 if n == infeasible else max(input_lengths[n], needed)
    if concatenated:
        targets: list[Any] = [v for row in rows for v in row]
    else:
        targets = [row + [labels[0]] * (width - len(row)) for row in rows]  # padding is never read
    names = (structure.labels, inputs_name, structure.label_lengths)
    if batch is None:
        return dict(zip(names, (targets[0], input_lengths[0], lengths[0])))
    return dict(zip(names, (targets, input_lengths, lengths)))


def _needed(row: list[int]) -> int:
    """The fewest steps a path for ``row`` takes: one per label, one per blank between repeats."""
    return len(row) + sum(a == b for a, b in itertools.pairwise(row))


def _partition(rng: np.random.Generator, total: int, parts: int, most: int) -> list[int]:
    """``parts`` lengths in [0, most] summing to ``total``."""
    lengths = [0] * parts
    for _ in range(total):
        open_slots = [n for n in range(parts) if lengths[n] < most]
        lengths[int(rng.choice(open_slots))] += 1
    return lengths
