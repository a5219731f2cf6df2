"""SymPy expressions as MathML (presentation, with the content form as its semantics) and as LaTeX.

The presentation printer is SymPy's, with three changes so a page reads as mathematics:
a symbol's trailing ``_<digits>`` parts become subscripts while the rest of its name stays
whole (``pos_weight_2`` is *pos_weight* with subscript 2, not *pos* sub *weight*); a
``Piecewise`` is a brace of cases with "otherwise"; SymPy's ``True`` never appears. The
content form (``<annotation-xml encoding="MathML-Content">``) keeps each symbol's name in a
plain ``<ci>``, so a reader (or a test) can parse an expression back from the page.
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.latex import LatexPrinter as SympyLatexPrinter
from sympy.printing.mathml import MathMLContentPrinter, MathMLPresentationPrinter

_INDEXED = re.compile(r"^(?P<base>.*?)(?P<indices>(?:_\d+)+)$")


def readable(expr: sp.Expr) -> sp.Expr:
    """``expr`` with common factors pulled out where that shortens it (cheap, never ``simplify``)."""
    candidate = sp.factor_terms(expr)
    return candidate if sp.count_ops(candidate) < sp.count_ops(expr) else expr


def float_literal(value: sp.Float) -> tuple[str, int | None]:
    """(mantissa, exponent) of the shortest decimal of the float64 nearest ``value``: ``1e-06`` → ("1", −6)."""
    mantissa, _, exponent = repr(float(value)).partition("e")
    return mantissa.removesuffix(".0"), int(exponent) if exponent else None


def as_decimals(expr: sp.Basic) -> sp.Basic:
    """``expr`` with each rational that is exactly a float64 with a large denominator shown as a decimal
    (PyTorch's eps = 1e-6 arrives as 4722366482869645/2^72). For display only: the content MathML
    keeps the exact rational."""
    floats = {r: sp.Float(r, 30) for r in expr.atoms(sp.Rational)
              if r.q > 1000 and sp.Rational(float(r)) == r}
    return expr.xreplace(floats) if floats else expr


def split_name(name: str) -> tuple[str, list[str]]:
    """(base, subscripts) of a symbol name: ``log_probs_0_1`` → (``log_probs``, [0, 1])."""
    match = _INDEXED.match(name)
    if not match or not match.group("base"):
        return name, []
    return match.group("base"), match.group("indices").lstrip("_").split("_")


class PresentationPrinter(MathMLPresentationPrinter):
    """SymPy's presentation MathML with whole names, indexed subscripts and braced cases."""

    def _print_Symbol(self, sym: sp.Symbol, style: str = "plain"):
        base, indices = split_name(sym.name)
        identifier = self.dom.createElement("mi")
        identifier.appendChild(self.dom.createTextNode(base))
        if not indices:
            return identifier
        subscript = self.dom.createElement("msub")
        subscript.appendChild(identifier)
        numbers = self.dom.createElement("mrow")
        for k, index in enumerate(indices):
            if k:
                comma = self.dom.createElement("mo")
                comma.setAttribute("separator", "true")
                comma.appendChild(self.dom.createTextNode(","))
                numbers.appendChild(comma)
            number = self.dom.createElement("mn")
            number.appendChild(self.dom.createTextNode(index))
            numbers.appendChild(number)
        subscript.appendChild(numbers)
        return subscript

    _print_Dummy = _print_Symbol

    def _print_Float(self, expr: sp.Float):
        mantissa, exponent = float_literal(expr)
        if exponent is None:
            return self._text("mn", mantissa)
        row = self.dom.createElement("mrow")
        power = self.dom.createElement("msup")
        power.appendChild(self._text("mn", "10"))
        power.appendChild(self._text("mn", str(exponent).replace("-", "\u2212")))
        for child in (self._text("mn", mantissa), self._text("mo", "·"), power):
            row.appendChild(child)
        return row

    def _text(self, tag: str, text: str):
        element = self.dom.createElement(tag)
        element.appendChild(self.dom.createTextNode(text))
        return element

    def _print_Piecewise(self, expr: sp.Piecewise):
        table = self.dom.createElement("mtable")
        table.setAttribute("columnalign", "left left")
        table.setAttribute("displaystyle", "true")
        for value, condition in expr.args:
            row = self.dom.createElement("mtr")
            left, right = self.dom.createElement("mtd"), self.dom.createElement("mtd")
            left.appendChild(self._print(value))
            if condition == sp.true:
                right.appendChild(self._text("mtext", "otherwise"))
            else:
                words = self.dom.createElement("mrow")
                words.appendChild(self._text("mtext", "if\u00a0"))
                words.appendChild(self._print(condition))
                right.appendChild(words)
            row.appendChild(left)
            row.appendChild(right)
            table.appendChild(row)
        brace = self.dom.createElement("mrow")
        opening = self._text("mo", "{")
        opening.setAttribute("stretchy", "true")
        brace.appendChild(opening)
        brace.appendChild(table)
        return brace

    def _print_BooleanTrue(self, expr):
        return self._text("mtext", "always")

    def _print_BooleanFalse(self, expr):
        return self._text("mtext", "never")


class ContentPrinter(MathMLContentPrinter):
    """SymPy's content MathML with every symbol a plain ``<ci>NAME</ci>``."""

    def _print_Symbol(self, sym: sp.Symbol):
        identifier = self.dom.createElement("ci")
        identifier.appendChild(self.dom.createTextNode(sym.name))
        return identifier

    _print_Dummy = _print_Symbol


def _markup(printer: MathMLPresentationPrinter | MathMLContentPrinter, expr: sp.Basic) -> str:
    return printer._print(expr).toxml()


def _presentation(expr: sp.Basic) -> str:
    """Products with a visible dot (names are words: "delta sign", not "deltasign"), minus as U+2212."""
    markup = _markup(PresentationPrinter({"mul_symbol": "dot"}), as_decimals(expr))
    return markup.replace("<mo>-</mo>", "<mo>\u2212</mo>").replace("<mn>-", "<mn>\u2212")


WIDE = 1400
"""Presentation markup longer than this (about a screen line of mathematics) is broken into rows."""


def _rows(expr: sp.Basic, lhs: str) -> str:
    """``lhs = expr`` on one line, or a sum broken after whole terms into aligned rows (+ or − leading each)."""
    shown = _presentation(expr)
    if not isinstance(expr, sp.Add) or len(shown) <= WIDE:
        return f"{lhs}<mo>=</mo>{shown}" if lhs else shown
    rows: list[list[str]] = [[]]
    width = 0
    for k, term in enumerate(expr.as_ordered_terms()):
        negative = term.could_extract_minus_sign()
        markup = _presentation(-term if negative and k else term)
        if k:
            markup = ("<mo>\u2212</mo>" if negative else "<mo>+</mo>") + markup
        if rows[-1] and width + len(markup) > WIDE:
            rows.append([])
            width = 0
        rows[-1].append(markup)
        width += len(markup)
    cells = []
    for k, row in enumerate(rows):
        left = f"<mtd>{lhs}</mtd>" if lhs else ""
        right = "<mo>=</mo>" if lhs and not k else ""
        cells.append(f"<mtr>{left if not k else ('<mtd></mtd>' if lhs else '')}<mtd><mrow>{right}{''.join(row)}"
                     "</mrow></mtd></mtr>")
    return f'<mtable columnalign="right left" displaystyle="true">{"".join(cells)}</mtable>'


def mathml(expr: sp.Basic, lhs: str = "", display: bool = True, attributes: dict[str, str] | None = None) -> str:
    """A ``<math>`` element for ``expr``; ``lhs`` is presentation markup put before it with an equals sign.

    The content form of ``expr`` (not of ``lhs``) is its ``annotation-xml``; ``attributes`` are set on
    ``<math>`` (e.g. ``data-quantity``), so a page's equations can be found and read back. A long sum
    is broken into rows after whole terms.
    """
    extra = "".join(f' {name}="{value}"' for name, value in (attributes or {}).items())
    mode = ' display="block"' if display else ""
    return (f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}{extra}><semantics><mrow>{_rows(expr, lhs)}'
            f'</mrow><annotation-xml encoding="MathML-Content">{_markup(ContentPrinter(), expr)}</annotation-xml>'
            f"</semantics></math>")


