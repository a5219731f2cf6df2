"""The layout of a derivation's evaluator rows: one declaration of which quantity sits where.

A unit with n differentiable entries s_1..s_n has a ``full`` row holding, in this order:

    loss, share                 l and its mean-denominator share d
    loss_grad, share_grad       ∂l/∂s_i and ∂d/∂s_i (n each)
    loss_magnitude, grad_magnitude    M(l) and M(∂l/∂s_i) (n): rounding magnitudes
    loss_underflow, grad_underflow    A(l) and A(∂l/∂s_i) (n): underflow magnitudes
    peak, grad_peak             P, the unit's largest intermediate, and each ∂l/∂s_i's largest partial product (n)
    slack, distance             to the unit's nearest kink

A ``grad`` row is its first 2 + 2n entries; a ``forward`` row its first two. The generator
(``symbolic.Derivation``) writes rows with ``assemble`` and every reader takes positions from ``layout``,
so adding a quantity is one line in ``FIELDS``. The positions index a row (a tuple) and a column array (a
NumPy array with one column per unit) alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, NamedTuple


class Row(NamedTuple):
    """One full row's quantities by name: a position (int or slice) in ``layout``, a value in ``view``."""
    loss: Any
    share: Any
    loss_grad: Any
    share_grad: Any
    loss_magnitude: Any
    grad_magnitude: Any
    loss_underflow: Any
    grad_underflow: Any
    peak: Any
    grad_peak: Any
    slack: Any
    distance: Any


# the fields that hold one entry per differentiable input; the others hold one entry
PER_INPUT = frozenset({"loss_grad", "share_grad", "grad_magnitude", "grad_underflow", "grad_peak"})
FIELDS = Row._fields
GRAD_FIELDS = FIELDS[:4]  # a ``grad`` row


@cache
def layout(n: int) -> Row:
    """Each field's position in a full row of a unit with ``n`` differentiable entries."""
    positions, at = [], 0
    for field in FIELDS:
        width = n if field in PER_INPUT else 1
        positions.append(slice(at, at + width) if field in PER_INPUT else at)
        at += width
    return Row(*positions)


def width(n: int, fields: Sequence[str] = FIELDS) -> int:
    """The length of a row holding ``fields`` (a prefix of ``FIELDS``)."""
    return sum(n if field in PER_INPUT else 1 for field in fields)


def view(row: Any, n: int) -> Row:
    """A full row (or column array) read by name."""
    return Row(*(row[p] for p in layout(n)))


def assemble(n: int, **quantities: Any) -> list[Any]:
    """The row holding ``quantities`` (a prefix of ``FIELDS``, in any order) in layout order."""
    fields = FIELDS[:len(quantities)]
    if set(quantities) != set(fields):
        raise ValueError(f"a row holds a prefix of {FIELDS}, not {sorted(quantities)}")
    row: list[Any] = []
    for field in fields:
        value = quantities[field]
        if field in PER_INPUT:
            if len(value) != n:
                raise ValueError(f"{field} holds {len(value)} entries, not {n}")
            row.extend(value)
        else:
            row.append(value)
    return row
