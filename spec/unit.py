"""A unit: the symbols (or numbers) one unit of a loss reads, handed to a spec's functions."""

from __future__ import annotations

from collections.abc import Mapping
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

    ``u.tensor.NAME`` and ``u.option.NAME`` read one namespace each; ``u.NAME`` reads either. A spec
    function that reads a name the spec does not declare fails when the spec is defined
    (``loss_spec.LossSpec``), not when it is first derived.
    """

    tensors: dict[str, Any]
    options: dict[str, Any]
    keep: Any = 1
    index_target: bool = False
    num_classes: int = 1
    ops: Any = None
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def tensor(self) -> Names:
        """The tensors alone: ``u.tensor.input``."""
        return Names("tensor", self.tensors)

    @property
    def option(self) -> Names:
        """The options alone: ``u.option.margin``."""
        return Names("option", self.options)

    def __getattr__(self, name: str) -> Any:
        """``u.input``, ``u.margin``: a tensor or an option, where the name is one of them only."""
        tensors = self.__dict__.get("tensors", {})
        if name in tensors:
            return tensors[name]
        options = self.__dict__.get("options", {})
        if name in options:
            return options[name]
        raise AttributeError(f"{name!r} is neither a tensor ({', '.join(tensors) or 'none'}) "
                             f"nor an option ({', '.join(options) or 'none'}) of this unit")


class Names:
    """Read-only attribute access to one namespace of a unit: its tensors, or its options."""

    def __init__(self, kind: str, values: Mapping[str, Any]):
        self._kind, self._values = kind, values

    def __getattr__(self, name: str) -> Any:
        values = self.__dict__["_values"]
        if name in values:
            return values[name]
        raise AttributeError(f"no {self.__dict__['_kind']} {name!r}; this unit's: {', '.join(values) or 'none'}")