def symbol_markup(sym: sp.Symbol) -> str:
    """Presentation markup of one symbol (for an equation's left-hand side)."""
    return _presentation(sym)


def partial_markup(of: str, wrt: sp.Symbol) -> str:
    """∂``of``/∂``wrt`` as a presentation fraction; ``of`` is a plain identifier such as ``l``."""
    return (f"<mfrac><mrow><mo>∂</mo><mi>{of}</mi></mrow><mrow><mo>∂</mo>{symbol_markup(wrt)}</mrow></mfrac>")


def _latex_name(sym: sp.Symbol) -> str:
    base, indices = split_name(sym.name)
    text = r"\mathrm{" + base.replace("_", r"\_") + "}" if len(base) > 1 else base
    return f"{text}_{{{','.join(indices)}}}" if indices else text


class LatexPrinter(SympyLatexPrinter):
    """SymPy's LaTeX with decimals as the shortest float64 literal, like the MathML."""

    def _print_Float(self, expr: sp.Float) -> str:
        mantissa, exponent = float_literal(expr)
        return mantissa if exponent is None else rf"{mantissa} \cdot 10^{{{exponent}}}"


def latex(expr: sp.Basic) -> str:
    """LaTeX of ``expr`` with the same naming as the MathML (whole names, numeric subscripts)."""
    names = {sym: _latex_name(sym) for sym in expr.free_symbols if isinstance(sym, sp.Symbol)}
    return LatexPrinter({"symbol_names": names}).doprint(as_decimals(expr))


def latex_partial(of: str, wrt: sp.Symbol) -> str:
    return rf"\frac{{\partial {of}}}{{\partial {_latex_name(wrt)}}}"
