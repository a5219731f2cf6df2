"""Known deviations of PyTorch itself from the math, read from the ledgers in ``ledgers/``.

One ledger per target: ``pytorch.json`` holds eager PyTorch's entries, which apply to every
target checked against PyTorch's semantics (a user kernel, the compiled target, CUDA, PyTorch's
other paths); ``compiled.json``, ``cuda.json`` and the like hold what only that target does, and
apply only while it is under test (see ``targets.Target.ledgers``).

Each entry names the loss, the quantity (``value`` or ``grad NAME``), the
dtypes and options it occurs under (a value, a list of values, or
``{"above": v}``), and ``where``: the input values at which
it occurs (``{"target": 0.0}``: only elements whose target is exactly 0; for
a reduced output, some element of the target is exactly 0).
A ``where`` key may also be a signed product of tensors (``"-input*target"``)
with a threshold ``{"above": v}`` and/or ``{"below": w}``, each a number or a
number per dtype: only elements where the product (or the tensor itself, a
one-name key) lies beyond them (for a reduced output, the case must have such
an element).
Optionally ``present`` (optional tensors the case must pass: ``["weight"]`` for what a
target does only with ``weight=``, and never without it), ``shape_cases`` (name prefixes of the
spec's shape cases) and ``requires``, a named condition on the exact reference:
``unit_total_overflows`` holds when the exact sum of the unreduced losses
exceeds the dtype's largest value; ``zero_slice`` (sliced losses) holds when
the failing element belongs to a unit whose slice of some sliced tensor is
zero in the dtype: the product of the unit's squared norms, computed in the
dtype, is 0 (a zero vector, or vectors so small that it underflows), and for
a reduced output when some unit has one;
``empty_input`` holds when the first input has no elements;
``nan_value`` holds when the exact value is NaN (a mean whose denominator is 0:
every entry ignored); ``large_reduction`` holds for the gate's large batches
(``probes.LARGE_REDUCTION`` rows or more), where accumulation in a half type shows;
``ignored_row_overflow`` holds for the value of a row whose target is ignore_index and whose exact
logits (linear_cross_entropy's input·linear_weightᵀ + linear_bias) overflow the dtype, and for a
reduced value when some row is such.
A scalar claim (``jvp``, ``hvp``) is explained by an entry for that quantity: its
relative error must be below ``relative_error_below`` where the entry gives one,
and the projection the target returned must show ``pytorch`` (``0``: the mode
silently gave no tangent, or a detached gradient, so the projection is exactly 0).
``at_kink`` holds when the failing element reads a unit sitting exactly on a
kink (a branch argument is exactly 0, ``derivations.kinks``: the oracle's
``Bound.at_kink``), where the spec states PyTorch's eager convention.
A ``where`` key may also name a tensor with ``{"unit_holds": v}``: only
elements of units (the structure's slices) whose slice of that tensor, read
raw (before any encoding such as label counts), holds the value v; for a
reduced output, the case must have such a unit. The tensor must have the
shape of the structure's first sliced tensor.
An entry for ``value`` may give ``shape``, the output shape PyTorch returns
where the exact one differs (``[1]`` where a 0-dim output is due): it explains
that wrong shape, holding as many elements, wherever it applies (loss, dtypes,
options, shape cases); the elements are then judged as usual.
An entry may give ``raises`` instead, a regular expression searched in the exception the
target raised (``"Type: message"``, with a wrapped inner error's type and first line): it
explains that raise, for its quantity (``value``: the call), wherever it applies (loss,
dtypes, options, ``present``, shape cases, ``requires``), and never an element. A raise is
not a value: the check is listed as known, with nothing judged.
``inherited_by`` maps a composition of the entry's loss (``COMPOSED_OF``: a spec whose reference
runs that loss's kernel, such as ``fused_linear_cross_entropy``'s F.cross_entropy(F.linear(...)))
to the proof the mechanism holds there too: ``input`` (tensors as nested lists, the dtype the
entry's first), ``options``, ``pytorch_value``, ``exact_value`` and optionally ``shape_cases`` (the
composition's own names). The entry then applies to that spec as to its own loss; it has no ``where``.
``"loss": "*"`` speaks about
every loss (a mechanism of the target, not of one loss's kernel). On an
entry for elements (``value``, ``grad NAME``) it narrows what the entry shows:
each failing element's relative error against the exact reference, a nonzero
finite value, must be below it (a constant off in its last digits, not a wrong
formula).
It also records what PyTorch returns there (``pytorch``: a number, ``nan``,
``non-finite`` for ±inf or NaN, whose sign follows the upstream gradient, or
``uninitialized`` for whatever uninitialized memory held, ``finite`` for a wrong
finite value)
and the exact value (``exact``), with a concrete reproducing input. A failure
is *known* only if every failing element lies where some entry says and
shows what that entry says.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import mpmath
import numpy as np

from .cases import Case
from .deviation_elements import (
    _at_kink,
    _empty_input,
    _exceeds,
    _product,
    _relatively_close,
    ignored_overflow_elements,
    unit_elements,
    zero_slice_elements,
)
from .oracle import Reference
from .probes import LARGE_REDUCTION
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
    relative_error_below: float | None = None
    shape: tuple[int, ...] | None = None
    present: tuple[str, ...] = ()
    raises: str = ""
    inherited_by: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ledger: str = "pytorch"

    def speaks_of(self, loss: str) -> bool:
        """Is this entry about ``loss``: its own, every loss ("*"), or a composition it is inherited by?"""
        return self.loss in ("*", loss) or loss in self.inherited_by

    def _shows(self, got: float) -> bool:
        if self.pytorch == "uninitialized":  # whatever the memory held
            return True
        if self.pytorch == "finite":
            return math.isfinite(got)
        if self.pytorch == "nan":
            return math.isnan(got)
        if self.pytorch == "non-finite":
            return not math.isfinite(got)
        return got == float(self.pytorch)

    def options_match(self, options: Mapping[str, Any]) -> bool:
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
        if self.requires == "nan_value":
            return any(mpmath.isnan(v) for v in reference.value)
        return not self.requires or self.requires in ("zero_slice", "empty_input", "large_reduction", "at_kink",
                                                      "ignored_row_overflow")

    def applies(self, case: Case, quantity: str, dtype: str, reference: Reference) -> bool:
        """Does this entry speak about this quantity of this case in this dtype?"""
        if not self.speaks_of(case.spec.name) or quantity != self.quantity or dtype not in self.dtypes:
            return False
        if not self.options_match(case.options) or not self._requirement_holds(dtype, reference):
            return False
        if self.requires == "large_reduction" and (case.batch or 0) < LARGE_REDUCTION:
            return False
        if not set(self.present) <= set(case.present):
            return False
        shape_cases = self.shape_cases if self.loss in ("*", case.spec.name) else tuple(
            self.inherited_by[case.spec.name].get("shape_cases", ()))
        return not shape_cases or case.shape_case.name.startswith(shape_cases)

    def explains_claim(self, relative_error: float, got: float | None) -> bool:
        """Does this entry explain a failed scalar claim with this relative error and projection ``got``?
        (``got`` None: a caller that does not pass the projection; only ``relative_error_below`` can speak.)"""
        if self.relative_error_below is not None and not relative_error < self.relative_error_below:
            return False
        if got is None or not self._names_a_value():  # a formula in ``pytorch`` describes, it does not match
            return self.relative_error_below is not None
        return self._shows(got)

    def _names_a_value(self) -> bool:
        """Is ``pytorch`` a value ``_shows`` can match (a keyword or a number), not a description?"""
        if self.pytorch in ("uninitialized", "finite", "nan", "non-finite"):
            return True
        try:
            float(self.pytorch)
        except ValueError:
            return False
        return True

    def explains(self, element: int, case: Case, quantity: str, tensors: Mapping[str, np.ndarray],
                 got: np.ndarray, dtype: str, zero_elements: Callable[[], set[int]] = set,
                 reference: Reference | None = None,
                 holding_elements: Callable[[str, Any], set[int]] | None = None) -> bool:
        """Does failing ``element`` of the flat output ``got`` lie where this entry says, showing its value?

        ``zero_elements()`` gives the elements in units with a zero slice (see ``zero_slice_elements``);
        ``holding_elements(name, v)`` those in units whose slice of ``name`` holds v (``unit_elements``);
        ``reference`` gives the bounds ``at_kink`` reads (without it, ``at_kink`` explains nothing).
        """
        if self.shape is not None or self.raises:  # a shape or raise entry explains that only, never an element
            return False
        if self.requires == "zero_slice" and element not in zero_elements():
            return False
        if self.requires == "empty_input" and not _empty_input(case, tensors):
            return False
        if self.requires == "at_kink" and not _at_kink(reference, quantity, element):
            return False
        if self.requires == "ignored_row_overflow" and element not in ignored_overflow_elements(
                case, quantity, tensors, got.size, dtype):
            return False
        if self.relative_error_below is not None and not _relatively_close(
                reference, quantity, element, float(got.reshape(-1)[element]), self.relative_error_below):
            return False
        flat_got = got.reshape(-1)
        for name, value in self.where.items():
            if isinstance(value, dict) and "unit_holds" in value:
                held = (holding_elements(name, value["unit_holds"]) if holding_elements is not None
                        else unit_elements(case, quantity, tensors, flat_got.size, name, value["unit_holds"]))
                if element not in held:
                    return False
                continue
            if isinstance(value, dict):
                values = _product(tensors, name)
                if "above" in value and not _exceeds(values, value["above"], dtype, element, flat_got.size):
                    return False
                if "below" in value and not _exceeds(None if values is None else -values, -value["below"], dtype,
                                                     element, flat_got.size):
                    return False
                continue
            tensor = tensors.get(name)
            if tensor is None:
                return False
            if tensor.size == flat_got.size:
                if tensor.reshape(-1)[element] != value:
                    return False
            elif flat_got.size != 1 or not np.any(tensor == value):  # a reduced output: some element
                return False
        return self._shows(float(flat_got[element]))


COMPOSED_OF = {
    "fused_linear_cross_entropy": ("cross_entropy",),  # F.cross_entropy(F.linear(input, weight, bias), ...)
    "linear_cross_entropy": ("cross_entropy",),  # its reference path: the same two calls
}
"""Which losses' kernels a spec's reference runs: an entry of one of them may be ``inherited_by`` it."""

ALWAYS = "pytorch"
"""The ledger that applies to every target: eager PyTorch's own deviations."""


