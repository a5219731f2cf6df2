"""The values a translated Lean term evaluates to besides SymPy expressions and tensors: shapes, tape
indices and contexts, gradients, closures, builtins, constructor tags and tape nodes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .lean_tree import Node

EPSILON = sp.Symbol("epsilon", positive=True)


@dataclass(frozen=True)
class ShapeValue:
    dims: tuple[int, ...]

    @property
    def size(self) -> int:
        return math.prod(self.dims)


@dataclass(frozen=True)
class TapeIdx:
    """A tape node input ``Idx Γ s``: read from a Context with ``CtxVec.get``."""

    name: str


@dataclass(frozen=True)
class Context:
    """A point of the tape context (``xV``) or a tangent (``dxV``): flat arrays by input name."""

    values: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Grad:
    """A VJP result: ``CtxVec.single idx v`` summed over inputs."""

    parts: Mapping[str, np.ndarray]

    def __add__(self, other: Grad) -> Grad:
        merged = dict(self.parts)
        for name, value in other.parts.items():
            merged[name] = merged[name] + value if name in merged else value
        return Grad(merged)


@dataclass
class Closure:
    """A ``fun``: its body is evaluated in ``env``, names resolved from ``namespace``."""

    params: tuple[str, ...]
    body: Node
    env: dict[str, Any]
    namespace: str = ""


@dataclass
class Builtin:
    """A vocabulary entry: ``fn(args, named, call)`` once ``arity`` positional arguments are given.

    ``call(f)`` turns a Lean function value into a Python callable (for ``mapSpec`` and friends).
    ``signature`` names the roles of the positional arguments (``axis``, ``tensor``) with the value a
    missing role takes, for entries whose parameters differ between TorchLean versions.
    """

    name: str
    arity: int
    fn: Callable[[list[Any], dict[str, Any], Callable], Any]
    args: tuple[Any, ...] = ()
    named: dict[str, Any] = field(default_factory=dict)
    signature: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Tag:
    """A constructor without arguments (``.mean``, ``Reduction.sum``), chosen among by ``match``."""

    name: str


@dataclass(frozen=True)
class TapeNode:
    f: Any
    jvp: Any
    vjp: Any
