"""Where a known deviation's conditions hold: the elements of a case's output that an entry may explain.

The predicates a ledger entry's ``where`` and ``requires`` read (an empty input, a product of tensors
beyond a bound, an element at a kink, a value within a relative error of the exact one) and the
elements of a quantity that belong to the units whose slice holds a value or is all zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mpmath
import numpy as np
import torch

from ..derivations.units import UnitTable, split_units
from .cases import Case
from .oracle import Reference
from .tolerance import overflow_threshold


def _empty_input(case: Case, tensors: Mapping[str, np.ndarray]) -> bool:
    """Does the case's first input have no elements?"""
    return not tensors[case.spec.required_tensors[0].name].size


def _product(tensors: Mapping[str, np.ndarray], key: str) -> np.ndarray | None:
    """The flat elementwise product named by ``key`` ("input*target", "-input*target"); None if not computable."""
    sign = -1.0 if key.startswith("-") else 1.0
    factors = [tensors.get(name) for name in key.lstrip("-").split("*")]
    if any(f is None for f in factors) or len({f.shape for f in factors}) != 1:
        return None
    return sign * np.prod(np.stack([f.astype(np.float64) for f in factors]), axis=0).reshape(-1)


def _exceeds(values: np.ndarray | None, above: Any, dtype: str, element: int, output_size: int) -> bool:
    """Is the value at ``element`` above the threshold? For a reduced output: is any value?"""
    if values is None:
        return False
    threshold = above[dtype] if isinstance(above, dict) else above
    if values.size == output_size:
        return bool(values[element] > threshold)
    return output_size == 1 and bool((values > threshold).any())


def _at_kink(reference: Reference | None, quantity: str, element: int) -> bool:
    """Does ``element`` of ``quantity`` read a unit sitting exactly on a kink (its bound's ``at_kink``)?"""
    if reference is None:
        return False
    bounds = reference.value_bounds if quantity == "value" else reference.grad_bounds.get(
        quantity.removeprefix("grad "), [])
    return element < len(bounds) and bounds[element].at_kink


def _relatively_close(reference: Reference | None, quantity: str, element: int, got: float, below: float) -> bool:
    """Is ``got`` within relative error ``below`` of the exact, nonzero and finite, value of ``element``?"""
    if reference is None or not math.isfinite(got):
        return False
    exact = reference.value if quantity == "value" else reference.grads.get(quantity.removeprefix("grad "), [])
    if element >= len(exact) or not mpmath.isfinite(exact[element]) or exact[element] == 0:
        return False
    return bool(abs((mpmath.mpf(got) - exact[element]) / exact[element]) < below)


def unit_elements(case: Case, quantity: str, tensors: Mapping[str, np.ndarray], size: int, name: str,
                  value: Any) -> set[int]:
    """The flat elements of ``quantity`` (size ``size``) that belong to a unit whose slice of tensor
    ``name``, read raw, holds ``value`` (sliced losses; ``name`` has the first sliced tensor's shape)."""
    structure = case.spec.structure
    tensor = tensors.get(name)
    if not structure.sliced or tensor is None:
        return set()
    sliced = tensors.get(structure.sliced[0])
    if sliced is None or sliced.shape != tensor.shape:
        return set()
    table = split_units(case.spec, tensors, case.options)
    rows = table.positions[structure.sliced[0]].reshape(table.kept.size, -1)
    holds = np.array([bool(np.any(tensor.reshape(-1)[row] == value)) for row in rows], dtype=bool)
    return _elements_of_units(table, quantity, size, holds)


def _elements_of_units(table: UnitTable, quantity: str, size: int, chosen: np.ndarray) -> set[int]:
    """The flat elements of ``quantity`` (size ``size``) that read one of the ``chosen`` units (a mask)."""
    units = table.kept.size
    if quantity == "value":
        if size == units:
            return {int(u) for u in np.flatnonzero(chosen)}
        return set(range(size)) if chosen.any() else set()
    positions = table.positions.get(quantity.removeprefix("grad "))
    if positions is None:
        return set()
    return {int(e) for e in positions.reshape(units, -1)[chosen].reshape(-1)}


def zero_slice_elements(case: Case, quantity: str, tensors: Mapping[str, np.ndarray], size: int,
                        dtype: str) -> set[int]:
    """The flat elements of ``quantity`` (size ``size``) that belong to a unit with a zero slice."""
    structure = case.spec.structure
    if not structure.sliced:
        return set()
    table = split_units(case.spec, tensors, case.options)
    units = table.kept.size
    product = torch.ones(units, dtype=getattr(torch, dtype))
    for name in structure.sliced:  # the squared norms, and their product, computed in the dtype
        rows = torch.tensor(np.asarray(table.values[name], dtype=np.float64).reshape(units, -1), dtype=product.dtype)
        product = product * (rows * rows).sum(dim=1)
    zero = (product == 0).numpy()
    return _elements_of_units(table, quantity, size, zero)


def ignored_overflow_elements(case: Case, quantity: str, tensors: Mapping[str, np.ndarray], size: int,
                              dtype: str) -> set[int]:
    """The flat elements of the value (size ``size``) of a row whose target is ``ignore_index`` and whose
    exact logits z = input·linear_weightᵀ + linear_bias overflow ``dtype`` (|z| past the largest value's
    rounding threshold); for a reduced output, {0} when some row is such. Such a row's loss is exactly 0."""
    ignore = case.options.get("ignore_index")
    needed = [tensors.get(n) for n in ("input", "linear_weight", "target")]
    if quantity != "value" or ignore is None or any(t is None for t in needed):
        return set()
    x, w, target = needed
    rows = np.atleast_2d(x.astype(np.float64))
    logits = rows @ w.astype(np.float64).T
    if tensors.get("linear_bias") is not None:
        logits = logits + tensors["linear_bias"].astype(np.float64)
    limit = float(overflow_threshold(dtype))
    chosen = (np.atleast_1d(target).reshape(-1) == ignore) & (np.abs(logits) >= limit).any(axis=1)
    if size == chosen.size:
        return {int(u) for u in np.flatnonzero(chosen)}
    return {0} if size == 1 and chosen.any() else set()
