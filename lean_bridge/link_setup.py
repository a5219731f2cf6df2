"""The Lean side of one link, set up for a cross-check: a SymPy symbol per element of each Lean tensor
parameter, the parameters bound (fixed values, conventions' substitutions, shapes), random points drawn
from the spec's own domains, and the declaration evaluated on those symbols."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..drawing import sample
from ..spec.core import REAL, Domain, LossSpec
from .lean_source import Checkout, Declaration
from .lean_values import EPSILON, Context, ShapeValue, TapeIdx, TapeNode
from .registry import Link
from .runtime_ops import RUNTIME_VOCABULARY, SPEC_FUNCTIONS
from .syntax import Untranslatable
from .translate import call, evaluate

DIGITS = 30


# ------------------------------------------------------------- sampling ---


def _domain(link: Link, spec: LossSpec | None, param: str) -> Domain:
    """The link's domain for ``param``, else the spec's for the tensor it maps to (under the link's options),
    else real."""
    if param in link.domains:
        return link.domains[param]
    argument = link.arguments.get(param)
    if spec is not None and argument in {t.name for t in spec.tensors}:
        return spec.tensor(argument).domain_for(link.options)
    return REAL


def _draw(domain: Domain, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values of ``domain`` in its interior (no edges, no planted values), so no log(0) or 0/0 at an edge."""
    return np.asarray(sample(domain, rng, shape or (1,), "interior"), dtype=float).reshape(-1)


def lean_symbols(param: str, shape: tuple[int, ...]) -> np.ndarray:
    flat = [sp.Symbol(f"{param}{list(index)}", real=True) for index in np.ndindex(shape)]
    return np.array([*flat, None], dtype=object)[:-1].reshape(shape)


def as_float(value: float) -> sp.Float:
    return sp.Float(float(value), DIGITS)


# ------------------------------------------------------------- the setup ---


@dataclass
class LinkSetup:
    """The Lean side of one link: symbols per Lean tensor parameter, bindings, sampling."""

    link: Link
    spec: LossSpec | None
    declaration: Declaration
    arrays: dict[str, np.ndarray]
    bindings: dict[str, Any]
    tape: bool

    def point(self, rng: np.random.Generator, extra: Mapping[sp.Symbol, Domain] | None = None) -> dict:
        """A random point: every tensor symbol from its domain, ``extra`` symbols from theirs, ε = 1e-6.

        A one-hot link's target is a one-hot row per unit (what TorchLean's definition assumes).
        """
        values: dict[sp.Symbol, sp.Float] = {EPSILON: as_float(1e-6)}
        for param, array in self.arrays.items():
            if self.link.target == "one-hot" and self.link.arguments.get(param) == "target":
                classes = rng.integers(0, array.shape[-1], size=array.shape[:-1])
                draw = (classes[..., None] == np.arange(array.shape[-1])).astype(float).reshape(-1)
            else:
                draw = _draw(_domain(self.link, self.spec, param), rng, array.shape)
            values.update({s: as_float(v) for s, v in zip(array.reshape(-1), draw)})
        for symbol, domain in (extra or {}).items():
            values[symbol] = as_float(_draw(domain, rng, ())[0])
        return values

    def show_point(self, point: Mapping[sp.Symbol, Any]) -> dict[str, Any]:
        """The point as nested lists per Lean parameter, for a counterexample."""
        shown = {}
        for param, array in self.arrays.items():
            values = [float(point[s]) if s in point else None for s in array.reshape(-1)]
            shown[param] = np.array(values).reshape(self.link.shape).tolist() if array.ndim else values[0]
        return shown


def link_setup(link: Link, spec: LossSpec | None, declaration: Declaration, substitute: Mapping[str, Any]) -> LinkSetup:
    """Bind the declaration's parameters: tensors (``Tensor α s``, ``Idx Γ s``) to symbols of ``link.shape``,
    fixed values from the registry and the conventions' substitutions, ``s``/``m``/``n`` to the shape."""
    shape = link.shape
    arrays: dict[str, np.ndarray] = {}
    bindings: dict[str, Any] = {"s": ShapeValue(shape)}
    if len(shape) == 2:
        bindings.update(m=sp.Integer(shape[0]), n=sp.Integer(shape[1]))
    tape = False
    for binder in declaration.explicit():
        name, type_text = binder.name, binder.type_text
        if name in substitute:
            bindings[name] = sp.sympify(substitute[name])
        elif name in link.values:
            value = link.values[name]
            bindings[name] = value if isinstance(value, int) else sp.Rational(value)
        elif "Idx" in type_text.split():
            tape = True
            arrays[name] = lean_symbols(name, shape)
            bindings[name] = TapeIdx(name)
        elif {"Tensor", "RefTy"} & set(type_text.split()) or (name in link.arguments and type_text in ("α", "ℝ")):
            arrays[name] = lean_symbols(name, shape if {"Tensor", "RefTy"} & set(type_text.split()) else ())
            bindings[name] = arrays[name] if arrays[name].ndim else arrays[name][()]
    return LinkSetup(link, spec, declaration, arrays, bindings, tape)


def evaluate_link(link: Link, checkout: Checkout, declaration: Declaration, bindings: Mapping[str, Any]) -> Any:
    """The declaration's value; runtime-layer code also knows the runtime operations."""
    if link.layer == "runtime":
        return evaluate(checkout, declaration, bindings, RUNTIME_VOCABULARY, SPEC_FUNCTIONS)
    return evaluate(checkout, declaration, bindings)


def forward_value(setup: LinkSetup, checkout: Checkout) -> Any:
    value = evaluate_link(setup.link, checkout, setup.declaration, setup.bindings)
    if setup.tape:
        if not isinstance(value, TapeNode) or value.f is None:
            raise Untranslatable(setup.declaration.name, setup.declaration.line, "not a Node.ofVec tape node")
        primal = Context({p: a.reshape(-1) for p, a in setup.arrays.items()})
        value = np.asarray(call(checkout, value.f, primal)).reshape(-1)[0]
    if isinstance(value, np.ndarray):
        raise Untranslatable(setup.declaration.name, setup.declaration.line, "a loss that is not a scalar")
    return sp.sympify(value)
