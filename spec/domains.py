"""Domains: the sets of valid values a spec's tensors take, and which regimes of values they have.

A domain is declarative: bounds, edges, the regimes it has, planted values and rows. Each class's
docstring states the distribution its values are drawn from; the drawing itself (NumPy) lives in
``losscheck.drawing``, so this package stays math only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Domain:
    """A set of valid values for a tensor: the reals by default.

    Regimes name value ranges: ``typical`` (N(0, 2²)) always exists; ``large`` (magnitudes
    log-uniform in 1e2 … ``large_scale``, random signs) exists where the domain allows it; ``tiny``
    and ``mixed`` (see ``PROBE_REGIMES``) where the domain draws them. Edge values are mixed in,
    as SciPy's ``_mptestutils`` does, so boundaries are always exercised.
    """

    name: str
    lo: float = -math.inf
    hi: float = math.inf
    edges: tuple[float, ...] = ()
    regimes: tuple[str, ...] = ("typical",)
    large_scale: float = 1e4

    generic_draw: ClassVar[bool] = True  # drawn as the reals are, so the probe regimes apply

    def supports(self, regime: str) -> bool:
        """Does drawing give ``regime`` its own values? (The option grid sweeps only ``regimes``;
        the gate's probes also ask for ``tiny`` and ``mixed`` wherever a domain supports them.)"""
        return regime == "typical" or regime in self.regimes or (
            regime in PROBE_REGIMES and self.generic_draw and self.lo == -math.inf)


PROBE_REGIMES = ("tiny", "mixed")
"""Regimes the gate draws beyond a spec's own ``regimes``: tiny magnitudes with subnormals of every
dtype, and a mix of tiny, typical and large magnitudes with values near float16's overflow (3e4).
Every domain also draws ``interior``: typical values without edges, planted rows or lattice
points, where derivatives of every order exist (forward mode and double backward are checked there)."""

SUBNORMALS = (2.0**-20, 2.0**-130)
"""A subnormal of float16 and one of float32 and bfloat16 (0 in float16): the ranges low-precision
gradients underflow into. float64's subnormals (below 2^-1022) do not arise in losses and are not planted."""


@dataclass(frozen=True)
class Interval(Domain):
    """Reals in [lo, hi], drawn uniformly; ``tiny``: within 1e-3 of an end (subnormal offsets planted);
    ``mixed``: uniform, tiny offsets and the ends themselves; ``interior``: uniform, 1% clear of each end."""

    generic_draw: ClassVar[bool] = False

    def supports(self, regime: str) -> bool:
        return regime in ("typical", *PROBE_REGIMES, *self.regimes)


@dataclass(frozen=True)
class Weight(Interval):
    """Weights: drawn in [lo, hi] > 0, except in the ``mixed`` regime, which draws signed weights in
    [−hi, hi] with zeros planted (PyTorch accepts zero and negative weights)."""


@dataclass(frozen=True)
class Lattice(Domain):
    """Multiples of ``step`` in [lo, hi], drawn uniformly (``interior``: uniform reals, off the lattice).

    Differences of lattice values are lattice values, exactly representable in
    every dtype for a power-of-two step, so kinks (d = 0, |d| = β, x = margin)
    are hit exactly rather than with probability zero. ``leading_rows`` fixes the
    first rows (along the last dim) of every draw, the same rows in every tensor of
    this domain, so rows line up across tensors (triplet's a = p, swap ties).
    """

    step: float = 0.5
    leading_rows: tuple[tuple[float, ...], ...] = ()
    generic_draw: ClassVar[bool] = False


@dataclass(frozen=True)
class Choices(Domain):
    """Values drawn uniformly from a finite multiset (labels such as ±1); ``planted`` values are written
    first and the draw shuffled, so each of them always occurs."""

    values: tuple[float, ...] = ()
    planted: tuple[float, ...] = ()
    generic_draw: ClassVar[bool] = False


@dataclass(frozen=True)
class NonPositive(Domain):
    """Reals in (-inf, 0]: log-probabilities. Drawn as -Exponential(2); ``tiny``: −tiny magnitudes;
    ``mixed``: −mixed magnitudes with 0 and −1e4 planted."""

    hi: float = 0.0

    def supports(self, regime: str) -> bool:
        return regime in ("typical", *PROBE_REGIMES)


@dataclass(frozen=True)
class ClassIndex(Domain):
    """Integer class indices in [0, C), C the size of the class axis.

    The indices 1, 0 and C-1 are planted first, so an ``ignore_index`` of 1
    and both ends of the class range always occur.
    """


@dataclass(frozen=True)
class LabelLists(ClassIndex):
    """Rows of labels in [0, C) ended by −1, with labels (valid or −1) after the terminator.

    The first row is full (C labels, no −1: duplicates leave classes out of the
    set), the second empty (−1 first: loss 0); other rows take a random length.
    Rows are shuffled, so every batch has each kind in some position.
    """


@dataclass(frozen=True)
class SequenceLengths(ClassIndex):
    """Lengths of sequences and of their label rows, drawn jointly with the labels (see the ``Sequences``
    structure). ``one_short``: sequence 1 gets one step fewer than its labels need (no alignment exists)."""

    one_short: bool = False


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
    generic_draw: ClassVar[bool] = False


LOG_PROBABILITY_ROWS = LogProbabilityRows("normalised log-probability rows")