def ledger_names() -> tuple[str, ...]:
    """Every ledger in the package, ``pytorch`` first."""
    stems = sorted(p.name.removesuffix(".json") for p in resources.files(__package__).joinpath("ledgers").iterdir()
                   if p.name.endswith(".json"))
    return (ALWAYS, *(s for s in stems if s != ALWAYS))


@cache
def _ledger(name: str) -> tuple[KnownDeviation, ...]:
    path = resources.files(__package__).joinpath("ledgers", f"{name}.json")
    if not path.is_file():  # a target with no ledger yet (cuda before its first proven entry): no entries
        return ()
    text = path.read_text()
    entries = []
    for raw in json.loads(text):
        raw = dict(raw)
        raw["dtypes"] = tuple(raw["dtypes"])
        raw["shape_cases"] = tuple(raw.get("shape_cases", ()))
        raw["present"] = tuple(raw.get("present", ()))
        if raw.get("shape") is not None:
            raw["shape"] = tuple(raw["shape"])
        for heir in raw.get("inherited_by", {}):
            if raw["loss"] not in COMPOSED_OF.get(heir, ()) or raw.get("where"):
                raise ValueError(f"{name}.json: {raw['id']} cannot be inherited by {heir} (COMPOSED_OF, no where)")
        entries.append(KnownDeviation(**raw, ledger=name))
    return tuple(entries)


