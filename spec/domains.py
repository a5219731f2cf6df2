"""Domains: the sets of valid values a spec's tensors take, and how values are drawn from them.

A domain is declarative (bounds, edges, the regimes it has); ``sample`` draws values, mixing the
edges in, as SciPy's ``_mptestutils`` does, so boundaries are always exercised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


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
