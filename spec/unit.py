"""A unit: the symbols (or numbers) one unit of a loss reads, handed to a spec's functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
