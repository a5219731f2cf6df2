"""The formula reference's pages as HTML: MathML for every equation, no script but the index's search.

Each page is self-contained (its style inline), so the site works from ``file://`` with no network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html import escape
from typing import Any

from ..derivations.render_math import mathml, partial_markup
from .content import Equation, Folded, Preformatted, SpecPage, Table, Text

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem;
       line-height: 1.45; color: #1b1b1b; }
h1 { font-family: ui-monospace, monospace; } h2 { border-bottom: 1px solid #ccc; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; white-space: pre-wrap; font-size: .85rem; }
math[display=block] { margin: .4rem 0 .8rem 1rem; overflow-x: auto; overflow-y: hidden; max-width: 100%;
                      font-size: 1.1rem; }
.caption { font-style: italic; margin: 0 0 0 1rem; }
nav a { margin-right: 1rem; }
#search { font-size: 1.1rem; padding: .3rem .5rem; width: 24rem; max-width: 100%; }
#specs li { margin: .35rem 0; } .formula { color: #444; font-size: .9rem; }
""".strip()


def page(title: str, body: str, script: str = "") -> str:
    tail = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head><body>\n{body}\n{tail}</body></html>\n")


def _lhs(equation: Equation) -> str:
    kind = equation.lhs[0]
    if kind == "partial":
        return partial_markup("l", equation.lhs[1])
    if kind == "jvp":
        return "<mover><mi>l</mi><mo>˙</mo></mover>"
    return f"<mi>{escape(kind)}</mi>"


def _cell(text: str) -> str:
    """A table cell's text, with break points after . : _ , inside long tokens (module paths, shapes)."""
    return " ".join(re.sub(r"([.:_,])(?=\S)", r"\1<wbr>", word) if len(word) > 24 else word
                    for word in escape(text).split(" "))


def _block(block: Any) -> str:
    if isinstance(block, Text):
        return f"<p>{escape(block.text)}</p>"
    if isinstance(block, Preformatted):
        return f"<pre>{escape(block.text)}</pre>"
    if isinstance(block, Table):
        head = "".join(f"<th>{escape(h)}</th>" for h in block.headers) if any(block.headers) else ""
        rows = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table>{f'<tr>{head}</tr>' if head else ''}{rows}</table>"
    if isinstance(block, Equation):
        attributes = {"data-quantity": block.quantity, **({"data-wrt": block.wrt} if block.wrt else {})}
        caption = f'<p class="caption">{escape(block.caption)}</p>' if block.caption else ""
        return caption + mathml(block.expr, _lhs(block), attributes=attributes)
    if isinstance(block, Folded):
        inner = "".join(_block(b) for b in block.blocks)
        return f"<details><summary>{escape(block.summary)}</summary>{inner}</details>"
    raise TypeError(f"no HTML for {type(block).__name__}")


def spec_html(spec_page: SpecPage) -> str:
    sections = "".join(
        f'<section id="{escape(s.title.split()[0].lower())}"><h2>{escape(s.title)}</h2>'
        + "".join(_block(b) for b in s.blocks) + "</section>"
        for s in spec_page.sections)
    contents = "".join(f'<a href="#{escape(s.title.split()[0].lower())}">{escape(s.title)}</a> '
                       for s in spec_page.sections)
    body = (f'<nav><a href="index.html">← all losses</a></nav><h1>{escape(spec_page.name)}</h1>'
            f"<p>{contents}</p>{sections}")
    return page(f"{spec_page.name} — losscheck formula reference", body)


SEARCH = """
const box = document.getElementById('search');
const items = Array.from(document.querySelectorAll('#specs li'));
function filter() {
  const words = box.value.toLowerCase().split(/\\s+/).filter(Boolean);
  let shown = 0;
  for (const item of items) {
    const text = item.dataset.search;
    const match = words.every(w => text.includes(w));
    item.hidden = !match; shown += match;
  }
  document.getElementById('count').textContent = shown + ' of ' + items.length + ' losses';
}
const asked = new URLSearchParams(location.hash.slice(1)).get('q');  // index.html#q=margin links a search
if (asked) box.value = asked;
box.addEventListener('input', filter); filter();
"""


def index_html(pages: Sequence[SpecPage]) -> str:
    """The index: every spec with its formula line, and a search box filtering by name, alias or formula."""
    items = "".join(
        f'<li data-search="{escape(" ".join([p.name, p.summary, *p.keywords]).lower())}">'
        f'<a href="{escape(p.name)}.html">{escape(p.name)}</a> '
        f'<span class="formula">{escape(p.summary)}</span></li>'
        for p in pages)
    body = ("<h1>losscheck formula reference</h1>"
            "<p>Each page is generated from the spec the conformance checks use: its signature and options, "
            "the per-unit loss and every gradient as SymPy derives them, PyTorch's conventions and known "
            "deviations, and the TorchLean links. The same pages as Markdown: <a href=\"md/index.md\">md/</a>.</p>"
            '<p><input id="search" type="search" placeholder="search losses by name, alias or formula" '
            'aria-label="search losses"> <span id="count"></span></p>'
            f'<ul id="specs">{items}</ul>')
    return page("losscheck formula reference", body, SEARCH)


def search_index(pages: Sequence[SpecPage]) -> str:
    """The same search data as JSON, for tools (the index page embeds its own copy)."""
    return json.dumps([{"name": p.name, "formula": p.summary, "keywords": p.keywords} for p in pages],
                      ensure_ascii=False, indent=1)
