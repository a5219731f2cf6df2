"""The whole loss of a tiny case as one SymPy expression in per-element symbols.

This is the spec's expanded form: units built from element symbols, reduced
symbolically (mean = Σ l / Σ d). Differentiating it with ``sympy.diff``
cross-checks the structured path (per-unit gradients scattered and combined
by the quotient rule) and lets hand-written gradient forms be compared
symbolically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..spec.core import LossSpec
from .symbolic import make_unit, variant_key
from .units import split_units


def element_symbols(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of real symbols ``name[i,j,...]`` with the given shape."""
    size = int(np.prod(shape, dtype=np.int64))
    flat = np.array([sp.Symbol(f"{name}{list(np.unravel_index(i, shape)) if shape else ''}", real=True)
                     for i in range(size)], dtype=object)
    return flat.reshape(shape)


def _exact(value: Any) -> Any:
    """Numbers become exact Rationals (a float64 is a dyadic rational); symbols pass through."""
    return sp.Rational(float(value)) if isinstance(value, (float, np.floating)) else value


def expanded_loss(spec: LossSpec, tensors: Mapping[str, np.ndarray], options: Mapping[str, Any]) -> list[sp.Expr]:
    """The output as SymPy expressions (one per output element, or one if reduced).

    ``tensors`` may hold element symbols (object arrays) or numbers; class
    indices stay integer arrays.
    """
    table = split_units(spec, tensors, options)
    key = variant_key(spec, tuple(tensors), table, options)
    losses, shares = [], []
    for u in range(table.kept.size):
        row = {name: ([_exact(e) for e in v[u]] if v.ndim == 2 else _exact(v[u])) for name, v in table.values.items()}
        unit = make_unit(spec, key, row, keep=int(table.kept[u]))
        losses.append(spec.loss(unit) if table.kept[u] else sp.Integer(0))
        shares.append(spec.denominator(unit) if table.kept[u] else sp.Integer(0))
    options_symbols = {o.name: sp.Symbol(o.name, real=True) for o in spec.options if o.continuous}
    # a continuous option is the double the implementation receives, held exactly (as the oracle holds it)
    values = {options_symbols[n]: _exact(float(options.get(n, spec.option(n).default))) for n in options_symbols}
    reduction = options.get("reduction", "mean")
    if reduction == "none":
        return [sp.sympify(loss).xreplace(values) for loss in losses]
    total = sp.Add(*losses)
    divisor = {"sum": sp.Integer(1), "mean": sp.Add(*shares), "batchmean": sp.Integer(table.batch_size)}[reduction]
    return [(total / divisor).xreplace(values)]
