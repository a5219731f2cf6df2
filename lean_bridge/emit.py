"""SymPy to Lean 4: one file per spec with its unit loss as a Mathlib definition, and theorem
statements equating it with the TorchLean declarations it is linked to.

The unit loss is the spec's per-unit expression for a representative variant: the required
tensors only (optional ones read as their absent value), discrete options at their defaults,
continuous options as real parameters, and for class-axis specs ``CLASSES`` classes with
probability-row targets; a spec with shared tensors (a weight matrix every unit reads) takes
its row lengths from its first shape case instead, since a shared tensor's size is not a class count.
Scalars become ``(x : ℝ)`` binders; a class row becomes ``(x : Fin C → ℝ)`` read as ``x k``.
The binders are explicit, as TorchLean's ``autoImplicit := false`` requires.

Each theorem is a statement with ``sorry`` for its proof: it applies the TorchLean definition
to one element (``Spec.scalarTensor``) or one class row (``Spec.vectorTensor``), with the
link's conventions fixed (ε = 0 where the registry says the two agree at ε = 0), and may need
the inputs' domain as hypotheses. Tape nodes (``Node.ofVec``) get no statement here: their
forward function lives on tape contexts, not on tensors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from ..derivations.symbolic import VariantKey, derive, variant_key
from ..derivations.units import split_units
from ..spec import all_specs
from ..spec.core import LossSpec
from . import emit_ctc
from .printer import LeanPrinter
from .registry import Link, links_for

CLASSES = 3
NAMESPACE = "Losscheck"


@dataclass
class Emitted:
    written: dict[str, Path] = field(default_factory=dict)  # spec name -> its file, one per spec
    skipped: dict[str, str] = field(default_factory=dict)  # spec name -> why its file holds no definition


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _lower_camel(name: str) -> str:
    text = camel(name)
    return text[:1].lower() + text[1:]


def unit_expression(spec: LossSpec) -> tuple[sp.Expr, dict[str, object], list[sp.Symbol]]:
    """The spec's unit loss for the representative variant, its tensor symbols, its option symbols.

    A tensor the unit reads as a row gets ``CLASSES`` symbols (a list), or with shared tensors
    the lengths of the first shape case; any other, one symbol.
    """
    derivation = derive(spec, _representative_key(spec))
    loss = sp.sympify(derivation.loss)
    if not isinstance(loss, sp.Expr):
        raise TypeError(f"its unit loss is a {type(loss).__name__}, not a SymPy expression")
    return loss, derivation.symbols, list(derivation.options.values())


def _representative_key(spec: LossSpec) -> VariantKey:
    """The variant emitted: required tensors, default discrete options, probability-row targets."""
    present = tuple(t.name for t in spec.required_tensors)
    discrete = tuple((o.name, o.default) for o in spec.options if o.in_formula and not o.continuous)
    if not getattr(spec.structure, "shared", ()):
        return VariantKey(spec.name, present, CLASSES, False, discrete)
    shapes = spec.shape_cases[0].shapes
    zeros = {name: np.zeros(shapes[name], dtype=np.int64) for name in present}
    defaults = {o.name: o.default for o in spec.options}
    key = variant_key(spec, present, split_units(spec, zeros, defaults), defaults)
    return dataclasses.replace(key, index_target=False)


@dataclass(frozen=True)
class Param:
    """One binder of the emitted unit definition: its Lean name and type, and what it stands for."""

    name: str
    type: str  # "ℝ" or "Fin C → ℝ"
    option: bool = False


def _definition(spec: LossSpec, printer: LeanPrinter) -> tuple[str, str, list[Param]]:
    """(Lean name, Lean source of the definition, its binders in order)."""
    loss, tensors, options = unit_expression(spec)
    replacements = {}
    params: list[Param] = []
    for name, value in tensors.items():
        lean_name = printer._print(sp.Symbol(name))
        if isinstance(value, list):
            function = sp.Function(lean_name)
            replacements.update({symbol: function(sp.Integer(k)) for k, symbol in enumerate(value)})
            params.append(Param(lean_name, f"Fin {len(value)} → ℝ"))
        else:
            params.append(Param(lean_name, "ℝ"))
    params += [Param(printer._print(symbol), "ℝ", option=True) for symbol in options]
    vector_printer = LeanPrinter({"user_functions": {p.name: p.name for p in params}})
    body = vector_printer.doprint(loss.xreplace(replacements))
    lean_name = f"{_lower_camel(spec.name)}Unit"
    doc = spec.formula.replace("-/", "- /")
    binders = " ".join(f"({p.name} : {p.type})" for p in params)
    source = (f"/-- `{spec.name}` for one unit: {doc}\n\n"
              f"Representative variant: required tensors only, default options. -/\n"
              f"noncomputable def {lean_name} {binders} : ℝ :=\n  {body}\n")
    return lean_name, source, params


def _theorem(link: Link, unit_name: str, params: list[Param]) -> str:
    """A statement equating the unit definition with the spec-layer declaration ``link.forward``.

    TorchLean's tensors are built from the unit's values: ``Spec.scalarTensor x`` for one element,
    ``Spec.vectorTensor x`` for a row (shape ``.dim C .scalar``, class axis 0); a declaration on
    scalars (``link.shape == ()``) takes them as they are. Options TorchLean does not have are 0.
    """
    lean_param = {argument: param for param, argument in link.arguments.items()}
    rows = [p for p in params if p.type != "ℝ"]
    shape = f".dim {rows[0].type.split()[1]} .scalar" if rows else ".scalar"
    arguments = ["0"] if "axis" in link.values else []
    binders, unit_arguments = [], []
    for p in params:
        if p.name in lean_param:
            wrap = "" if link.shape == () else ("Spec.vectorTensor " if p.type != "ℝ" else "Spec.scalarTensor ")
            arguments.append(f"({lean_param[p.name]} := {wrap}{p.name})")
        mapped = p.name in lean_param or p.name in link.option_arguments.values()
        binders += [f"({p.name} : {p.type})"] if mapped else []
        unit_arguments.append(p.name if mapped else "0")
    arguments += [f"({param} := {option})" for param, option in link.option_arguments.items()]
    arguments += [f"({param} := {value})" for c in link.conventions for param, value in c.substitute.items()]
    implicit = "(α := ℝ)" if link.shape == () else f"(α := ℝ) (s := {shape})"
    conventions = "; ".join(f"{c.name}: {c.text}" for c in link.conventions) or "none"
    head = link.forward.rsplit(".", 1)[-1]
    return (f"/-- `{link.forward}` agrees with `{unit_name}` on one unit.\n\n"
            f"Conventions: {conventions}. Mean denominator: {link.denominator}. -/\n"
            f"theorem {unit_name}_eq_{head} {' '.join(binders)} :\n"
            f"    {link.forward} {implicit} {' '.join(arguments)} =\n"
            f"      {unit_name} {' '.join(unit_arguments)} := by\n  sorry\n")


def lean_file(spec: LossSpec) -> str:
    """The Lean 4 source emitted for ``spec``; a recursion over sequences (CTC) is ``emit_ctc``'s."""
    if not spec.structure.closed_form:
        return emit_ctc.lean_file(spec, NAMESPACE)
    printer = LeanPrinter()
    unit_name, definition, params = _definition(spec, printer)
    parts = [f"/-\nGenerated by `losscheck lean emit` from the losscheck spec `{spec.name}`.\n-/\n",
             "import Mathlib\n", "set_option autoImplicit false\n", f"namespace {NAMESPACE}\n", definition]
    for link in links_for(spec.name):
        if link.layer == "spec":
            parts.append(_theorem(link, unit_name, params))
        else:
            parts.append(f"-- TorchLean tape node `{link.forward}`: checked by `losscheck lean check`; "
                         "it has no tensor-level statement here.\n")
    parts.append(f"end {NAMESPACE}\n")
    return "\n".join(parts)


def emit_all(out: Path, specs: dict[str, LossSpec] | None = None) -> Emitted:
    """Write ``<CamelName>.lean`` per spec into ``out``.

    A spec that cannot be printed (its loss is not a SymPy expression, or uses a node Lean's
    reals lack) still gets its file, holding only the reason, and is listed in ``skipped``.
    """
    out.mkdir(parents=True, exist_ok=True)
    result = Emitted()
    for name, spec in (all_specs() if specs is None else specs).items():
        try:
            text = lean_file(spec)
        except Exception as error:  # a spec from any branch may fail in its own way; report it, never crash
            reason = f"{type(error).__name__}: {error}".splitlines()[0]
            result.skipped[name] = reason
            why = reason.replace("-/", "- /")
            text = (f"/-\nGenerated by `losscheck lean emit` from the losscheck spec `{name}`.\n"
                    f"No definition: the unit loss cannot be printed as a Lean term ({why}).\n-/\n")
        path = out / f"{camel(name)}.lean"
        path.write_text(text, encoding="utf-8")
        result.written[name] = path
    return result
