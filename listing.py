"""``losscheck list`` and ``losscheck show NAME``: the specs in a terminal of any width, 80 columns included.

``list`` gives one short block per spec (name, formula, inputs, options, TorchLean count), wrapped
with a hanging indent; ``show`` gives one spec in full: inputs with their domains, options with
defaults and ranges, conventions, TorchLean declarations, names elsewhere and known deviations.
"""

from __future__ import annotations

import textwrap

from rich.console import Console

from .docs_site.build import deviation_target, every_known_deviation
from .docs_site.content import describe_domain, describe_range
from .lean_bridge.registry import linked_declarations
from .spec import all_specs
from .spec.core import LossSpec

INDENT, HANGING = "    ", "      "


def _item(console: Console, text: str) -> None:
    """``text`` wrapped to the terminal, indented, its continuation lines indented further."""
    wrapped = textwrap.fill(text, width=max(console.width, 40), initial_indent=INDENT, subsequent_indent=HANGING,
                            break_on_hyphens=False)
    console.print(wrapped, markup=False, highlight=False, soft_wrap=True)


def _heading(console: Console, text: str) -> None:
    console.print(text, style="bold", markup=False, highlight=False, soft_wrap=True)


def _inputs(spec: LossSpec) -> str:
    return ", ".join(t.name + ("=None" if t.optional else "") for t in spec.tensors)


def print_block(spec: LossSpec, console: Console) -> None:
    """Name, formula, and one line of inputs, options and links."""
    facts = [f"inputs {_inputs(spec)}"]
    if spec.options:
        facts.append("options " + ", ".join(o.name for o in spec.options))
    linked = linked_declarations(spec.name)
    facts.append(f"TorchLean {len(linked)}" if linked else "no TorchLean link")
    _heading(console, spec.name)
    _item(console, spec.formula)
    _item(console, " · ".join(facts))


def print_list(console: Console) -> None:
    specs = all_specs()
    intro = (f"{len(specs)} specs; `losscheck show NAME` gives one in full, `losscheck docs --out DIR` writes "
             "the formula reference with every gradient.")
    console.print(textwrap.fill(intro, width=max(console.width, 40)), markup=False, highlight=False, soft_wrap=True)
    for spec in specs.values():
        console.print()
        print_block(spec, console)


def _section(console: Console, title: str, lines: list[str]) -> None:
    console.print()
    _heading(console, title)
    for line in lines or ["none"]:
        _item(console, line)


def print_spec(spec: LossSpec, console: Console) -> None:
    """Everything the terminal can show of one spec; the gradients are in ``losscheck docs``."""
    _heading(console, spec.name)
    _item(console, spec.formula)
    inputs = []
    for t in spec.tensors:
        kind = "optional" if t.optional else "required"
        differentiated = "differentiated" if t.differentiable else "not differentiated"
        doc = f" ({t.doc})" if t.doc else ""
        inputs.append(f"{t.name}: {describe_domain(t.domain)}; {kind}, {differentiated}{doc}")
    _section(console, "inputs", inputs)
    options = []
    for o in spec.options:
        valid = describe_range(o)
        options.append(f"{o.name} = {o.default!r}" + (f" in {valid}" if valid != "any" else "")
                       + (f": {o.doc}" if o.doc else ""))
    _section(console, "options", options)
    _section(console, "conventions", [f"{c.name}: {c.text}" for c in spec.conventions])
    _section(console, "TorchLean", linked_declarations(spec.name))
    _section(console, "names in other systems", [f"{system}: {name}" for system, name in sorted(spec.aliases.items())])
    deviations = [f"{d.id} ({d.quantity}; {', '.join(d.dtypes)}"
                  + (f"; target {deviation_target(d)}" if deviation_target(d) else "")
                  + f"): PyTorch {d.pytorch}, exact {d.exact}"
                  for d in every_known_deviation() if d.loss == spec.name or spec.name in d.inherited_by]
    _section(console, "known PyTorch deviations", deviations)
    console.print()
    _heading(console, "gradients")
    _item(console, f"losscheck docs --out DIR renders every one: DIR/{spec.name}.html")
