"""Test cases: a spec's option grid crossed with its shape cases and value regimes.

A ``Case`` is one calling pattern with concrete options. Its values are drawn
in float64 from the spec's domains (seeded by the run seed and the case's
index, so a case is reproducible on its own) and rounded to each dtype under
test; the oracle then sees exactly the values the implementation sees.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..derivations.units import split_units
from ..drawing import sample, sample_classes, sample_jointly
from ..spec.core import ClassIndex, LossSpec, ShapeCase
from .implementations import resolve_option


@dataclass(frozen=True)
class Case:
    """One calling pattern: shapes, present optional tensors, options, value regime."""

    spec: LossSpec
    shape_case: ShapeCase
    present: tuple[str, ...]
    options: dict[str, Any] = field(hash=False)
    regime: str
    seed: int
    number: int
    batch: int | None = None
    layout: str = "contiguous"
    checks: tuple[str, ...] = ()
    probe: str = ""
    period: int | None = None
    """Draw each dim at most this long and repeat it cyclically (a wide shape with few distinct units)."""
    """The gate's probe this case belongs to (``probes.probe_slots``); "" for the option grid."""

    @property
    def name(self) -> str:
        extras = [t for t in self.present if self.spec.tensor(t).optional]
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        with_ = f" +{'+'.join(extras)}" if extras else ""
        batch = "" if self.batch is None else f" batch {self.batch}"
        layout = "" if self.layout == "contiguous" else f" {self.layout}"
        checks = f" checks {'+'.join(self.checks)}" if self.checks else ""
        period = f" period {self.period}" if self.period else ""
        return f"#{self.number} {self.shape_case.name}{batch}{layout}{period} [{opts}] {self.regime}{with_}{checks}"

    def _rng(self, salt: str) -> np.random.Generator:
        tag = zlib.crc32(f"{self.spec.name}/{self.number}/{salt}".encode())
        return np.random.default_rng([self.seed, tag])

    def raw_tensors(self) -> dict[str, np.ndarray]:
        """Float64 draws (int64 class indices) before any dtype rounding."""
        rng = self._rng("values")
        tensors: dict[str, np.ndarray] = {}
        structure = self.spec.structure
        # tensors that constrain one another (a recursion's lengths and labels) are drawn together
        drawn = sample_jointly(structure, rng, self.shape_case, self.options)
        tensors.update({name: np.asarray(v, dtype=np.int64) for name, v in drawn.items()})
        for name in self.present:
            if name in tensors:
                continue
            shape = tuple(self.shape_case.shapes[name])
            if self.period:
                shape = tuple(min(size, self.period) for size in shape)
            domain = self.shape_case.domains.get(name, self.spec.tensor(name).domain_for(self.options))
            if isinstance(domain, ClassIndex):
                classes = structure.class_count(self.shape_case.shapes)
                tensors[name] = sample_classes(domain, rng, shape, classes).astype(np.int64)
            else:
                regime = self.regime if domain.supports(self.regime) or self.regime == "interior" else "typical"
                tensors[name] = np.asarray(sample(domain, rng, shape, regime), dtype=np.float64)
                if name in self.shape_case.complex_:
                    tensors[name] = tensors[name] + 1j * np.asarray(sample(domain, rng, shape, regime))
        tensors = {name: tensors[name] for name in self.present}
        if self.period:
            tensors = {name: _tile(v, tuple(self.shape_case.shapes[name])) for name, v in tensors.items()}
        if self.batch is not None:
            for name in batch_tensors(self.spec, self.shape_case) or ():
                if name in tensors:
                    tensors[name] = _cycle_rows(tensors[name], self.batch)
        if self.layout == "expanded":  # every row equal to row 0, so the tensors can be passed expanded
            for name in expandable(self.spec, self.shape_case, self.present):
                tensors[name] = np.broadcast_to(tensors[name][:1], tensors[name].shape).copy()
        return tensors

    def tensors(self, dtype: str) -> dict[str, np.ndarray]:
        """The case's values rounded to ``dtype`` and held exactly as float64."""
        return {name: round_to(v, dtype) for name, v in self.raw_tensors().items()}

    @property
    def output_shape(self) -> tuple[int, ...]:
        """() for reduced outputs; the per-unit shape for reduction='none'."""
        if self.options.get("reduction", "mean") != "none":
            return ()
        return split_units(self.spec, self.raw_tensors(), self.options).out_shape

    def upstream(self, dtype: str) -> np.ndarray:
        """A random upstream gradient δ shaped like the output (never all ones), rounded to ``dtype``."""
        shape = self.output_shape
        rng = self._rng("upstream")
        raw = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        return round_to(np.asarray(raw, dtype=np.float64), dtype)


