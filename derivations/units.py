"""Split concrete tensors into the units a spec's structure defines.

A ``UnitTable`` holds, for every tensor a unit reads, the values each unit
sees and the flat position in the original tensor each value came from (so
gradients can be scattered back, summing over broadcast copies and over the
units that read a shared tensor). Ignored units (class index equal to
``ignore_index``) are dropped: by convention they contribute exactly 0 to
value and gradient.

A complex tensor (complex dtype, or objects with an imaginary part) is held
as its real view: each element gives the pair (re, im), at flat positions
2k and 2k + 1, so its gradient comes out as ∂/∂re, ∂/∂im interleaved, the
layout of ``torch.view_as_real``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import singledispatch
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from ..spec.core import Elementwise, LossSpec, Sequences, Slices


@dataclass
class UnitTable:
    """Unit-major views of a case's tensors.

    ``values[name]`` has shape (U,) or (U, row length); ``positions[name]`` has the same
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
    complex_: tuple[str, ...] = ()

    @property
    def kept_units(self) -> np.ndarray:
        return np.flatnonzero(self.kept)


def split_units(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> UnitTable:
    """Map ``tensors`` (present ones only) to units under ``spec.structure``."""
    first = tensors[spec.required_tensors[0].name]
    batch_size = first.shape[0] if first.ndim else 1
    sizes = {name: int(t.size) for name, t in tensors.items()}
    if any(is_complex(t) for t in tensors.values()) and not spec.structure.complex_inputs:
        raise TypeError(f"{spec.name}: complex tensors are supported for elementwise structures only")
    return _split(spec.structure, first.ndim, tensors, options, batch_size, sizes)


@singledispatch
def _split(structure: Any, ndim: int, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
           batch_size: int, sizes: dict[str, int]) -> UnitTable:
    """The units of ``structure``: one registered splitter per structure type (below)."""
    raise TypeError(f"unknown structure {structure!r}: register a splitter for it in derivations.units")


def _flat_positions(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)


@_split.register
def _elementwise(structure: Elementwise, ndim: int, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
                 batch_size: int, sizes: dict[str, int]) -> UnitTable:
    shapes = {name: (*t.shape, 1) if name in structure.align_last and t.ndim == ndim - 1 else t.shape
              for name, t in tensors.items()}
    out_shape = np.broadcast_shapes(*shapes.values())
    values, positions = {}, {}
    complex_ = tuple(name for name, t in tensors.items() if is_complex(t))
    for name, tensor in tensors.items():
        where = np.broadcast_to(_flat_positions(tensor.shape).reshape(shapes[name]), out_shape).reshape(-1)
        positions[name] = where
        values[name] = tensor.reshape(-1)[where]
        if name in complex_:  # (re, im) per unit, at flat positions 2k, 2k + 1 of the real view
            real, imaginary = _parts(values[name])
            values[name] = np.stack([real, imaginary], axis=1)
            positions[name] = np.stack([2 * where, 2 * where + 1], axis=1)
            sizes[name] = 2 * int(tensor.size)
    size = int(np.prod(out_shape, dtype=np.int64))
    return UnitTable(values, positions, np.ones(size, bool), tuple(out_shape), 1, False, batch_size,
                     sizes, complex_)


def is_complex(tensor: np.ndarray) -> bool:
    """A complex dtype, or an object array holding complex numbers or SymPy expressions with i."""
    if tensor.dtype.kind == "c":
        return True
    if tensor.dtype != object:
        return False
    return any(isinstance(e, (complex, mpmath.mpc)) or (isinstance(e, sp.Basic) and e.has(sp.I))
               for e in tensor.reshape(-1))


def _parts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if values.dtype.kind == "c":
        return values.real.copy(), values.imag.copy()
    real = np.frompyfunc(lambda e: sp.re(e) if isinstance(e, sp.Basic) else e.real, 1, 1)(values)
    imaginary = np.frompyfunc(lambda e: sp.im(e) if isinstance(e, sp.Basic) else e.imag, 1, 1)(values)
    return real, imaginary


def real_view(tensor: np.ndarray) -> np.ndarray:
    """Flat values in the layout gradients use: (re, im) interleaved for a complex tensor."""
    if not is_complex(tensor):
        return tensor.reshape(-1)
    return np.stack(_parts(tensor.reshape(-1)), axis=1).reshape(-1)


def _rows(shape: tuple[int, ...], axis: int) -> np.ndarray:
    """Flat positions of each slice along ``axis``, one row per unit, shape (U, K)."""
    positions = _flat_positions(shape)
    return np.moveaxis(positions, axis, -1).reshape(-1, shape[axis])


@_split.register
def _slices(structure: Slices, ndim: int, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
            batch_size: int, sizes: dict[str, int]) -> UnitTable:
    if structure.axis is None:  # one unit: the sliced tensors flattened (flat positions are unchanged)
        tensors = {name: t.reshape(-1) if name in structure.sliced else t for name, t in tensors.items()}
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    classes = structure.class_count(shapes)
    if structure.gathered:  # the class grid (n, C, d1..dK) of the output's dims
        dims = structure.unit_dims(shapes)
        grid = tuple(dims.values())
        first_shape = (*grid[:1], classes, *grid[1:])
    else:
        dims, first_shape = {}, shapes[structure.sliced[0]]
    axis = structure.axis_of(first_shape)
    out_shape = first_shape[:axis] + first_shape[axis + 1:]
    values: dict[str, np.ndarray] = {}
    positions: dict[str, np.ndarray] = {}
    units = int(np.prod(out_shape, dtype=np.int64))
    kept = np.ones(units, bool)
    index_target = False
    ignore_index = options.get("ignore_index", -100)
    for name, tensor in tensors.items():
        if name == structure.index_target and tensor.shape != first_shape:
            index_target = True
            indices = tensor.reshape(-1).astype(np.int64)
            kept = indices != (-100 if ignore_index is None else ignore_index)  # None: PyTorch's default, -100
            values[name] = (indices[:, None] == np.arange(classes)).astype(np.float64)
        elif name in structure.gathered:
            where = _gathered_rows(structure.dim_labels(name, tensor.ndim), tensor.shape, dims, tuple(out_shape))
            values[name], positions[name] = tensor.reshape(-1)[where], where
        elif name in structure.encode:
            rows = tensor.reshape(-1)[_rows(tensor.shape, structure.axis_of(tensor.shape))]
            encoded = np.array([structure.encode[name](row) for row in rows], dtype=np.float64)
            values[name] = encoded.reshape(len(rows), -1) if len(rows) else np.zeros((0, classes))
        elif name in structure.sliced:
            where = _rows(tensor.shape, axis)
            values[name], positions[name] = tensor.reshape(-1)[where], where
        elif name in structure.per_class or name in structure.shared:  # read whole by every unit
            where = np.broadcast_to(np.arange(tensor.size), (units, tensor.size))
            values[name], positions[name] = tensor.reshape(-1)[where], where
        else:  # per unit: one value per slice, broadcast to the output shape
            where = np.broadcast_to(_flat_positions(tensor.shape), out_shape).reshape(-1)
            values[name], positions[name] = tensor.reshape(-1)[where], where
    return UnitTable(values, positions, kept, tuple(out_shape), classes, index_target, batch_size, sizes)


def _gathered_rows(labels: tuple[str, ...], shape: tuple[int, ...], dims: Mapping[str, int],
                   out_shape: tuple[int, ...]) -> np.ndarray:
    """Flat positions a unit reads in a gathered tensor, shape (U, row length): its output dims moved first
    (in output order, absent ones broadcast), the dims read whole after them, in the tensor's order."""
    unit_axes = [labels.index(d) for d in dims if d in labels]
    row_axes = [k for k, label in enumerate(labels) if label not in dims]
    where = np.transpose(_flat_positions(shape), unit_axes + row_axes)
    row_shape = tuple(shape[k] for k in row_axes)
    present = [d in labels for d in dims]
    where = where.reshape(tuple(size if p else 1 for size, p in zip(out_shape, present)) + row_shape)
    length = int(np.prod(row_shape, dtype=np.int64))
    units = int(np.prod(out_shape, dtype=np.int64))
    return np.broadcast_to(where, (*out_shape, *row_shape)).reshape(units, length)


@_split.register
def _sequences(structure: Sequences, ndim: int, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any],
               batch_size: int, sizes: dict[str, int]) -> UnitTable:
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
