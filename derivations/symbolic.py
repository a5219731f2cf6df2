"""Symbolic derivation of one spec variant: the unit loss and what follows from it.

For a spec, a set of present tensors, a class count and the discrete options,
``derive`` builds the per-unit loss ``l`` and mean-denominator share ``d`` in
SymPy and derives, with ``sympy.diff`` only:

* the gradient ∂l/∂s and ∂d/∂s w.r.t. every symbol of a differentiable tensor,
  and where the spec states a gradient convention (what PyTorch's backward
  computes instead), that convention and its check against ``sympy.diff``;
* the forward-mode tangent (JVP) d/dh l(s + h·ṡ) at h = 0, by a separate route
  (substitution then differentiation in h), so the adjoint identity between
  JVP and VJP is a real check;
* the rounding and underflow magnitudes M and A of l and ∂l/∂s for the
  tolerance policy (see ``magnitude``).

Each variant is derived once and cached; evaluators are generated from it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import sympy as sp

from ..spec import all_specs
from ..spec.core import LossSpec, Unit
from ..spec.functions import unclamped
from . import disk_cache, row_layout
from .evaluators import generated_source, load_generated, make_mpmath, make_numpy
from .kinks import kink_outputs
from .magnitude import (
    adjoint_underflow,
    largest_partial_product,
    least,
    peak_magnitude,
    rounding_magnitude,
    underflow_magnitude,
)
from .units import UnitTable


@dataclass(frozen=True)
class VariantKey:
    """What fixes a spec's unit expression: present tensors, C, target kind, discrete options, complex tensors.

    ``row_lengths`` gives the number of symbols of each tensor a unit reads as a
    row; a row tensor not listed has C (``num_classes``).
    """

    loss: str
    present: tuple[str, ...]
    num_classes: int
    index_target: bool
    discrete: tuple[tuple[str, Any], ...]
    complex_: tuple[str, ...] = ()
    row_lengths: tuple[tuple[str, int], ...] = ()


def variant_key(spec: LossSpec, present: tuple[str, ...], table: UnitTable, options: Mapping[str, Any]) -> VariantKey:
    """The variant a case belongs to; ``table`` gives its class count and target kind."""
    discrete = tuple(
        (o.name, options.get(o.name, o.default))
        for o in spec.options if o.in_formula and not o.continuous
    )
    rows = tuple((name, int(table.values[name].shape[1])) for name in present if _is_row(spec, name))
    return VariantKey(spec.name, tuple(present), table.num_classes, table.index_target, discrete, table.complex_,
                      rows)


def unit_symbols(spec: LossSpec, key: VariantKey) -> dict[str, Any]:
    """Symbols a unit reads: a scalar per tensor, a list for a row (see ``Slices``), (re, im) if complex."""
    lengths = dict(key.row_lengths)
    symbols: dict[str, Any] = {}
    for tensor in spec.tensors:
        if tensor.name not in key.present:
            continue
        if tensor.name in key.complex_:
            symbols[tensor.name] = [sp.Symbol(f"{tensor.name}_{part}", real=True) for part in ("re", "im")]
        elif _is_row(spec, tensor.name):
            length = lengths.get(tensor.name, key.num_classes)
            symbols[tensor.name] = list(sp.symbols(f"{tensor.name}_0:{length}", real=True))
        else:
            symbols[tensor.name] = sp.Symbol(tensor.name, real=True)
    return symbols


def _is_row(spec: LossSpec, name: str) -> bool:
    return spec.structure.is_row(name)


def option_symbols(spec: LossSpec) -> dict[str, sp.Symbol]:
    return {o.name: sp.Symbol(o.name, real=True) for o in spec.options if o.continuous}


def make_unit(spec: LossSpec, key: VariantKey, tensors: dict[str, Any], keep: Any = 1) -> Unit:
    """A Unit over ``tensors``; absent optional tensors read as their ``absent`` constant,
    continuous options as symbols.

    A complex tensor, given as its (re, im) pair, reads as re + i·im.
    """
    filled = dict(tensors)
    for name in key.complex_:
        real, imaginary = filled[name]
        filled[name] = real + sp.I * imaginary
    for tensor in spec.optional_tensors:
        if tensor.name not in filled:
            if tensor.name in getattr(spec.structure, "shared", ()):
                raise TypeError(f"{spec.name}: shared tensor {tensor.name} must be required (its size is unknown)")
            constant = sp.Integer(tensor.absent)
            filled[tensor.name] = [constant] * key.num_classes if _is_row(spec, tensor.name) else constant
    options: dict[str, Any] = dict(key.discrete)
    options.update(option_symbols(spec))
    return Unit(filled, options, sp.sympify(keep), key.index_target, key.num_classes)


def _flatten(symbols: dict[str, Any]) -> list[sp.Symbol]:
    flat: list[sp.Symbol] = []
    for value in symbols.values():
        flat.extend(value if isinstance(value, list) else [value])
    return flat


@dataclass
class Derivation:
    """The derived expressions of one variant and their generated evaluators.

    ``arguments`` is the evaluators' argument order: unit symbols, tensor by
    tensor, then continuous options. ``wrt`` lists (tensor name, class slot)
    for each gradient component, slot 0 for elementwise structures.
    ``loss_grad`` is ``sympy.diff`` of the loss; ``conventions`` maps a
    component's index to the gradient the spec states PyTorch computes
    instead, and ``backward_grad`` is ``loss_grad`` with those in place (what
    the oracle and the tolerance use). ``convention_checks`` pairs, per
    conventional component, the convention and the derivative of the loss,
    both with every clamp removed: they must be equal everywhere.
    """

    key: VariantKey
    symbols: dict[str, Any]
    options: dict[str, sp.Symbol]
    loss: sp.Expr
    denominator: sp.Expr
    wrt: list[tuple[str, int]]
    loss_grad: list[sp.Expr]
    denominator_grad: list[sp.Expr]
    tangents: list[sp.Symbol]
    loss_jvp: sp.Expr
    denominator_jvp: sp.Expr
    forms: list[sp.Expr] = field(default_factory=list)
    conventions: dict[int, sp.Expr] = field(default_factory=dict)
    convention_checks: list[tuple[sp.Expr, sp.Expr]] = field(default_factory=list)
    registered: bool = False  # the spec is the registry's (its math is spec/'s source): evaluators may be stored
    _evaluators: dict[str, Callable] = field(default_factory=dict, repr=False)

    @property
    def arguments(self) -> list[sp.Symbol]:
        return _flatten(self.symbols) + list(self.options.values())

    @property
    def backward_grad(self) -> list[sp.Expr]:
        """∂l/∂s as PyTorch's backward computes it: the stated conventions, else ``loss_grad``."""
        return [self.conventions.get(i, g) for i, g in enumerate(self.loss_grad)]

    def wrt_symbol(self, i: int) -> sp.Symbol:
        name, slot = self.wrt[i]
        value = self.symbols[name]
        return value[slot] if isinstance(value, list) else value

    def _bounds(self, bound: Callable[[sp.Expr], sp.Expr]) -> list[sp.Expr]:
        """bound of the loss, then of each gradient component: the max over the loss and its forms."""
        forms = [self.loss, *self.forms]
        grads = [[g, *(sp.diff(f, self.wrt_symbol(i)) for f in self.forms)] for i, g in enumerate(self.backward_grad)]
        return [sp.Max(*[bound(f) for f in group]) for group in [forms, *grads]]

    @cached_property
    def magnitudes(self) -> list[sp.Expr]:
        """M (rounding magnitude) of the loss, then of each ∂l/∂s."""
        return self._bounds(rounding_magnitude)

    @cached_property
    def underflows(self) -> list[sp.Expr]:
        """A (underflow magnitude) of the loss, then of each ∂l/∂s plus the backward's adjoints
        (``adjoint_underflow`` of the loss, or of its form that forms the most)."""
        loss, *grads = self._bounds(underflow_magnitude)
        adjoints = [sp.Max(*[adjoint_underflow(f, self.wrt_symbol(i)) for f in [self.loss, *self.forms]])
                    for i in range(len(self.wrt))]
        return [loss, *[a + u for a, u in zip(grads, adjoints)]]

    @cached_property
    def peak(self) -> sp.Expr:
        """P (largest intermediate) of the loss, or of its least overflowing form: a kernel may overflow
        only where every known way of evaluating the loss does. A unit's gradients share it (a backward
        reuses the forward's intermediates), which keeps the expression small."""
        peaks = [peak_magnitude(f) for f in [self.loss, *self.forms]]
        return least(*peaks) if len(peaks) > 1 else peaks[0]

    @cached_property
    def second_order_directions(self) -> tuple[list[sp.Symbol], list[sp.Symbol]]:
        """(w, v): the symbols of a double backward's two directions, one per gradient component."""
        return ([sp.Symbol(f"w_{self.wrt_symbol(i).name}", real=True) for i in range(len(self.wrt))],
                [sp.Symbol(f"v_{self.wrt_symbol(i).name}", real=True) for i in range(len(self.wrt))])

    @cached_property
    def second_order_magnitude(self) -> sp.Expr:
        """M of vᵀ∇(Σ_i w_i·∂f/∂s_i), the unit's share of a double backward ⟨h, v⟩, as the chain rule
        expands it (no simplification: cancellations a kernel meets, such as 1 − tanh², stay), for the
        loss and each computational form f; the largest of them."""
        w, v = self.second_order_directions
        pairs = list(zip([self.wrt_symbol(i) for i in range(len(self.wrt))], v))
        magnitudes = []
        for f in [self.loss, *self.forms]:
            first = sp.Add(*[wi * sp.diff(f, self.wrt_symbol(i)) for i, wi in enumerate(w)])
            magnitudes.append(rounding_magnitude(_directional_derivative(first, pairs)))
        return sp.Max(*magnitudes)

    @cached_property
    def gradient_peaks(self) -> list[sp.Expr]:
        """Per ∂l/∂s (as PyTorch's backward computes it), its largest partial product: an intermediate of
        any backward that multiplies its factors in another order (see ``largest_partial_product``)."""
        return [largest_partial_product(g) for g in self.backward_grad]

    @cached_property
    def kinks(self) -> tuple[sp.Expr, sp.Expr]:
        """(slack, distance) of the unit to its nearest kink w.r.t. the differentiable inputs (see ``kinks``)."""
        return kink_outputs(self.loss, {self.wrt_symbol(i) for i in range(len(self.wrt))})

    def _outputs(self, kind: str) -> list[sp.Expr]:
        if kind == "forward":
            return [self.loss, self.denominator]
        if kind in ("full", "full/math"):
            grads = self.backward_grad if kind == "full" else self.loss_grad
            slack, distance = self.kinks
            return row_layout.assemble(
                len(self.wrt), loss=self.loss, share=self.denominator, loss_grad=grads,
                share_grad=self.denominator_grad, loss_magnitude=self.magnitudes[0],
                grad_magnitude=self.magnitudes[1:], loss_underflow=self.underflows[0],
                grad_underflow=self.underflows[1:], peak=self.peak, grad_peak=self.gradient_peaks,
                slack=slack, distance=distance)
        if kind == "conventions":
            return [e for pair in self.convention_checks for e in pair]
        if kind == "jvp":
            return [self.loss_jvp, self.denominator_jvp]
        if kind == "second order":
            return [self.second_order_magnitude]
        if kind in ("grad", "grad/math"):
            grads = self.backward_grad if kind == "grad" else self.loss_grad
            return row_layout.assemble(len(self.wrt), loss=self.loss, share=self.denominator, loss_grad=grads,
                                       share_grad=self.denominator_grad)
        raise ValueError(kind)

    def evaluator(self, kind: str, backend: str = "mpmath") -> Callable:
        """A generated function of ``arguments`` (+ tangents for ``jvp``) returning a tuple.

        kinds: ``forward`` (l, d); ``grad`` and ``full`` (the rows of ``row_layout``);
        ``full/math`` and ``grad/math`` (``full`` and ``grad`` with ``loss_grad``, not the conventions, for
        ∂l/∂s); ``jvp`` (l̇, ḋ);
        ``conventions`` (the ``convention_checks`` pairs, flattened); ``second order`` (M of a double
        backward's share, with the directions w then v after ``arguments``).
        backends: ``mpmath`` (the oracle) and ``numpy`` (fast float64).
        """
        if kind in ("full/math", "grad/math") and not self.conventions:
            kind = kind.removesuffix("/math")  # the same expressions: compile them once
        cache_key = f"{kind}/{backend}"
        if cache_key not in self._evaluators:
            self._evaluators[cache_key] = self._generate(kind, backend)
        return self._evaluators[cache_key]

    def _generate(self, kind: str, backend: str) -> Callable:
        """lambdify the ``kind`` outputs, or load the generated source from the ``evaluators`` disk store."""
        w, v = self.second_order_directions
        arguments = self.arguments + {"jvp": self.tangents, "second order": [*w, *v]}.get(kind, [])
        store = disk_cache.store("evaluators")
        key = store and self.registered and _evaluator_key(self.key, kind, backend, arguments)
        if key:
            source = store.load(key)
            if source is not None:
                return load_generated(source.decode(), backend)
        make = make_mpmath if backend == "mpmath" else make_numpy
        function = make(arguments, self._outputs(kind))
        if key and (source := generated_source(function, arguments, backend)) is not None:
            store.save(key, source.encode())
        return function


