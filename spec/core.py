"""The vocabulary every loss spec is written in: tensors, domains, options, structure.

A spec is data. It names a loss's inputs and their domains, its options with
defaults and valid values, the structure that maps tensors to *units* (one
element, or one slice along the class axis), the per-unit loss as a SymPy
expression, and the PyTorch conventions it follows (the TorchLean declarations
it mirrors are linked in ``lean_bridge.registry``).
Nothing here imports torch or mpmath or does I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

# ---------------------------------------------------------------- domains ---


@dataclass(frozen=True)
class Domain:
    """A set of valid values for a tensor, and how to draw from it.

    ``sample(rng, shape, regime)`` takes a ``numpy.random.Generator``. Regimes
    name value ranges: ``typical`` always exists; ``large`` (magnitudes up to
    ``large_scale``) exists where the domain allows it. Edge values are mixed
    in, as SciPy's ``_mptestutils`` does, so boundaries are always exercised.
    """

    name: str
    lo: float = -math.inf
    hi: float = math.inf
    edges: tuple[float, ...] = ()
    regimes: tuple[str, ...] = ("typical",)
    large_scale: float = 1e4

    def sample(self, rng: Any, shape: tuple[int, ...], regime: str = "typical") -> Any:
        values = self._draw(rng, shape, regime)
        if self.edges and values.size >= 2 and regime != "interior":
            flat = values.reshape(-1)
            slots = rng.choice(flat.size, size=min(len(self.edges), flat.size // 2), replace=False)
            flat[slots] = self.edges[: len(slots)]
        return values

    def supports(self, regime: str) -> bool:
        """Does ``_draw`` give ``regime`` its own values? (The option grid sweeps only ``regimes``;
        the gate's probes also ask for ``tiny`` and ``mixed`` wherever a domain supports them.)"""
        return regime == "typical" or regime in self.regimes or (
            regime in PROBE_REGIMES and type(self)._draw is Domain._draw and self.lo == -math.inf)

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        signs = rng.choice([-1.0, 1.0], size=shape)
        if regime == "large":
            return 10.0 ** rng.uniform(2.0, math.log10(self.large_scale), size=shape) * signs
        if regime == "tiny":
            return _tiny(rng, shape) * signs
        if regime == "mixed":
            return _mixed(rng, shape, self.large_scale) * signs
        return rng.standard_normal(shape) * 2.0


PROBE_REGIMES = ("tiny", "mixed")
"""Regimes the gate draws beyond a spec's own ``regimes``: tiny magnitudes with subnormals of every
dtype, and a mix of tiny, typical and large magnitudes with values near float16's overflow (3e4).
Every domain also draws ``interior``: typical values without edges, planted rows or lattice
points, where derivatives of every order exist (forward mode and double backward are checked there)."""

SUBNORMALS = (2.0**-20, 2.0**-130)
"""A subnormal of float16 and one of float32 and bfloat16 (0 in float16): the ranges low-precision
gradients underflow into. float64's subnormals (below 2^-1022) do not arise in losses and are not planted."""


def _plant(rng: Any, values: Any, planted: Sequence[float]) -> Any:
    """Write ``planted`` into distinct random slots of ``values`` (at most half of them)."""
    flat = values.reshape(-1)
    count = min(len(planted), flat.size // 2)
    if count:
        flat[rng.choice(flat.size, size=count, replace=False)] = planted[:count]
    return values


def _tiny(rng: Any, shape: tuple[int, ...]) -> Any:
    """Magnitudes log-uniform in [1e-8, 1e-3] (float16 subnormal below 6e-5), with SUBNORMALS planted."""
    import numpy as np  # only for drawing, as in LogProbabilityRows

    return _plant(rng, np.asarray(10.0 ** rng.uniform(-8.0, -3.0, size=shape)), SUBNORMALS)


def _mixed(rng: Any, shape: tuple[int, ...], large_scale: float, planted: Sequence[float] = (3e4,)) -> Any:
    """Magnitudes, per element one of: typical (|N(0, 2²)|), tiny, or large (1e2 … large_scale), with
    ``planted`` (by default 3e4: within a factor of 2.2 of float16's largest finite value 65504, so its
    square, and the sum of two such values of one sign, overflow while single values do not)."""
    import numpy as np

    kinds = rng.integers(0, 3, size=shape)
    values = np.asarray(abs(rng.standard_normal(shape)) * 2.0)
    values = np.where(kinds == 1, _tiny(rng, shape), values)
    values = np.where(kinds == 2, 10.0 ** rng.uniform(2.0, math.log10(large_scale), size=shape), values)
    return _plant(rng, values, planted)


@dataclass(frozen=True)
class Interval(Domain):
    """Reals in [lo, hi], drawn uniformly; ``tiny``: within 1e-3 of an end (subnormal offsets planted);
    ``mixed``: uniform, tiny offsets and the ends themselves."""

    def supports(self, regime: str) -> bool:
        return regime in ("typical", *PROBE_REGIMES, *self.regimes)

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        import numpy as np

        if regime == "interior":  # 1% clear of each end, so no dtype rounds a value onto one
            margin = (self.hi - self.lo) / 100
            return np.asarray(rng.uniform(self.lo + margin, self.hi - margin, size=shape))
        uniform = np.asarray(rng.uniform(self.lo, self.hi, size=shape))
        if regime not in PROBE_REGIMES:
            return uniform
        offset = np.minimum(_tiny(rng, shape), (self.hi - self.lo) / 2)
        near = np.where(rng.integers(0, 2, size=shape) == 1, self.lo + offset, self.hi - offset)
        if regime == "tiny":
            return near
        kinds = rng.integers(0, 3, size=shape)
        ends = rng.choice([self.lo, self.hi], size=shape)
        return np.where(kinds == 0, uniform, np.where(kinds == 1, near, ends))


@dataclass(frozen=True)
class Weight(Interval):
    """Weights: drawn in [lo, hi] > 0, except in the ``mixed`` regime, which draws signed weights in
    [−hi, hi] with zeros planted (PyTorch accepts zero and negative weights)."""

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        import numpy as np

        if regime != "mixed":
            return np.asarray(rng.uniform(self.lo, self.hi, size=shape))
        return _plant(rng, np.asarray(rng.uniform(-self.hi, self.hi, size=shape)), (0.0,))


@dataclass(frozen=True)
class Lattice(Domain):
    """Multiples of ``step`` in [lo, hi], drawn uniformly.

    Differences of lattice values are lattice values, exactly representable in
    every dtype for a power-of-two step, so kinks (d = 0, |d| = β, x = margin)
    are hit exactly rather than with probability zero.
    """

    step: float = 0.5

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        if regime == "interior":  # off the lattice: no kink is hit
            return rng.uniform(self.lo, self.hi, size=shape)
        lo, hi = math.ceil(self.lo / self.step), math.floor(self.hi / self.step)
        return rng.integers(lo, hi + 1, size=shape) * self.step


@dataclass(frozen=True)
class Choices(Domain):
    """Values drawn uniformly from a finite set (labels such as ±1)."""

    values: tuple[float, ...] = ()

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        return rng.choice(self.values, size=shape)


@dataclass(frozen=True)
class NonPositive(Domain):
    """Reals in (-inf, 0]: log-probabilities. Drawn as -Exponential(2)."""

    hi: float = 0.0

    def supports(self, regime: str) -> bool:
        return regime in ("typical", *PROBE_REGIMES)

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        if regime == "tiny":
            return -_tiny(rng, shape)
        if regime == "mixed":
            return -_mixed(rng, shape, 1e4, planted=(0.0, 1e4))
        return -rng.exponential(2.0, size=shape)


@dataclass(frozen=True)
class ClassIndex(Domain):
    """Integer class indices in [0, C), C the size of the class axis.

    The indices 1, 0 and C-1 are planted first, so an ``ignore_index`` of 1
    and both ends of the class range always occur.
    """

    def sample_classes(self, rng: Any, shape: tuple[int, ...], num_classes: int) -> Any:
        values = rng.integers(0, num_classes, size=shape)
        flat = values.reshape(-1)
        planted = [1 % num_classes, 0, num_classes - 1][: flat.size]
        flat[: len(planted)] = planted
        rng.shuffle(flat)
        return values


@dataclass(frozen=True)
class PlantedRows(Domain):
    """A base domain whose draws get whole rows (slices along the last dim) replaced.

    Each planted row is written, cut or cycled to the row length and shuffled,
    into a distinct random row, always leaving one drawn row; a tensor with
    fewer than two rows is left as drawn. Rows exercise what single planted
    elements cannot: a zero vector (cosine), a ladder of equal steps that puts
    a hinge exactly on its margin (multi_margin).
    """

    base: Domain = field(default_factory=lambda: REAL)
    rows: tuple[tuple[float, ...], ...] = ()

    def supports(self, regime: str) -> bool:
        return self.base.supports(regime)

    def sample(self, rng: Any, shape: tuple[int, ...], regime: str = "typical") -> Any:
        values = self.base.sample(rng, shape, regime)
        if len(shape) == 0 or shape[-1] == 0 or regime == "interior":
            return values
        flat = values.reshape(-1, shape[-1])
        count = min(len(self.rows), flat.shape[0] - 1)
        if count <= 0:
            return values
        length = shape[-1]
        for slot, row in zip(rng.choice(flat.shape[0], size=count, replace=False), self.rows):
            flat[slot] = rng.permutation([row[i % len(row)] for i in range(length)])
        return values


def planted_rows(base: Domain, name: str, *rows: tuple[float, ...]) -> PlantedRows:
    """``base`` with ``rows`` planted (see PlantedRows); keeps its bounds and regimes."""
    return PlantedRows(name, base.lo, base.hi, base.edges, base.regimes, base.large_scale, base=base, rows=rows)


REAL = Domain("real")
LOGIT = Domain("logit", regimes=("typical", "large"))
PROBABILITY = Interval("probability", 0.0, 1.0, edges=(0.0, 1.0))
OPEN_PROBABILITY = Interval("probability in (0, 1)", 0.0, 1.0)
LOG_PROBABILITY = NonPositive("log-probability", edges=(0.0,))
POSITIVE_WEIGHT = Weight("weight", 0.1, 2.0)
CLASS_INDEX = ClassIndex("class index", lo=0)
SIGN_LABEL = Choices("label ±1", -1.0, 1.0, values=(-1.0, 1.0))


@dataclass(frozen=True)
class LogProbabilityRows(Domain):
    """Normalised log-probability rows along the last dim: log_softmax of N(0, 2²) logits.

    Every row satisfies Σ_k exp(x_k) = 1 (to the rounding of the dtype under
    test): the domain of losses whose kernels assume normalised inputs (CTC).
    """

    hi: float = 0.0

    def _draw(self, rng: Any, shape: tuple[int, ...], regime: str) -> Any:
        import numpy as np  # only for drawing; the spec layer stays numeric-library-free otherwise

        logits = rng.standard_normal(shape) * 2.0
        top = logits.max(axis=-1, keepdims=True)
        return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


LOG_PROBABILITY_ROWS = LogProbabilityRows("normalised log-probability rows")


# ------------------------------------------------------- tensors, options ---

CALLABLE_NAME = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")
"""``MODULE:ATTR``, how a function-valued option names its callable."""


@dataclass(frozen=True)
class TensorArg:
    """One tensor argument: its role, domain, whether PyTorch differentiates it.

    ``optional`` tensors (``weight``, ``pos_weight``, ``bias``) default to
    ``None`` and are passed by name; required ones are passed by position. An
    absent optional tensor reads as ``absent`` in every slot: 1 for a weight,
    0 for a bias.
    """

    name: str
    domain: Domain
    differentiable: bool
    optional: bool = False
    absent: int = 1
    doc: str = ""
    domain_when: tuple[tuple[str, Any, Domain], ...] = ()

    def domain_for(self, options: Mapping[str, Any]) -> Domain:
        """The domain under ``options``: ``domain_when`` entries (option, value, domain) win."""
        for option, value, domain in self.domain_when:
            if options.get(option) == value:
                return domain
        return self.domain


@dataclass(frozen=True)
class Option:
    """A non-tensor keyword argument.

    ``choices`` lists every valid value for a discrete option. A continuous
    option gives ``interval`` = (lo, hi) with ``closed`` ends, and becomes a
    SymPy symbol in the derivation so symbolic work is shared across values.
    ``grid`` is the values the conformance run sweeps (default first).
    ``callable_with`` makes it a function-valued option: its values are None
    or ``MODULE:ATTR`` names of callables having these attributes; the harness
    imports each, and both the implementation and the spec's ``loss`` receive
    the callable itself.
    """

    name: str
    default: Any
    grid: tuple[Any, ...]
    choices: tuple[Any, ...] | None = None
    interval: tuple[float, float] | None = None
    closed: tuple[bool, bool] = (True, True)
    in_formula: bool = True
    doc: str = ""
    callable_with: tuple[str, ...] | None = None

    @property
    def continuous(self) -> bool:
        return self.interval is not None

    def validate(self, value: Any) -> None:
        """Raise ValueError naming the option when ``value`` is out of its domain."""
        if self.callable_with is not None:
            if value is not None and not (isinstance(value, str) and CALLABLE_NAME.match(value)):
                raise ValueError(f"option {self.name}={value!r} is not None or MODULE:ATTR")
            return
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"option {self.name}={value!r} is not one of {list(self.choices)}")
        if self.interval is not None:
            lo, hi = self.interval
            lo_ok = value >= lo if self.closed[0] else value > lo
            hi_ok = value <= hi if self.closed[1] else value < hi
            if not (isinstance(value, (int, float)) and lo_ok and hi_ok):
                brackets = ("[" if self.closed[0] else "(", "]" if self.closed[1] else ")")
                raise ValueError(
                    f"option {self.name}={value!r} is outside {brackets[0]}{lo}, {hi}{brackets[1]}"
                )


def reduction_option(*extra: str) -> Option:
    """PyTorch's ``reduction`` keyword: none / mean / sum, plus ``extra`` kinds."""
    kinds = ("mean", "none", "sum", *extra)
    return Option("reduction", "mean", grid=kinds, choices=kinds, in_formula=False,
                  doc="how units are combined")


@dataclass(frozen=True)
class Convention:
    """A choice that is not pure math, named so reports can cite it: PyTorch's (a spec's ``conventions``) or
    where TorchLean differs from the spec (a link's, in ``lean_bridge.registry``). ``kink`` marks the choices
    made where a branch argument is exactly 0 (a hinge, a sign, a clamp's edge): a failure there quotes them.
    ``substitute`` sets Lean parameters (``epsilon``) so that TorchLean's definition agrees with the spec."""

    name: str
    text: str
    kink: bool = False
    substitute: Mapping[str, Any] = field(default_factory=dict, hash=False)


# -------------------------------------------------------------- structure ---


@dataclass(frozen=True)
class Elementwise:
    """Every tensor broadcasts to the output shape; one unit per output element.

    ``align_last`` names tensors that may come with one dimension fewer than
    the first required tensor (gaussian_nll_loss's ``var`` of shape (N,) for an
    input (N, D)); such a tensor gets a trailing dimension of size 1 first.
    """

    align_last: tuple[str, ...] = ()


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


def ClassAxis(per_class: tuple[str, ...] = ("weight",)) -> Slices:
    """The class axis of ``input``, with a ``target`` of class indices or of the input's shape."""
    return Slices(sliced=("input", "target"), axis=1, index_target="target", per_class=per_class)


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
    * ``magnitudes(unit, gradient)``: the rounding magnitudes M of l and of
      each backward entry (a running-error bound of the recursion);
    * ``mean_scale(unit)``: mean = Σ_u mean_scale(u)·l_u / Σ_u d_u (None: 1);
    * ``draw(rng, shape_case, options)``: the integer tensors, drawn jointly
      because they constrain one another (lengths, label rows, blank).
    """

    sequence: str
    per_unit: tuple[str, ...]
    labels: str
    label_lengths: str
    gradient: Callable[[Unit], Any] = field(hash=False, compare=False)
    magnitudes: Callable[[Unit, Any], Any] = field(hash=False, compare=False)
    draw: Callable[[Any, ShapeCase, Mapping[str, Any]], dict[str, Any]] = field(hash=False, compare=False)
    backward: Callable[[Unit, Any], Any] | None = field(default=None, hash=False, compare=False)
    mean_scale: Callable[[Unit], Any] | None = field(default=None, hash=False, compare=False)

    def batched(self, shape: tuple[int, ...]) -> bool:
        """Is a sequence tensor of ``shape`` batched, (T, N, C), rather than (T, C)?"""
        return len(shape) == 3


Structure = Elementwise | Slices | Sequences


@dataclass(frozen=True)
class ShapeCase:
    """Concrete shapes for one calling pattern, e.g. batched or unbatched.

    ``domains`` overrides a tensor's domain for this pattern (class-index
    targets versus probability targets); ``skip_options`` names options that
    do not apply to it, so the grid does not sweep them; ``grids`` gives the
    values an option sweeps in this pattern instead of its own grid. ``complex_`` names
    tensors fed as complex numbers in this pattern (real and imaginary parts
    drawn from the domain; complex128/complex64/complex32 for float64/32/16,
    unsupported in bfloat16). A unit reads such a tensor as re + i·im of two
    real symbols, and its gradient is ∂L/∂re + i·∂L/∂im (PyTorch's convention
    for a real loss of a complex input).
    """

    name: str
    shapes: Mapping[str, tuple[int, ...]]
    domains: Mapping[str, Domain] = field(default_factory=dict)
    skip_options: tuple[str, ...] = ()
    complex_: tuple[str, ...] = ()
    grids: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)


# ------------------------------------------------------------------ units ---


@dataclass
class Unit:
    """The symbols one unit reads, handed to a spec's ``loss`` and ``denominator``.

    ``tensors[name]`` is a symbol (elementwise) or a list of symbols (a row:
    see ``Slices``); an absent optional tensor reads as its ``absent`` constant
    (1 unless stated), one per class for a row. ``num_classes`` is C. ``options`` maps
    continuous options to symbols and discrete ones to their values. ``keep``
    is 0 for an ignored unit and 1 otherwise; ``index_target`` tells whether
    the target came as class indices. ``ops`` is the arithmetic backend of a
    ``Sequences`` unit, whose tensors hold numbers (None otherwise), and
    ``memo`` where its spec keeps intermediates its functions share.
    """

    tensors: dict[str, Any]
    options: dict[str, Any]
    keep: Any = 1
    index_target: bool = False
    num_classes: int = 1
    ops: Any = None
    memo: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        tensors = self.__dict__.get("tensors", {})
        if name in tensors:
            return tensors[name]
        options = self.__dict__.get("options", {})
        if name in options:
            return options[name]
        raise AttributeError(name)


# ------------------------------------------------------------------- spec ---


@dataclass(frozen=True, eq=False)
class LossSpec:
    """What one loss is.

    ``loss(unit)`` is the per-unit loss and ``denominator(unit)`` its share of
    the ``mean`` denominator (mean = sum of losses / sum of denominators);
    ``batchmean`` divides the sum by the input's first dimension instead.
    ``computational_forms`` are algebraically equal rewrites of ``loss`` that
    real kernels evaluate (PyTorch's own among them); each is checked equal to
    ``loss``, and the tolerance allows the rounding error of any of them.

    ``gradient_conventions`` maps a tensor name to the gradient ∂l/∂s of one
    unit that PyTorch's backward computes for it (a list for a row), where
    that is not the derivative of the forward: BCE's backward clamp, a clamp
    applied without grad. The oracle and the tolerance use it instead of
    ``sympy.diff``. The gradient self-check verifies, at every unit of points
    inside the domain, that the convention equals the derivative of the loss
    once every ``functions.clamp_min`` is removed from both: so a clamp that
    can be active inside the domain (a variance floor) must be a ``clamp_min``.
    """

    name: str
    formula: str
    tensors: Sequence[TensorArg]
    options: Sequence[Option]
    structure: Structure
    loss: Callable[[Unit], sp.Expr]
    denominator: Callable[[Unit], sp.Expr]
    shape_cases: Sequence[ShapeCase]
    conventions: Sequence[Convention] = ()
    computational_forms: Sequence[Callable[[Unit], sp.Expr]] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    gradient_conventions: Mapping[str, Callable[[Unit], Any]] = field(default_factory=dict)

    def tensor(self, name: str) -> TensorArg:
        return next(t for t in self.tensors if t.name == name)

    def option(self, name: str) -> Option:
        return next(o for o in self.options if o.name == name)

    @property
    def required_tensors(self) -> list[TensorArg]:
        return [t for t in self.tensors if not t.optional]

    @property
    def optional_tensors(self) -> list[TensorArg]:
        return [t for t in self.tensors if t.optional]
