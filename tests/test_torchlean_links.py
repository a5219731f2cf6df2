"""The spec ↔ TorchLean link table (``lean_bridge/registry.py``, its one declaration) against the Lean text
itself and the specs: every declaration it names exists in TorchLean's source, every name it maps exists in
the spec, and the listing shows what it declares."""

import re
from pathlib import Path

from losscheck.lean_bridge.registry import LINKS, SOURCES, linked_declarations, links_for
from losscheck.spec import all_specs
from losscheck.spec.core import Convention, Domain

TORCHLEAN_TEXT = Path(__file__).parent / "fixtures" / "torchlean_ok"
_LINE = re.compile(r"^\s*(?:(?:private|protected|noncomputable|@\[[^\]]*\])\s+)*"
                   r"(?P<kind>namespace|section|end|def|theorem|lemma|abbrev)\b\s*(?P<name>[^\s:({\[]*)")


def _lean_declarations() -> set[str]:
    """Fully qualified names of the definitions and theorems in the fixture's Lean files, read with a
    namespace stack (``namespace A`` … ``end A``; sections open and close without a name)."""
    found: set[str] = set()
    for source in SOURCES:
        scopes: list[tuple[str, str]] = []
        for line in (TORCHLEAN_TEXT / source).read_text().splitlines():
            match = _LINE.match(line)
            if not match:
                continue
            kind, name = match["kind"], match["name"]
            if kind in ("namespace", "section"):
                scopes.append((kind, name))
            elif kind == "end":
                scopes.pop()
            elif name:
                found.add(".".join([n for k, n in scopes if k == "namespace" and n] + [name]))
    return found


def test_every_linked_declaration_is_in_the_lean_text():
    declared = _lean_declarations()
    assert "Spec.mseSpec" in declared  # the reader itself works
    missing = [d for link in LINKS for d in link.declarations if d not in declared]
    assert not missing, f"linked but not declared in {TORCHLEAN_TEXT}: {missing}"


def test_every_link_maps_to_its_spec():
    specs = all_specs()
    for link in LINKS:
        spec = specs[link.spec]
        tensors, options = {t.name for t in spec.tensors}, {o.name for o in spec.options}
        assert set(link.arguments.values()) <= tensors, link.forward
        assert set(link.option_arguments.values()) <= options, link.forward
        assert set(link.options) <= options, link.forward
        assert all(isinstance(c, Convention) for c in link.conventions), link.forward
        assert all(isinstance(d, Domain) for d in link.domains.values()), link.forward


def test_linked_declarations_are_the_links_forwards():
    assert linked_declarations("mse_loss") == [link.forward for link in links_for("mse_loss")]
    assert linked_declarations("linear_cross_entropy") == []  # TorchLean has no linear layer fused with a loss
    assert "Spec.mseSpec" in linked_declarations("mse_loss")


def test_every_option_default_is_valid_and_grid_starts_at_the_default():
    for spec in all_specs().values():
        for option in spec.options:
            option.validate(option.default)
            assert option.default in option.grid, (spec.name, option.name)
            for value in option.grid:
                option.validate(value)