def _evaluator_key(key: VariantKey, kind: str, backend: str, arguments: list[sp.Symbol]) -> str | None:
    """The disk-store key of one generated evaluator: the code hash, the variant, the kind, the backend and
    the argument names; None for a variant that holds something other than plain data (a user's function)."""
    try:
        variant = json.dumps([getattr(key, f.name) for f in dataclasses.fields(key)])
    except (TypeError, ValueError):  # a function-valued option's callable: not plain data
        return None
    document = [disk_cache.code_hash(), variant, kind, backend, [str(a) for a in arguments]]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()


def _directional_derivative(expr: sp.Expr, pairs: list[tuple[sp.Symbol, sp.Symbol]]) -> sp.Expr:
    h = sp.Dummy("h", real=True)  # real, so that |s + h·ṡ| differentiates to sign(·)·ṡ
    moved = expr.xreplace({s: s + h * t for s, t in pairs})
    return sp.diff(moved, h).subs(h, 0)


@cache
def derive(spec: LossSpec, key: VariantKey) -> Derivation:
    """Derive ``spec`` for ``key`` once; later calls return the cached Derivation."""
    symbols = unit_symbols(spec, key)
    unit = make_unit(spec, key, symbols)
    loss = sp.sympify(spec.loss(unit))
    denominator = sp.sympify(spec.denominator(unit))
    wrt: list[tuple[str, int]] = []
    for tensor in spec.tensors:
        if tensor.name not in symbols or not tensor.differentiable:
            continue
        if key.index_target and tensor.name == getattr(spec.structure, "index_target", None):
            continue  # class indices are not differentiable
        if tensor.name in getattr(spec.structure, "encode", {}):
            continue  # encoded integer rows are not differentiable
        value = symbols[tensor.name]
        slots = range(len(value)) if isinstance(value, list) else [0]
        wrt.extend((tensor.name, slot) for slot in slots)
    wrt_symbols = [_flatten({name: symbols[name]})[slot] for name, slot in wrt]
    tangents = [sp.Symbol(f"tangent_{s.name}", real=True) for s in wrt_symbols]
    pairs = list(zip(wrt_symbols, tangents))
    stated = {name: convention(unit) for name, convention in spec.gradient_conventions.items()}
    conventions, checks = {}, []
    for i, ((name, slot), symbol) in enumerate(zip(wrt, wrt_symbols)):
        if name in stated:
            value = stated[name]
            conventions[i] = sp.sympify(value[slot] if isinstance(value, (list, tuple)) else value)
            checks.append((unclamped(conventions[i]), sp.diff(unclamped(loss), symbol)))
    return Derivation(
        key, symbols, option_symbols(spec), loss, denominator, wrt,
        loss_grad=[sp.diff(loss, s) for s in wrt_symbols],
        denominator_grad=[sp.diff(denominator, s) for s in wrt_symbols],
        tangents=tangents,
        loss_jvp=_directional_derivative(loss, pairs),
        denominator_jvp=_directional_derivative(denominator, pairs),
        forms=[sp.sympify(form(unit)) for form in spec.computational_forms],
        conventions=conventions,
        convention_checks=checks,
        registered=all_specs().get(spec.name) is spec,
    )
