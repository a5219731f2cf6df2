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

from ..spec.core import ClassAxis, Elementwise, LossSpec


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
    batch_size = tensors["input"].shape[0] if tensors["input"].ndim else 1
    sizes = {name: int(t.size) for name, t in tensors.items()}
    if isinstance(spec.structure, Elementwise):
        return _elementwise(tensors, batch_size, sizes)
    if isinstance(spec.structure, ClassAxis):
        return _class_axis(spec.structure, tensors, options, batch_size, sizes)
    raise TypeError(f"unknown structure {spec.structure!r}")


def _flat_positions(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


def _elementwise(tensors: Mapping[str, np.ndarray], batch_size: int, sizes: dict[str, int]) -> UnitTable:
    out_shape = np.broadcast_shapes(*(t.shape for t in tensors.values()))
    values, positions = {}, {}
    for name, tensor in tensors.items():
        where = np.broadcast_to(_flat_positions(tensor.shape), out_shape).reshape(-1)
        positions[name] = where
        values[name] = tensor.reshape(-1)[where]
    size = int(np.prod(out_shape, dtype=np.int64))
    return UnitTable(values, positions, np.ones(size, bool), tuple(out_shape), 1, False, batch_size,
                     sizes)


def _class_rows(shape: tuple[int, ...]) -> np.ndarray:
    """Flat positions of each class-axis slice, one row per unit, shape (U, C)."""
    positions = _flat_positions(shape)
    if len(shape) == 1:
        return positions.reshape(1, -1)
    return np.moveaxis(positions, 1, -1).reshape(-1, shape[1])


def _class_axis(structure: ClassAxis, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                batch_size: int, sizes: dict[str, int]) -> UnitTable:
    logits = tensors["input"]
    unbatched = logits.ndim == 1
    num_classes = logits.shape[0] if unbatched else logits.shape[1]
    rows = _class_rows(logits.shape)
    units = rows.shape[0]
    values = {"input": logits.reshape(-1)[rows]}
    positions = {"input": rows}
    target = tensors["target"]
    index_target = target.shape != logits.shape
    kept = np.ones(units, bool)
    if index_target:
        classes = target.reshape(-1).astype(np.int64)
        kept = classes != options.get("ignore_index", -100)
        values["target"] = (classes[:, None] == np.arange(num_classes)).astype(np.float64)
    else:
        target_rows = _class_rows(target.shape)
        values["target"] = target.reshape(-1)[target_rows]
        positions["target"] = target_rows
    for name in structure.per_class:
        if name in tensors:
            per_class = np.broadcast_to(np.arange(num_classes), (units, num_classes))
            values[name] = tensors[name].reshape(-1)[per_class]
            positions[name] = per_class
    out_shape = () if unbatched else (logits.shape[0], *logits.shape[2:])
    return UnitTable(values, positions, kept, out_shape, num_classes, index_target, batch_size, sizes)
