"""A spec's signature: its tensor arguments, its options, the calling patterns (shapes) it is checked at,
and the named conventions it follows."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .domains import Domain

CALLABLE_NAME = re.compile(r"^(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)$")
"""``MODULE:ATTR``, how a function-valued option names its callable."""


@dataclass(frozen=True)
class TensorArg:
    """One tensor argument: its role, domain, whether PyTorch differentiates it.

    ``optional`` tensors (``weight``, ``pos_weight``, ``bias``) default to
    ``None`` and are passed by name; required ones are passed by position. An
    absent optional tensor reads as ``absent`` in every slot: 1 for a weight,
    0 for a bias.
    """

    name: str
    domain: Domain
    differentiable: bool
    optional: bool = False
    absent: int = 1
    doc: str = ""
    domain_when: tuple[tuple[str, Any, Domain], ...] = ()

    def domain_for(self, options: Mapping[str, Any]) -> Domain:
        """The domain under ``options``: ``domain_when`` entries (option, value, domain) win."""
        for option, value, domain in self.domain_when:
            if options.get(option) == value:
                return domain
        return self.domain


@dataclass(frozen=True)
class Option:
    """A non-tensor keyword argument.

    ``choices`` lists every valid value for a discrete option. A continuous
    option gives ``interval`` = (lo, hi) with ``closed`` ends, and becomes a
    SymPy symbol in the derivation so symbolic work is shared across values.
    ``grid`` is the values the conformance run sweeps (default first).
    ``callable_with`` makes it a function-valued option: its values are None
    or ``MODULE:ATTR`` names of callables having these attributes; the harness
    imports each, and both the implementation and the spec's ``loss`` receive
    the callable itself.
    """

    name: str
    default: Any
    grid: tuple[Any, ...]
    choices: tuple[Any, ...] | None = None
    interval: tuple[float, float] | None = None
    closed: tuple[bool, bool] = (True, True)
    in_formula: bool = True
    doc: str = ""
    callable_with: tuple[str, ...] | None = None

    @property
    def continuous(self) -> bool:
        return self.interval is not None

    def validate(self, value: Any) -> None:
        """Raise ValueError naming the option when ``value`` is out of its domain."""
        if self.callable_with is not None:
            if value is not None and not (isinstance(value, str) and CALLABLE_NAME.match(value)):
                raise ValueError(f"option {self.name}={value!r} is not None or MODULE:ATTR")
            return
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"option {self.name}={value!r} is not one of {list(self.choices)}")
        if self.interval is not None:
            lo, hi = self.interval
            lo_ok = value >= lo if self.closed[0] else value > lo
            hi_ok = value <= hi if self.closed[1] else value < hi
            if not (isinstance(value, (int, float)) and lo_ok and hi_ok):
                brackets = ("[" if self.closed[0] else "(", "]" if self.closed[1] else ")")
                raise ValueError(
                    f"option {self.name}={value!r} is outside {brackets[0]}{lo}, {hi}{brackets[1]}"
                )


def reduction_option(*extra: str) -> Option:
    """PyTorch's ``reduction`` keyword: none / mean / sum, plus ``extra`` kinds."""
    kinds = ("mean", "none", "sum", *extra)
    return Option("reduction", "mean", grid=kinds, choices=kinds, in_formula=False,
                  doc="how units are combined")


@dataclass(frozen=True)
class Convention:
    """A choice that is not pure math, named so reports can cite it: PyTorch's (a spec's ``conventions``) or
    where TorchLean differs from the spec (a link's, in ``lean_bridge.registry``). ``kink`` marks the choices
    made where a branch argument is exactly 0 (a hinge, a sign, a clamp's edge): a failure there quotes them.
    ``substitute`` sets Lean parameters (``epsilon``) so that TorchLean's definition agrees with the spec."""

    name: str
    text: str
    kink: bool = False
    substitute: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class ShapeCase:
    """Concrete shapes for one calling pattern, e.g. batched or unbatched.

    ``domains`` overrides a tensor's domain for this pattern (class-index
    targets versus probability targets); ``skip_options`` names options that
    do not apply to it, so the grid does not sweep them; ``grids`` gives the
    values an option sweeps in this pattern instead of its own grid. ``complex_`` names
    tensors fed as complex numbers in this pattern (real and imaginary parts
    drawn from the domain; complex128/complex64/complex32 for float64/32/16,
    unsupported in bfloat16). A unit reads such a tensor as re + i·im of two
    real symbols, and its gradient is ∂L/∂re + i·∂L/∂im (PyTorch's convention
    for a real loss of a complex input).
    """

    name: str
    shapes: Mapping[str, tuple[int, ...]]
    domains: Mapping[str, Domain] = field(default_factory=dict)
    skip_options: tuple[str, ...] = ()
    complex_: tuple[str, ...] = ()
    grids: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
