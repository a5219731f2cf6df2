"""Structures: how a spec's tensors map to units (one element, one slice along an axis, one sequence)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from .unit import Unit


@dataclass(frozen=True)
class Elementwise:
    """Every tensor broadcasts to the output shape; one unit per output element.

    ``align_last`` names tensors that may come with one dimension fewer than
    the first required tensor (gaussian_nll_loss's ``var`` of shape (N,) for an
    input (N, D)); such a tensor gets a trailing dimension of size 1 first.
    """

    align_last: tuple[str, ...] = ()
    closed_form: ClassVar[bool] = True  # the unit loss is an expression SymPy differentiates
    free_row_length: ClassVar[bool] = False  # no rows: a symbolic representative has nothing to size
    complex_inputs: ClassVar[bool] = True  # a complex tensor reads as re + i·im
    sliced: ClassVar[tuple[str, ...]] = ()  # no tensor is cut into rows

    def is_row(self, name: str) -> bool:
        """Elementwise units read every tensor as one symbol."""
        return False

    def class_count(self, shapes: Mapping[str, tuple[int, ...]]) -> int:
        """No class axis: a class-index tensor draws from one class."""
        return 1

    def batch_followers(self, shapes: Mapping[str, tuple[int, ...]], first: str) -> tuple[str, ...] | None:
        """The tensors whose dim 0 is the batch, ``first`` (the first required tensor) with one dim or more
        and dim 0 ≥ 2, and every tensor with its dim-0 length; None where there is no such batch."""
        return _followers(shapes, first, 1, lambda name: True)

    def describe(self) -> str:
        """This structure in words (the formula reference's "Structure" section)."""
        text = "Elementwise: every tensor broadcasts to the output shape; one unit per output element."
        if self.align_last:
            text += f" {', '.join(self.align_last)} may have one dimension fewer (a trailing 1 is added)."
        return text


@dataclass(frozen=True)
class Slices:
    """One unit per slice of length K along ``axis`` of the ``sliced`` tensors.

    ``axis`` is 1 for a class axis (dim 0 when the tensor is 1-D, i.e.
    unbatched) or -1 for the last dim (vector losses: cosine, triplet), or
    None for one unit holding every element of the flattened sliced tensors
    (whole-tensor losses; the output is a scalar). The first sliced tensor
    fixes the slices; the output of ``reduction='none'`` is its shape without
    the axis.

    * ``index_target``: a tensor that may instead come as class indices (one
      dim fewer); it becomes a one-hot row, and a unit whose index equals the
      ``ignore_index`` option gets ``keep`` = 0.
    * ``per_unit``: tensors with one value per slice (shape of the output,
      broadcast to it), read as scalars.
    * ``per_class``: tensors of shape (C,) read whole by every unit.
    * ``shared``: required tensors of any shape read whole, flattened in C
      order, by every unit (fused_linear_cross_entropy's weight matrix); the
      gradient of such a tensor sums the units' contributions.
    * ``encode``: name → function mapping one integer row of that tensor to
      the K values a unit reads (e.g. a −1-terminated label list to per-class
      counts). Encoded tensors are not differentiable.
    * ``classes``: (tensor, dim) whose size is the class count C, where it is
      not the slice length K (fused_linear_cross_entropy: the weight's rows,
      while a unit slices an input row of H features). Default: C = K.
    * ``gathered``: name → space-separated labels of that tensor's dims, for
      tensors that no input of the output's shape holds (linear_cross_entropy's
      logits are computed, so its units are laid out by the input and the weight).
      ``n`` labels the batch dim and ``...`` the output's trailing dims d1..dK;
      every other label is a dim a unit reads whole, in the tensor's order. The
      units are then the output (n, d1..dK) (the sliced tensors and the index
      target are laid out like the class grid (n, C, d1..dK)), and unit (n, s)
      reads a gathered tensor at its own n and s: ``"n h"`` (input row n),
      ``"c ... h"`` (the weight's C·H values at position s). A label string
      without ``...`` may come without its leading ``n`` (an unbatched tensor).
      Units that read one element add their gradients, as for a shared tensor.

    Every sliced and encoded tensor reads as a list of K symbols, a one-hot
    index target and every per-class tensor as a list of C, a shared tensor
    as a list of its size, a gathered tensor as its dims read whole.
    """

    sliced: tuple[str, ...]
    axis: int | None = 1
    index_target: str | None = None
    per_unit: tuple[str, ...] = ()
    per_class: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    encode: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict, hash=False, compare=False)
    classes: tuple[str, int] | None = None
    gathered: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    closed_form: ClassVar[bool] = True
    complex_inputs: ClassVar[bool] = False

    @property
    def free_row_length(self) -> bool:
        """May a symbolic representative pick the row length (no shared tensor or class dim fixes it)?"""
        return not self.shared and self.classes is None

    def describe(self) -> str:
        """This structure in words (the formula reference's "Structure" section)."""
        axis = {1: "the class axis (dim 1; dim 0 unbatched)", -1: "the last dim", None: "the whole flattened tensor"}
        along = axis.get(self.axis, f"dim {self.axis}")
        parts = [f"Slices: one unit per slice along {along} of {', '.join(self.sliced)}."]
        if self.index_target:
            parts.append(f"{self.index_target} may come as class indices (one dim fewer): it becomes a one-hot "
                         "row, and a unit whose index equals ignore_index is dropped (keep = 0).")
        for label, names in (("Read once per unit", self.per_unit), ("Per class, shape (C,)", self.per_class),
                             ("Read whole by every unit", self.shared), ("Encoded rows", tuple(self.encode))):
            if names:
                parts.append(f"{label}: {', '.join(names)}.")
        if self.classes:
            parts.append(f"The class count C is dim {self.classes[1]} of {self.classes[0]}.")
        return " ".join(parts)

    def slice_length(self, shape: tuple[int, ...]) -> int:
        """K for a first sliced tensor of ``shape``."""
        if self.axis is None:
            return math.prod(shape)
        return shape[self.axis_of(shape)]

    def class_count(self, shapes: Mapping[str, tuple[int, ...]]) -> int:
        """C for tensors of ``shapes`` (name → shape): the ``classes`` dim, else K."""
        if self.classes is None:
            return self.slice_length(shapes[self.sliced[0]])
        name, dim = self.classes
        return shapes[name][dim]

    def axis_of(self, shape: tuple[int, ...]) -> int:
        """The sliced dimension of a tensor of ``shape`` (the class axis is dim 0 when 1-D)."""
        if self.axis is None:  # the flattened view has one dim
            return 0
        if self.axis == 1 and len(shape) == 1:
            return 0
        return self.axis % len(shape)

    def is_row(self, name: str) -> bool:
        """Does a unit read tensor ``name`` as a list of symbols?"""
        groups = (self.sliced, self.per_class, self.shared, self.encode, self.gathered)
        return name == self.index_target or any(name in group for group in groups)

    def dim_labels(self, name: str, ndim: int) -> tuple[str, ...]:
        """The labels of a gathered tensor of ``ndim`` dims, ``...`` spelled out as ``...0``, ``...1``."""
        labels = self.gathered[name].split()
        if "..." in labels:
            at = labels.index("...")
            extra = tuple(f"...{k}" for k in range(ndim - len(labels) + 1))
            return (*labels[:at], *extra, *labels[at + 1:])
        if labels[0] == "n" and ndim == len(labels) - 1:
            return tuple(labels[1:])
        return tuple(labels)

    def unit_dims(self, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, int]:
        """The output's dims from the gathered tensors' ``shapes``: label (``n``, ``...0``, ...) → size."""
        dims: dict[str, int] = {}
        for name in self.gathered:
            if name in shapes:
                for label, size in zip(self.dim_labels(name, len(shapes[name])), shapes[name]):
                    if label == "n" or label.startswith("..."):
                        dims.setdefault(label, size)
        return {label: dims[label] for label in sorted(dims, key=lambda d: (d != "n", len(d), d))}

    def follows_batch(self, name: str) -> bool:
        """Does tensor ``name`` have the batch dim as its dim 0 (not per-class, not gathered without ``n``)?"""
        if name in self.per_class:
            return False
        return name not in self.gathered or self.gathered[name].split()[0] == "n"

    @property
    def batch_source(self) -> str:
        """The tensor whose dim 0 is the batch dim: the first gathered with ``n``, else the first sliced."""
        return next((n for n, labels in self.gathered.items() if labels.split()[0] == "n"), self.sliced[0])

    def batch_followers(self, shapes: Mapping[str, tuple[int, ...]], first: str) -> tuple[str, ...] | None:
        """The tensors whose dim 0 is the batch: ``batch_source`` with two dims or more and dim 0 ≥ 2, and each
        tensor that ``follows_batch`` with its dim-0 length; None for whole-tensor units (``axis`` None)."""
        if self.axis is None:
            return None
        return _followers(shapes, self.batch_source, 2, self.follows_batch)


