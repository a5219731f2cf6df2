"""What one spec's page says, as format-neutral blocks that the HTML and Markdown writers render.

Every fact comes from the code the checks run: the spec object (signature, options, structure,
conventions, links), the derivation (loss, denominator, gradients, JVP: ``sympy.diff`` results),
the known-deviation ledger (through ``conformance.deviations.known_deviations``), and the Lean
bridge (the ``lean emit`` text, and ``lean check`` findings when a checkout is given).
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from ..derivations.formula_reference import FormulaReference, formula_reference
from ..derivations.render_math import readable
from ..spec.core import Domain, LossSpec, Option, TensorArg

# ------------------------------------------------------------------ blocks ---


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Preformatted:
    text: str


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Equation:
    """``lhs = expr``: ``lhs`` is ("l",), ("d",), ("jvp",) or ("partial", symbol); ``quantity`` and ``wrt``
    label it (``loss``, ``denominator``, ``gradient``, ``backward``, ``jvp``) so it can be found and read back."""

    lhs: tuple[Any, ...]
    expr: sp.Expr
    quantity: str
    wrt: str = ""
    caption: str = ""


@dataclass(frozen=True)
class Folded:
    """Blocks shown collapsed under ``summary`` (the other slots of a row's gradient)."""

    summary: str
    blocks: tuple[Any, ...]


@dataclass
class Section:
    title: str
    blocks: list[Any] = field(default_factory=list)


@dataclass
class SpecPage:
    name: str
    summary: str
    sections: list[Section]
    keywords: list[str]


# ------------------------------------------------------------- signature ---


def _bound(value: float) -> str:
    return "∞" if value == math.inf else "−∞" if value == -math.inf else f"{value:g}"


def describe_domain(domain: Domain) -> str:
    """``name in [lo, hi]``, with the regimes the gate draws."""
    text = domain.name
    if (domain.lo, domain.hi) != (-math.inf, math.inf):
        text += f" in [{_bound(domain.lo)}, {_bound(domain.hi)}]"
    values = getattr(domain, "values", ())
    if values:
        text += " (" + ", ".join(f"{v:g}" for v in values) + ")"
    if domain.edges:
        text += "; edges " + ", ".join(f"{v:g}" for v in domain.edges)
    return text


def _shapes(spec: LossSpec, tensor: TensorArg) -> str:
    return "; ".join(f"{case.name}: {tuple(case.shapes[tensor.name])}"
                     for case in spec.shape_cases if tensor.name in case.shapes)


def _tensor_row(spec: LossSpec, tensor: TensorArg) -> tuple[str, ...]:
    domain = describe_domain(tensor.domain)
    domain += "".join(f"; if {option}={value!r}: {describe_domain(d)}" for option, value, d in tensor.domain_when)
    for case in spec.shape_cases:
        if tensor.name in case.domains:
            domain += f"; in “{case.name}”: {describe_domain(case.domains[tensor.name])}"
    kind = "optional (absent reads as " + str(tensor.absent) + ")" if tensor.optional else "required"
    return (tensor.name, tensor.doc or "-", domain, "yes" if tensor.differentiable else "no", kind,
            _shapes(spec, tensor))


def describe_range(option: Option) -> str:
    if option.interval is not None:
        lo, hi = option.interval
        left, right = ("[" if option.closed[0] else "("), ("]" if option.closed[1] else ")")
        return f"{left}{_bound(lo)}, {_bound(hi)}{right}"
    if option.callable_with is not None:
        return "None or MODULE:ATTR with ." + ", .".join(option.callable_with)
    if option.choices is not None:
        return " | ".join(map(repr, option.choices))
    return "any"


def _option_row(option: Option) -> tuple[str, ...]:
    if option.continuous:
        role = f"a symbol {option.name} in the formulas below"
    elif option.in_formula:
        role = f"picks the variant (shown: {option.name}={option.default!r})"
    else:
        role = "not in the unit formula (reduction, masking or grid)"
    return (option.name, repr(option.default), describe_range(option), option.doc or "-", role,
            ", ".join(map(repr, option.grid)))


# ------------------------------------------------------------- structure ---


def describe_structure(spec: LossSpec) -> str:
    """The structure around the unit loss, in words, from the structure object's fields."""
    return spec.structure.describe()


def _reduction_text(spec: LossSpec) -> str:
    choices = spec.option("reduction").choices if any(o.name == "reduction" for o in spec.options) else ()
    parts = []
    if "none" in (choices or ()):
        parts.append("none: the unit losses l, shaped like the output")
    if "sum" in (choices or ()):
        parts.append("sum: Σ_u l_u")
    if "mean" in (choices or ()):
        scale = " (each l_u scaled per sequence)" if getattr(spec.structure, "mean_scale", None) else ""
        parts.append(f"mean: Σ_u l_u{scale} / Σ_u d_u, with the denominator share d below")
    if "batchmean" in (choices or ()):
        parts.append("batchmean: Σ_u l_u / N, N the first dimension of the input")
    return "; ".join(parts) + "." if parts else "No reduction option: the loss is the unit loss."


# ------------------------------------------------------------------ math ---


def _gradient_blocks(reference: FormulaReference) -> list[Any]:
    """Per tensor: slot 0 shown, the other slots folded; PyTorch's stated backward beside each."""
    blocks: list[Any] = []
    by_tensor: dict[str, list[Any]] = {}
    for g in reference.gradients:
        shown = [Equation(("partial", g.symbol), readable(g.expr), "gradient", g.symbol.name)]
        if g.convention is not None:
            shown.append(Equation(("partial", g.symbol), readable(g.convention), "backward", g.symbol.name,
                                  caption="PyTorch's backward computes instead (a stated convention):"))
        by_tensor.setdefault(g.tensor, []).append(shown)
    for tensor, slots in by_tensor.items():
        blocks.append(Text(f"With respect to {tensor}:"))
        blocks.extend(slots[0])
        if len(slots) > 1:
            blocks.append(Folded(f"the other {len(slots) - 1} components of ∂l/∂{tensor}",
                                 tuple(e for slot in slots[1:] for e in slot)))
    return blocks


def _math_section(reference: FormulaReference) -> Section:
    spec = reference.spec
    blocks: list[Any] = [Text(f"Shown for: {reference.variant}.")]
    if reference.options:
        blocks.append(Text("Continuous options stay symbols: " + ", ".join(s.name for s in reference.options) + "."))
    loss_doc = (inspect.getdoc(spec.loss) or "").rstrip(".")
    blocks += [Text("Per-unit loss" + (f" ({loss_doc})" if loss_doc else "") + ":"),
               Equation(("l",), readable(reference.loss), "loss")]
    return Section("Per-unit loss", blocks)


def _reduction_section(reference: FormulaReference) -> Section:
    spec = reference.spec
    denominator_doc = (inspect.getdoc(spec.denominator) or "").rstrip(".")
    return Section("Reduction and denominator", [
        Text(_reduction_text(spec)),
        Text("Denominator share of one unit" + (f" ({denominator_doc})" if denominator_doc else "") + ":"),
        Equation(("d",), reference.denominator, "denominator"),
    ])


# ------------------------------------------------------------ the page ---


def _module_notes(spec: LossSpec) -> str:
    module = sys.modules.get(spec.loss.__module__)
    return inspect.getdoc(module) or ""


def _conventions_section(spec: LossSpec) -> Section:
    rows = tuple((c.name, c.text) for c in spec.conventions)
    blocks: list[Any] = [Table(("convention", "what PyTorch does"), rows)] if rows else [Text("None stated.")]
    if spec.gradient_conventions:
        blocks.append(Text("PyTorch's backward departs from the derivative for: "
                           + ", ".join(spec.gradient_conventions) + " (each shown under Gradients)."))
    return Section("Conventions", blocks)


def _deviation_blocks(spec: LossSpec, deviations: Sequence[Any]) -> list[Any]:
    mine = [d for d in deviations if d.loss in (spec.name, "*")]  # "*": a target's mechanism, every loss
    if not mine:
        return [Text("None recorded for this loss.")]
    blocks: list[Any] = []
    for d in mine:
        target = getattr(d, "target", None) or getattr(d, "ledger", None)
        head = f"{d.id}: {d.quantity} in {', '.join(d.dtypes)}" + (f" (target {target})" if target else "")
        if d.options:
            head += "; options " + ", ".join(f"{k}={v!r}" for k, v in d.options.items())
        blocks.append(Text(head))
        blocks.append(Table(("", ""), (("PyTorch returns", str(d.pytorch)), ("exact value", str(d.exact)),
                                       ("why", str(d.explanation)))))
        reproducer = d.reproducer if isinstance(d.reproducer, Mapping) else {}
        if reproducer.get("code"):
            lines = [str(reproducer["code"])]
            lines += [f"# PyTorch: {reproducer['pytorch_value']}"] if reproducer.get("pytorch_value") else []
            lines += [f"# exact:   {reproducer['exact_value']}"] if reproducer.get("exact_value") else []
            blocks.append(Preformatted("\n".join(lines)))
    return blocks


@dataclass(frozen=True)
class LeanFacts:
    """What the Lean bridge says about one spec: the links, the ``lean emit`` text, ``lean check`` findings."""

    links: Sequence[Any]
    emitted: str
    findings: Sequence[Any] | None  # None: no checkout was given


def _lean_section(spec: LossSpec, lean: LeanFacts) -> Section:
    blocks: list[Any] = []
    mirrored = list(dict.fromkeys(link.forward for link in lean.links))
    if mirrored:
        blocks.append(Text("Declarations mirrored: " + ", ".join(mirrored) + "."))
    if lean.links:
        rows = tuple((link.forward, link.layer, link.derivative or link.certificate or "-",
                      "; ".join(f"{c.name}: {c.text}" for c in link.conventions) or "-") for link in lean.links)
        blocks.append(Table(("TorchLean declaration", "layer", "derivative / certificate", "convention differences"),
                            rows))
    else:
        blocks.append(Text("No TorchLean declaration is linked to this spec."))
    if lean.findings is None:
        blocks.append(Text("lean check verdicts: not run (no TorchLean checkout given; "
                           "`losscheck docs --torchlean PATH` adds them, with each declaration's file and line)."))
    elif lean.findings:
        rows = tuple((f.declaration, f"{f.path}:{f.line}" if f.path else "-", f.check,
                      f.status + (" " + ", ".join(f.conventions) if f.conventions else ""), f.detail or "-")
                     for f in lean.findings)
        blocks.append(Table(("declaration", "file:line", "check", "lean check verdict", "detail"), rows))
    blocks.append(Text("The statement `losscheck lean emit` writes for this spec:"))
    blocks.append(Preformatted(lean.emitted))
    return Section("TorchLean", blocks)


def spec_page(spec: LossSpec, deviations: Sequence[Any], lean: LeanFacts) -> SpecPage:
    """Every section of ``spec``'s page."""
    reference = formula_reference(spec)
    tensors = Table(("input", "role", "domain", "differentiated", "kind", "shapes (by shape case)"),
                    tuple(_tensor_row(spec, t) for t in spec.tensors))
    options = Table(("option", "default", "valid values", "meaning", "in the formula", "values the gate sweeps"),
                    tuple(_option_row(o) for o in spec.options)) if spec.options else Text("No options.")
    gradients = _gradient_blocks(reference)
    if reference.jvp is not None:
        gradients += [Text("Forward mode (JVP), derived separately by substituting s + h·ṡ and differentiating "
                           "in h at 0; each tangent_s is the direction ṡ:"),
                      Equation(("jvp",), readable(reference.jvp), "jvp")]
    others = tuple(sorted(spec.aliases.items()))
    sections = [
        Section("Formula", [Text(spec.formula)]),
        Section("Signature", [tensors]),
        Section("Options", [options]),
        Section("Structure", [Text(describe_structure(spec))]),
        _math_section(reference),
        _reduction_section(reference),
        Section("Gradients (sympy.diff)", gradients),
        _conventions_section(spec),
        Section("Known PyTorch deviations", _deviation_blocks(spec, deviations)),
        _lean_section(spec, lean),
        Section("Names in other systems", [Table(("system", "name"), others) if others else Text("None recorded.")]),
        Section("Notes from the spec", [Preformatted(_module_notes(spec))]),
    ]
    keywords = [spec.name, *spec.aliases.values(), *dict.fromkeys(link.forward for link in lean.links)]
    return SpecPage(spec.name, spec.formula, sections, keywords)
