"""Known deviations of PyTorch itself from the math, read from ``known_deviations.json``.

Each entry names the loss, the quantity (``value`` or ``grad NAME``), the
dtypes and options it occurs under (a value, a list of values, or
``{"above": v}``), and ``where``: the input values at which
it occurs (``{"target": 0.0}``: only elements whose target is exactly 0).
Optionally ``shape_cases`` (name prefixes of the spec's shape cases) and
``requires``, a named condition on the exact reference:
``unit_total_overflows`` holds when the exact sum of the unreduced losses
exceeds the dtype's largest value; ``zero_slice`` (sliced losses) holds when
every failing element belongs to a unit whose slice of some sliced tensor is
all zero (a zero vector), and for a reduced output when some unit has one. It also records what PyTorch returns there
(``pytorch``) and the exact value (``exact``), with a concrete reproducing
input. A failure is *known* only if every failing element lies where the
entry says and shows what it says.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from ..derivations.units import split_units
from ..spec.core import Slices
from .cases import Case
from .oracle import Reference
from .tolerance import FORMATS


@dataclass(frozen=True)
class KnownDeviation:
    id: str
    loss: str
    quantity: str
    dtypes: tuple[str, ...]
    options: Mapping[str, Any]
    where: Mapping[str, float]
    pytorch: str
    exact: str
    explanation: str
    reproducer: Mapping[str, Any]
    shape_cases: tuple[str, ...] = ()
    requires: str = ""

    def _shows(self, got: float) -> bool:
        if self.pytorch == "nan":
            return math.isnan(got)
        return got == float(self.pytorch)

    def _options_match(self, options: Mapping[str, Any]) -> bool:
        for name, wanted in self.options.items():
            value = options.get(name)
            if isinstance(wanted, dict):
                if value is None or not value > wanted["above"]:
                    return False
            elif isinstance(wanted, list):
                if value not in wanted:
                    return False
            elif value != wanted:
                return False
        return True

    def _requirement_holds(self, dtype: str, reference: Reference) -> bool:
        if self.requires == "unit_total_overflows":
            return abs(reference.unit_total) > FORMATS[dtype].max_value
        return not self.requires or self.requires == "zero_slice"

    def covers(self, case: Case, quantity: str, dtype: str, tensors: Mapping[str, np.ndarray],
               reference: Reference, failing: Sequence[int], got: np.ndarray) -> bool:
        """True when this entry explains every failing element of the quantity."""
        if (case.spec.name, quantity) != (self.loss, self.quantity) or dtype not in self.dtypes:
            return False
        if not self._options_match(case.options) or not self._requirement_holds(dtype, reference):
            return False
        if self.shape_cases and not case.shape_case.name.startswith(self.shape_cases):
            return False
        if self.requires == "zero_slice" and not _in_zero_slices(case, quantity, tensors, failing, got.size):
            return False
        flat_got = got.reshape(-1)
        for element in failing:
            for name, value in self.where.items():
                tensor = tensors.get(name)
                if tensor is None or tensor.size != flat_got.size or tensor.reshape(-1)[element] != value:
                    return False
            if not self._shows(float(flat_got[element])):
                return False
        return True


def _in_zero_slices(case: Case, quantity: str, tensors: Mapping[str, np.ndarray], failing: Sequence[int],
                    size: int) -> bool:
    """Does every failing element belong to a unit with an all-zero slice (see the module docstring)?"""
    structure = case.spec.structure
    if not isinstance(structure, Slices):
        return False
    table = split_units(case.spec, tensors, case.options)
    units = table.kept.size
    zero = {u for u in range(units) if any(not np.any(table.values[n][u]) for n in structure.sliced)}
    if quantity == "value":
        return all(e in zero for e in failing) if size == units else bool(zero)
    positions = table.positions.get(quantity.removeprefix("grad "))
    if positions is None:
        return False
    rows = positions.reshape(units, -1)
    return all(zero.intersection(np.flatnonzero((rows == e).any(axis=1))) for e in failing)


@cache
def known_deviations() -> tuple[KnownDeviation, ...]:
    text = resources.files(__package__).joinpath("known_deviations.json").read_text()
    entries = []
    for raw in json.loads(text):
        raw = dict(raw)
        raw["dtypes"] = tuple(raw["dtypes"])
        raw["shape_cases"] = tuple(raw.get("shape_cases", ()))
        entries.append(KnownDeviation(**raw))
    return tuple(entries)


def find_known(case: Case, quantity: str, dtype: str, tensors: Mapping[str, np.ndarray], reference: Reference,
               failing: Sequence[int], got: np.ndarray) -> str | None:
    """The id of the known deviation that explains these failures, if any."""
    for entry in known_deviations():
        if entry.covers(case, quantity, dtype, tensors, reference, failing, got):
            return entry.id
    return None