def ClassAxis(per_class: tuple[str, ...] = ("weight",)) -> Slices:
    """The class axis of ``input``, with a ``target`` of class indices or of the input's shape."""
    return Slices(sliced=("input", "target"), axis=1, index_target="target", per_class=per_class)


class ForwardBackward(NamedTuple):
    """A log-space forward–backward recursion on one unit (Rabiner's α/β lattice; CTC's, Graves et al. 2006):
    ``inputs`` x[t, k] for the steps read, ``states`` the class each state s emits (l'_s), ``forward``
    α_t(s), ``posterior`` w_t(s) = P(state s at step t | y) (empty when no path exists), ``occupation``
    γ_t(k) = Σ_{s: l'_s = k} w_t(s), and ``loss`` −log p(y | x) (+inf when no path exists)."""
    inputs: list[list[Any]]
    states: list[int]
    forward: list[list[Any]]
    posterior: list[list[Any]]
    occupation: list[list[Any]]
    loss: Any


@dataclass(frozen=True)
class Sequences:
    """One unit per sequence of a batch, whose loss is a recursion rather than a closed expression.

    The ``sequence`` tensor is (T, N, C) (unbatched: (T, C)); unit n reads its
    (T, C) slab as T rows of C numbers. ``per_unit`` tensors hold one integer
    per sequence ((N,), or 0-dim unbatched); ``labels`` holds each sequence's
    integer labels, either padded (N, S) or all rows concatenated in 1-D, the
    n-th row's length being ``per_unit`` tensor ``label_lengths``. Integer
    tensors are never differentiated.

    The spec evaluates numbers, not symbols: ``loss(unit)`` and the callables
    here receive a Unit whose ``ops`` is an arithmetic backend (mpmath for the
    oracle, SymPy for tiny symbolic expansions; see ``derivations.recursion``):

    * ``gradient(unit)``: ∂l/∂sequence, T rows of C numbers (the math);
    * ``backward(unit, gradient)``: what a kernel's backward returns instead,
      where a stated Convention differs from the math (None: the math);
    * ``forward_backward(unit)``: the forward–backward quantities (a ``ForwardBackward``) from which
      ``derivations.forward_backward_bounds`` derives the rounding magnitudes M of l and of each
      backward entry (a running-error bound of the recursion);
    * ``mean_scale(unit)``: mean = Σ_u mean_scale(u)·l_u / Σ_u d_u (None: 1).

    The integer tensors constrain one another (lengths, label rows, blank), so they are drawn
    jointly (``losscheck.drawing.sample_jointly``).
    """

    sequence: str
    per_unit: tuple[str, ...]
    labels: str
    label_lengths: str
    gradient: Callable[[Unit], Any] = field(hash=False, compare=False)
    forward_backward: Callable[[Unit], ForwardBackward] = field(hash=False, compare=False)
    backward: Callable[[Unit, Any], Any] | None = field(default=None, hash=False, compare=False)
    mean_scale: Callable[[Unit], Any] | None = field(default=None, hash=False, compare=False)
    closed_form: ClassVar[bool] = False  # a recursion evaluated on numbers; no SymPy gradient, no HVP
    sliced: ClassVar[tuple[str, ...]] = ()  # units are sequences, not rows of symbols
    free_row_length: ClassVar[bool] = False
    complex_inputs: ClassVar[bool] = False

    def is_row(self, name: str) -> bool:
        """A recursion's unit is not built from symbol rows."""
        return False

    def class_count(self, shapes: Mapping[str, tuple[int, ...]]) -> int:
        """The labels are drawn with the lengths (``sample_jointly``), never as free class indices."""
        return 1

    def batch_followers(self, shapes: Mapping[str, tuple[int, ...]], first: str) -> tuple[str, ...] | None:
        """Never resized: lengths and labels constrain one another."""
        return None

    def describe(self) -> str:
        """This structure in words (the formula reference's "Structure" section)."""
        return (f"Sequences: one unit per sequence of {self.sequence} ((T, N, C), or (T, C) unbatched); "
                f"per-sequence integers {', '.join(self.per_unit)}; labels {self.labels} (padded or concatenated). "
                "The unit loss is a recursion, not a closed form: the expressions below expand it on a tiny sequence.")

    def batched(self, shape: tuple[int, ...]) -> bool:
        """Is a sequence tensor of ``shape`` batched, (T, N, C), rather than (T, C)?"""
        return len(shape) == 3


def _followers(shapes: Mapping[str, tuple[int, ...]], first: str, least_dims: int,
               follows: Callable[[str], bool]) -> tuple[str, ...] | None:
    """The tensors sharing ``first``'s dim-0 length (among those ``follows`` admits), where ``first`` has at
    least ``least_dims`` dims and a dim 0 of 2 or more; else None."""
    first_shape = tuple(shapes[first])
    if len(first_shape) < least_dims or first_shape[0] < 2:
        return None
    return tuple(name for name, shape in shapes.items()
                 if follows(name) and len(shape) >= 1 and shape[0] == first_shape[0])


Structure = Elementwise | Slices | Sequences
