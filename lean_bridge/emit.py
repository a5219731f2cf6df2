"""SymPy to Lean 4: one file per spec with its unit loss as a Mathlib definition, and theorem
statements equating it with the TorchLean declarations it is linked to.

The unit loss is the spec's per-unit expression for a representative variant: the required
tensors only (optional ones read as 1), discrete options at their defaults, continuous options
as real parameters, and for class-axis specs ``CLASSES`` classes with probability-row targets.
Scalars become ``(x : ℝ)`` binders; a class row becomes ``(x : Fin C → ℝ)`` read as ``x k``.
The binders are explicit, as TorchLean's ``autoImplicit := false`` requires.

Each theorem is a statement with ``sorry`` for its proof: it applies the TorchLean definition
to one element (``Spec.scalarTensor``) or one class row (``Spec.vectorTensor``), with the
link's conventions fixed (ε = 0 where the registry says the two agree at ε = 0), and may need
the inputs' domain as hypotheses. Tape nodes (``Node.ofVec``) get no statement here: their
forward function lives on tape contexts, not on tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sympy as sp

from ..derivations.symbolic import VariantKey, derive
from ..spec import all_specs
from ..spec.core import LossSpec
from .printer import LeanPrinter
from .registry import Link, links_for

CLASSES = 3
NAMESPACE = "Losscheck"


@dataclass
class Emitted:
    written: dict[str, Path] = field(default_factory=dict)  # spec name -> file
    skipped: dict[str, str] = field(default_factory=dict)  # spec name -> reason


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _lower_camel(name: str) -> str:
    text = camel(name)
    return text[:1].lower() + text[1:]


def unit_expression(spec: LossSpec) -> tuple[sp.Expr, dict[str, object], list[sp.Symbol]]:
    """The spec's unit loss for the representative variant, its tensor symbols, its option symbols.

    A tensor the unit reads as a row gets ``CLASSES`` symbols (a list); any other, one symbol.
    """
    discrete = tuple((o.name, o.default) for o in spec.options if o.in_formula and not o.continuous)
    key = VariantKey(spec.name, tuple(t.name for t in spec.required_tensors), CLASSES, False, discrete)
    derivation = derive(spec, key)
    loss = sp.sympify(derivation.loss)
    if not isinstance(loss, sp.Expr):
        raise TypeError(f"its unit loss is a {type(loss).__name__}, not a SymPy expression")
    return loss, derivation.symbols, list(derivation.options.values())


def _definition(spec: LossSpec, printer: LeanPrinter) -> tuple[str, str, list[str]]:
    """(Lean name, Lean source of the definition, its binder names in order)."""
    loss, tensors, options = unit_expression(spec)
    replacements = {}
    binders, names = [], []
    for name, value in tensors.items():
        lean_name = printer._print(sp.Symbol(name))
        names.append(lean_name)
        if isinstance(value, list):
            function = sp.Function(lean_name)
            replacements.update({symbol: function(sp.Integer(k)) for k, symbol in enumerate(value)})
            binders.append(f"({lean_name} : Fin {len(value)} → ℝ)")
        else:
            binders.append(f"({lean_name} : ℝ)")
    for symbol in options:
        names.append(printer._print(symbol))
        binders.append(f"({names[-1]} : ℝ)")
    vector_printer = LeanPrinter({"user_functions": {n: n for n in names}})
    body = vector_printer.doprint(loss.xreplace(replacements))
    lean_name = f"{_lower_camel(spec.name)}Unit"
    doc = spec.formula.replace("-/", "- /")
    source = (f"/-- `{spec.name}` for one unit: {doc}\n\n"
              f"Representative variant: required tensors only, default options. -/\n"
              f"noncomputable def {lean_name} {' '.join(binders)} : ℝ :=\n  {body}\n")
    return lean_name, source, names


def _theorem(link: Link, unit_name: str, names: list[str], class_axis: bool) -> str:
    """A statement equating the unit definition with the spec-layer declaration ``link.forward``.

    ``class_axis``: the unit reads rows of ``CLASSES`` values (one class row, ``Spec.vectorTensor``).
    """
    by_argument = {argument: param for param, argument in link.arguments.items()}
    wrap = "" if link.shape == () else ("Spec.vectorTensor " if class_axis else "Spec.scalarTensor ")
    shape = f".dim {CLASSES} .scalar" if class_axis else ".scalar"
    arguments = []
    if "axis" in link.values:
        arguments.append("0")
    substitutes = {k: v for c in link.conventions for k, v in c.substitute.items()}
    for name in names:
        if name in by_argument:
            arguments.append(f"({by_argument[name]} := {wrap}{name})")
    for param, option in link.option_arguments.items():
        arguments.append(f"({param} := {option})")
    arguments += [f"({param} := {value})" for param, value in substitutes.items()]
    option_binders = [n for n in names if n not in by_argument]
    unit_arguments = [n if n in by_argument or n in link.option_arguments.values() else "0" for n in names]
    binders = [f"({n} : Fin {CLASSES} → ℝ)" if class_axis else f"({n} : ℝ)" for n in names if n in by_argument]
    binders += [f"({n} : ℝ)" for n in option_binders if n in link.option_arguments.values()]
    head = link.forward.rsplit(".", 1)[-1]
    implicit = "(α := ℝ)" if link.shape == () else f"(α := ℝ) (s := {shape})"
    conventions = "; ".join(f"{c.name}: {c.text}" for c in link.conventions) or "none"
    return (f"/-- `{link.forward}` agrees with `{unit_name}` on one unit.\n\n"
            f"Conventions: {conventions}. Mean denominator: {link.denominator}. -/\n"
            f"theorem {unit_name}_eq_{head} {' '.join(binders)} :\n"
            f"    {link.forward} {implicit} {' '.join(arguments)} =\n"
            f"      {unit_name} {' '.join(unit_arguments)} := by\n  sorry\n")


def lean_file(spec: LossSpec) -> str:
    """The Lean 4 source emitted for ``spec``."""
    printer = LeanPrinter()
    unit_name, definition, names = _definition(spec, printer)
    parts = [f"/-\nGenerated by `losscheck lean emit` from the losscheck spec `{spec.name}`.\n-/\n",
             "import Mathlib\n", "set_option autoImplicit false\n", f"namespace {NAMESPACE}\n", definition]
    rows = any(isinstance(value, list) for value in unit_expression(spec)[1].values())
    for link in links_for(spec.name):
        if link.layer == "spec":
            parts.append(_theorem(link, unit_name, names, rows))
        else:
            parts.append(f"-- TorchLean tape node `{link.forward}`: checked by `losscheck lean check`; "
                         "it has no tensor-level statement here.\n")
    parts.append(f"end {NAMESPACE}\n")
    return "\n".join(parts)


def emit_all(out: Path, specs: dict[str, LossSpec] | None = None) -> Emitted:
    """Write ``<CamelName>.lean`` per spec into ``out``; a spec that cannot be printed is skipped with its reason."""
    out.mkdir(parents=True, exist_ok=True)
    result = Emitted()
    for name, spec in (all_specs() if specs is None else specs).items():
        try:
            text = lean_file(spec)
        except Exception as error:  # a spec from any branch may fail in its own way; report it, never crash
            result.skipped[name] = f"{type(error).__name__}: {error}".splitlines()[0]
            continue
        path = out / f"{camel(name)}.lean"
        path.write_text(text, encoding="utf-8")
        result.written[name] = path
    return result


