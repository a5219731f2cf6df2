"""Split concrete tensors into the units a spec's structure defines.

A ``UnitTable`` holds, for every tensor a unit reads, the values each unit
sees and the flat position in the original tensor each value came from (so
gradients can be scattered back, summing over broadcast copies). Ignored
units (class index equal to ``ignore_index``) are dropped: by convention they
contribute exactly 0 to value and gradient.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spec.core import Elementwise, LossSpec, Sequences, Slices


@dataclass
class UnitTable:
    """Unit-major views of a case's tensors.

    ``values[name]`` has shape (U,) or (U, C); ``positions[name]`` has the same
    shape and holds flat indices into the tensor ``name`` (absent for tensors
    that are not real inputs, such as one-hot rows built from class indices).
    ``kept`` marks the units of the ``none`` output that are not ignored.
    """

    values: dict[str, np.ndarray]
    positions: dict[str, np.ndarray]
    kept: np.ndarray
    out_shape: tuple[int, ...]
    num_classes: int
    index_target: bool
    batch_size: int
    sizes: dict[str, int]

    @property
    def kept_units(self) -> np.ndarray:
        return np.flatnonzero(self.kept)


def split_units(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> UnitTable:
    """Map ``tensors`` (present ones only) to units under ``spec.structure``."""
    first = tensors[spec.required_tensors[0].name]
    batch_size = first.shape[0] if first.ndim else 1
    sizes = {name: int(t.size) for name, t in tensors.items()}
    if isinstance(spec.structure, Elementwise):
        return _elementwise(spec.structure, first.ndim, tensors, batch_size, sizes)
    if isinstance(spec.structure, Slices):
        return _slices(spec.structure, tensors, options, batch_size, sizes)
    if isinstance(spec.structure, Sequences):
        return _sequences(spec.structure, tensors, batch_size, sizes)
    raise TypeError(f"unknown structure {spec.structure!r}")


def _flat_positions(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


def _elementwise(structure: Elementwise, ndim: int, tensors: Mapping[str, np.ndarray], batch_size: int,
                 sizes: dict[str, int]) -> UnitTable:
    shapes = {name: (*t.shape, 1) if name in structure.align_last and t.ndim == ndim - 1 else t.shape
              for name, t in tensors.items()}
    out_shape = np.broadcast_shapes(*shapes.values())
    values, positions = {}, {}
    for name, tensor in tensors.items():
        where = np.broadcast_to(_flat_positions(tensor.shape).reshape(shapes[name]), out_shape).reshape(-1)
        positions[name] = where
        values[name] = tensor.reshape(-1)[where]
    size = int(np.prod(out_shape, dtype=np.int64))
    return UnitTable(values, positions, np.ones(size, bool), tuple(out_shape), 1, False, batch_size,
                     sizes)


def _rows(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Flat positions of each slice along ``axis``, one row per unit, shape (U, K)."""
    positions = _flat_positions(shape)
    return np.moveaxis(positions, axis, -1).reshape(-1, shape[axis])


def _slices(structure: Slices, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
            batch_size: int, sizes: dict[str, int]) -> UnitTable:
    first = tensors[structure.sliced[0]]
    axis = structure.axis_of(first.shape)
    length = first.shape[axis]
    out_shape = first.shape[:axis] + first.shape[axis + 1:]
    values: dict[str, np.ndarray] = {}
    positions: dict[str, np.ndarray] = {}
    units = int(np.prod(out_shape, dtype=np.int64))
    kept = np.ones(units, bool)
    index_target = False
    for name, tensor in tensors.items():
        if name == structure.index_target and tensor.shape != first.shape:
            index_target = True
            classes = tensor.reshape(-1).astype(np.int64)
            kept = classes != options.get("ignore_index", -100)
            values[name] = (classes[:, None] == np.arange(length)).astype(np.float64)
        elif name in structure.encode:
            rows = tensor.reshape(-1)[_rows(tensor.shape, structure.axis_of(tensor.shape))]
            values[name] = np.array([structure.encode[name](row) for row in rows], dtype=np.float64)
        elif name in structure.sliced:
            where = _rows(tensor.shape, axis)
            values[name], positions[name] = tensor.reshape(-1)[where], where
        elif name in structure.per_class:
            where = np.broadcast_to(np.arange(length), (units, length))
            values[name], positions[name] = tensor.reshape(-1)[where], where
        else:  # per unit: one value per slice, broadcast to the output shape
            where = np.broadcast_to(_flat_positions(tensor.shape), out_shape).reshape(-1)
            values[name], positions[name] = tensor.reshape(-1)[where], where
    return UnitTable(values, positions, kept, tuple(out_shape), length, index_target, batch_size, sizes)


def _sequences(structure: Sequences, tensors: Mapping[str, np.ndarray], batch_size: int,
               sizes: dict[str, int]) -> UnitTable:
    """One unit per sequence: its (T, C) slab, its per-unit integers, and its label row (a tuple)."""
    sequence = tensors[structure.sequence]
    batched = structure.batched(sequence.shape)
    where = _flat_positions(sequence.shape)
    where = np.moveaxis(where, 1, 0) if batched else where[None]
    units = where.shape[0]
    values = {structure.sequence: sequence.reshape(-1)[where]}
    positions = {structure.sequence: where}
    for name in structure.per_unit:
        values[name] = np.asarray(tensors[name]).reshape(-1).astype(np.int64)
    labels = np.asarray(tensors[structure.labels]).astype(np.int64)
    lengths = values[structure.label_lengths]
    if batched and labels.ndim == 1:  # concatenated rows
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows = [tuple(labels[s:s + n]) for s, n in zip(starts, lengths)]
    else:
        padded = labels.reshape(units, -1)
        rows = [tuple(padded[u, :n]) for u, n in enumerate(lengths)]
    values[structure.labels] = np.empty(units, dtype=object)
    values[structure.labels][:] = rows
    out_shape = (units,) if batched else ()
    return UnitTable(values, positions, np.ones(units, bool), out_shape, int(sequence.shape[-1]), False,
                     batch_size, sizes)