def known_deviations(ledgers: Sequence[str] = ()) -> tuple[KnownDeviation, ...]:
    """The entries that apply to a target with these ledgers: eager PyTorch's, then each named one's.

    ``ledgers="all"`` gives every entry of every ledger (for listings and the ledger's own tests).
    """
    names = ledger_names() if ledgers == "all" else (ALWAYS, *(n for n in ledgers if n != ALWAYS))
    return tuple(entry for name in names for entry in _ledger(name))


def find_known_shape(case: Case, dtype: str, reference: Reference, shape: tuple[int, ...],
                     ledgers: Sequence[str] = ()) -> str | None:
    """The id of a known deviation explaining an output of ``shape`` (as many elements as the exact one)."""
    if math.prod(shape) != math.prod(reference.shape):
        return None
    return next((e.id for e in known_deviations(ledgers)
                 if e.shape == tuple(shape) and e.applies(case, "value", dtype, reference)), None)


def find_known_claim(case: Case, quantity: str, dtype: str, reference: Reference, relative_error: float,
                     ledgers: Sequence[str] = (), got: float | None = None) -> str | None:
    """The id of a known deviation explaining a failed scalar claim (jvp, hvp) by its relative error and
    the projection ``got`` the target returned (see ``KnownDeviation.explains_claim``), if any."""
    for entry in known_deviations(ledgers):
        if not entry.raises and entry.applies(case, quantity, dtype, reference) and entry.explains_claim(
                relative_error, got):
            return entry.id
    return None


def find_known_raised(case: Case, quantity: str, dtype: str, tensors: Mapping[str, np.ndarray], raised: str,
                      reference: Callable[[], Reference], ledgers: Sequence[str] = ()) -> str | None:
    """The id of a known deviation explaining the exception ``raised`` (``"Type: message"``) where
    ``quantity`` was due, if any. ``reference()`` gives the exact reference, asked for only when an
    entry's pattern matches."""
    for entry in known_deviations(ledgers):
        if not entry.raises or not entry.speaks_of(case.spec.name) or not re.search(entry.raises, raised):
            continue
        if entry.requires == "empty_input" and not _empty_input(case, tensors):
            continue
        if entry.applies(case, quantity, dtype, reference()):
            return entry.id
    return None


def find_known(case: Case, quantity: str, dtype: str, tensors: Mapping[str, np.ndarray], reference: Reference,
               failing: Sequence[int], got: np.ndarray, ledgers: Sequence[str] = ()) -> str | None:
    """The ids of the known deviations that explain these failures (each element by one), if they all are."""
    entries = [e for e in known_deviations(ledgers) if e.applies(case, quantity, dtype, reference)]
    ids: list[str] = []
    zero = cache(lambda: zero_slice_elements(case, quantity, tensors, got.size, dtype))
    holding = cache(lambda name, value: unit_elements(case, quantity, tensors, got.size, name, value))
    for element in failing:
        entry = next((e for e in entries if e.explains(element, case, quantity, tensors, got, dtype, zero, reference,
                                                       holding)), None)
        if entry is None:
            return None
        if entry.id not in ids:
            ids.append(entry.id)
    return ", ".join(ids) if ids else None