def batch_tensors(spec: LossSpec, shape_case: ShapeCase) -> tuple[str, ...] | None:
    """The tensors whose dim 0 is the batch dim of ``shape_case``, or None if it has no batch dim to resize.

    A batch dim is dim 0 of the first (sliced) tensor, or of the first gathered one labelled ``n``,
    batched: two dims or more for a sliced structure, one or more elementwise. Every tensor with that
    dim-0 length follows it, except per-class tensors (read whole by every unit) and gathered ones
    without ``n`` (a weight); broadcast dims of size 1 stay. Recursions
    (CTC) and whole-tensor units are never resized.
    """
    return spec.structure.batch_followers(shape_case.shapes, spec.required_tensors[0].name)


def expandable(spec: LossSpec, shape_case: ShapeCase, present: tuple[str, ...]) -> tuple[str, ...]:
    """The present float tensors of ``shape_case`` that an ``expanded`` layout passes as row 0 expanded."""
    names = batch_tensors(spec, shape_case) or ()
    return tuple(n for n in names if n in present and not isinstance(spec.tensor(n).domain, ClassIndex)
                 and len(shape_case.shapes[n]) >= 2)


def _tile(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` repeated cyclically along each dim to ``shape``."""
    for axis, size in enumerate(shape):
        values = np.take(values, np.arange(size) % max(values.shape[axis], 1), axis=axis)
    return values


def _cycle_rows(values: np.ndarray, rows: int) -> np.ndarray:
    """``values`` with dim 0 resized to ``rows`` by cycling its rows (0 gives an empty tensor)."""
    return values[np.arange(rows) % values.shape[0]] if rows else values[:0].copy()


COMPLEX_DTYPES = {"float64": "complex128", "float32": "complex64", "float16": "complex32"}
"""The complex dtype whose parts are each real dtype (bfloat16 has none)."""


def round_to(values: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 ``values`` to ``dtype`` (nearest-even) and back, exactly; complex values part by part."""
    if values.dtype.kind in "iu":
        return values
    if values.dtype.kind == "c":
        return round_to(values.real.copy(), dtype) + 1j * round_to(values.imag.copy(), dtype)
    return torch.from_numpy(values).to(getattr(torch, dtype)).to(torch.float64).numpy()


def _optional_sets(spec: LossSpec) -> Iterator[tuple[str, ...]]:
    optional = [t.name for t in spec.optional_tensors]
    for mask in itertools.product((False, True), repeat=len(optional)):
        yield tuple(name for name, on in zip(optional, mask) if on)


def option_grid(spec: LossSpec, shape_case: ShapeCase, fixed: Mapping[str, Any] | None = None) -> list[dict]:
    """The option points swept for ``shape_case`` (defaults first), ``fixed`` options held at their value."""
    fixed = fixed or {}
    swept = [o for o in spec.options if o.name not in shape_case.skip_options]
    grids = [(fixed[o.name],) if o.name in fixed else shape_case.grids.get(o.name, o.grid) for o in swept]
    return [{o.name: resolve_option(o, v) for o, v in zip(swept, values)} for values in itertools.product(*grids)]


def generate_cases(spec: LossSpec, seed: int = 0, fixed: Mapping[str, Any] | None = None) -> list[Case]:
    """Every shape case × optional-tensor subset × option grid point × value regime.

    ``fixed`` maps option names to the one value they take instead of their grid;
    a function-valued option's ``MODULE:ATTR`` is imported (see ``resolve_option``).
    """
    fixed = fixed or {}
    for option in spec.options:  # a spec whose own grid leaves its domain is a spec bug
        for value in (*option.grid, *(v for c in spec.shape_cases for v in c.grids.get(option.name, ()))):
            option.validate(value)
    cases: list[Case] = []
    for shape_case in spec.shape_cases:
        for extras in _optional_sets(spec):
            present = tuple(t.name for t in spec.tensors if not t.optional or t.name in extras)
            for options in option_grid(spec, shape_case, fixed):
                regimes = {"typical"}
                for name in present:
                    domain = shape_case.domains.get(name, spec.tensor(name).domain_for(options))
                    regimes.update(domain.regimes)
                for regime in sorted(regimes, key=lambda r: r != "typical"):
                    cases.append(Case(spec, shape_case, present, options, regime, seed, len(cases)))
    return cases
