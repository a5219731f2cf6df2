"""The expressions a formula reference shows for one spec, all taken from the derivation.

For a representative variant of the spec (every tensor of its first shape case present,
discrete options at their defaults, continuous options as symbols, rows of ``CLASSES``
symbols), ``formula_reference`` returns the unit loss ``l``, the mean-denominator share
``d``, each gradient ∂l/∂s from ``sympy.diff`` (with PyTorch's stated backward convention
beside it where there is one) and the JVP. A recursive spec (CTC) is expanded into one
closed expression on a tiny sequence with the SymPy backend and differentiated the same way.
Nothing here is typed by hand: a page can only show what the checks use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..spec.core import LossSpec, Sequences, Unit
from .recursion import SYMPY
from .symbolic import VariantKey, derive, variant_key
from .units import split_units

CLASSES = 3
"""Row length shown for class-axis and vector specs: small enough to read, large enough to show the pattern."""

SEQUENCE_STEPS, SEQUENCE_CLASSES, SEQUENCE_LABELS = 2, 2, (1,)
"""The tiny sequence a recursive spec is expanded on: T = 2 steps, C = 2 classes, the label row (1,)."""


@dataclass(frozen=True)
class Gradient:
    """∂l/∂``symbol`` (``expr``, from ``sympy.diff``), and what PyTorch's backward computes instead, if stated."""

    tensor: str
    slot: int
    symbol: sp.Symbol
    expr: sp.Expr
    convention: sp.Expr | None = None


@dataclass(frozen=True)
class FormulaReference:
    """What a page shows of one spec's math; ``variant`` says in words which variant it is."""

    spec: LossSpec
    variant: str
    loss: sp.Expr
    denominator: sp.Expr
    gradients: list[Gradient]
    jvp: sp.Expr | None
    tangents: list[sp.Symbol] = field(default_factory=list)
    options: list[sp.Symbol] = field(default_factory=list)


def representative_key(spec: LossSpec) -> VariantKey:
    """Every tensor of the first shape case present, default discrete options; rows of CLASSES symbols
    unless a shared tensor fixes the row lengths (then the first shape case's)."""
    case = spec.shape_cases[0]
    tensors = {t.name: np.zeros(case.shapes[t.name], dtype=np.int64) for t in spec.tensors if t.name in case.shapes}
    defaults = {o.name: o.default for o in spec.options}
    key = variant_key(spec, tuple(tensors), split_units(spec, tensors, defaults), defaults)
    if spec.structure.free_row_length:
        key = dataclasses.replace(key, num_classes=CLASSES,
                                  row_lengths=tuple((name, CLASSES) for name, _ in key.row_lengths))
    return key


def _describe(spec: LossSpec, key: VariantKey) -> str:
    parts = [f"shape case “{spec.shape_cases[0].name}”", "tensors " + ", ".join(key.present)]
    lengths = dict(key.row_lengths)
    rows = sorted({lengths.get(name, key.num_classes) for name in key.present if spec.structure.is_row(name)})
    parts.append("rows of " + " and ".join(map(str, rows)) + " symbols" if rows else "")
    if key.index_target:
        parts.append("class-index target read as a one-hot row")
    parts += [f"{name}={value!r}" for name, value in key.discrete]
    return "; ".join(p for p in parts if p)


def formula_reference(spec: LossSpec) -> FormulaReference:
    """The unit loss, denominator, gradients and JVP of ``spec``'s representative variant."""
    if not spec.structure.closed_form:
        return _sequence_reference(spec)
    key = representative_key(spec)
    derivation = derive(spec, key)
    gradients = [
        Gradient(name, slot, derivation.wrt_symbol(i), grad, derivation.conventions.get(i))
        for i, ((name, slot), grad) in enumerate(zip(derivation.wrt, derivation.loss_grad))
    ]
    return FormulaReference(spec, _describe(spec, key), derivation.loss, derivation.denominator, gradients,
                            derivation.loss_jvp, derivation.tangents, list(derivation.options.values()))


def sequence_symbols(steps: int, classes: int) -> list[list[sp.Symbol]]:
    """x_{t,k}: one real symbol per step and class, named ``log_probs_t_k``."""
    return [[sp.Symbol(f"log_probs_{t}_{k}", real=True) for k in range(classes)] for t in range(steps)]


def _sequence_reference(spec: LossSpec) -> FormulaReference:
    structure = spec.structure
    assert isinstance(structure, Sequences)
    rows = sequence_symbols(SEQUENCE_STEPS, SEQUENCE_CLASSES)
    tensors = {structure.sequence: rows, structure.labels: list(SEQUENCE_LABELS),
               **{name: SEQUENCE_STEPS if name != structure.label_lengths else len(SEQUENCE_LABELS)
                  for name in structure.per_unit}}
    options = {o.name: o.default for o in spec.options}
    unit = Unit(tensors, options, num_classes=SEQUENCE_CLASSES, ops=SYMPY)
    loss = sp.sympify(spec.loss(unit))
    stated = None
    if structure.backward is not None:
        unit_for_backward = Unit(tensors, options, num_classes=SEQUENCE_CLASSES, ops=SYMPY)
        stated = structure.backward(unit_for_backward, structure.gradient(unit_for_backward))
    gradients = [Gradient(structure.sequence, t * SEQUENCE_CLASSES + k, symbol, sp.diff(loss, symbol),
                          None if stated is None else sp.sympify(stated[t][k]))
                 for t, row in enumerate(rows) for k, symbol in enumerate(row)]
    variant = (f"expanded on one sequence of T = {SEQUENCE_STEPS} steps, C = {SEQUENCE_CLASSES} classes, "
               f"labels {list(SEQUENCE_LABELS)}; " + ", ".join(f"{k}={v!r}" for k, v in options.items()))
    return FormulaReference(spec, variant, loss, sp.sympify(spec.denominator(unit)), gradients, None)
