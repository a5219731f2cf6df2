"""``losscheck docs --out DIR``: write the formula reference (HTML + MathML, and Markdown + LaTeX under md/).

The only module of the site that touches the other layers' entry points: the specs, the
known-deviation ledger, and the Lean bridge (emit always; check only with a TorchLean checkout).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..conformance.deviations import known_deviations
from ..lean_bridge.crosscheck import check_all
from ..lean_bridge.emit import lean_file
from ..lean_bridge.lean_source import open_checkout
from ..lean_bridge.registry import SOURCES, links_for
from ..spec import all_specs
from .content import LeanFacts, SpecPage, spec_page
from .html import index_html, search_index, spec_html
from .markdown import index_markdown, spec_markdown


def every_known_deviation() -> tuple:
    """Every recorded deviation, of every target's ledger."""
    return tuple(known_deviations("all"))


def deviation_target(deviation) -> str | None:
    """The target a deviation belongs to: the ledger it came from (``pytorch`` for eager PyTorch's)."""
    return deviation.ledger


def _emitted(spec) -> str:
    try:
        return lean_file(spec)
    except Exception as error:  # as `lean emit` does: a spec that cannot be printed says why
        return f"-- no definition: the unit loss cannot be printed as a Lean term ({type(error).__name__}: {error})"


def build_pages(names: Sequence[str] | None = None, torchlean: str | None = None) -> list[SpecPage]:
    """The pages of ``names`` (default: every spec); with ``torchlean``, ``lean check``'s findings on each."""
    specs = all_specs()
    chosen = list(names) if names else list(specs)
    findings = None
    if torchlean is not None:
        findings = check_all(open_checkout(torchlean, SOURCES))
    deviations = every_known_deviation()
    pages = []
    for name in chosen:
        spec = specs[name]
        mine = None if findings is None else [f for f in findings if f.spec == name]
        lean = LeanFacts(links_for(name), _emitted(spec), mine)
        pages.append(spec_page(spec, deviations, lean))
    return pages


def write_site(out: Path, pages: Sequence[SpecPage]) -> list[Path]:
    """index.html, one NAME.html per page, search.json, and md/ with the Markdown; returns the files."""
    markdown = out / "md"
    markdown.mkdir(parents=True, exist_ok=True)
    files = {out / "index.html": index_html(pages), out / "search.json": search_index(pages),
             markdown / "index.md": index_markdown(pages)}
    for p in pages:
        files[out / f"{p.name}.html"] = spec_html(p)
        files[markdown / f"{p.name}.md"] = spec_markdown(p)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
