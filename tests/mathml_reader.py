"""Read an equation back from a formula-reference page: its content MathML as a SymPy expression.

Written for the tests, independently of SymPy's printer: each content element maps to the SymPy
operation the MathML specification gives it, and an element it does not know fails loudly.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import sympy as sp
from losscheck.spec import functions

MATH = re.compile(r'<math\b(?P<attributes>[^>]*)>.*?<annotation-xml encoding="MathML-Content">(?P<content>.*?)'
                  r"</annotation-xml></semantics></math>", re.S)
ATTRIBUTE = re.compile(r'(data-[a-z]+)="([^"]*)"')

_FUNCTIONS = {"exp": sp.exp, "ln": sp.log, "abs": sp.Abs, "sign": sp.sign, "cosh": sp.cosh, "sinh": sp.sinh,
              "tanh": sp.tanh, "max": sp.Max, "min": sp.Min, "floor": sp.floor, "ceiling": sp.ceiling,
              "log1p": functions.log1p, "clamp_min": functions.clamp_min, "xlogy": functions.xlogy,
              "pnorm": functions.pnorm, "complex_abs": functions.complex_abs, "re": sp.re, "im": sp.im,
              "heaviside": lambda x, *_: sp.Heaviside(x)}
_RELATIONS = {"lt": sp.Lt, "gt": sp.Gt, "leq": sp.Le, "geq": sp.Ge, "eq": sp.Eq, "neq": sp.Ne}
_CONSTANTS = {"infinity": sp.oo, "exponentiale": sp.E, "pi": sp.pi, "true": sp.true, "false": sp.false}


def equations(html: str) -> list[tuple[dict[str, str], str]]:
    """(data-* attributes, content MathML) of every ``<math>`` element of a page."""
    return [(dict(ATTRIBUTE.findall(m.group("attributes"))), m.group("content")) for m in MATH.finditer(html)]


def read(content: str) -> sp.Expr:
    """The SymPy expression of one content-MathML element (as text)."""
    return _node(ET.fromstring(content))


def _number(text: str) -> sp.Expr:
    return sp.Integer(text) if re.fullmatch(r"-?\d+", text) else sp.Float(text, 30)


def _node(element: ET.Element) -> sp.Expr:
    tag = element.tag
    if tag == "ci":
        return sp.Symbol(element.text.strip(), real=True)
    if tag == "cn":
        return _number(element.text.strip())
    if tag in _CONSTANTS:
        return _CONSTANTS[tag]
    if tag == "piecewise":
        pieces = []
        for piece in element:
            if piece.tag == "piece":
                value, condition = (_node(child) for child in piece)
                pieces.append((value, condition))
            else:
                pieces.append((_node(piece[0]), sp.true))
        return sp.Piecewise(*pieces)
    if tag == "apply":
        head, *rest = list(element)
        if head.tag == "root":
            degree = 2
            if rest and rest[0].tag == "degree":
                degree = _node(rest[0][0])
                rest = rest[1:]
            return _node(rest[0]) ** (sp.Integer(1) / degree)
        arguments = [_node(child) for child in rest]
        return _apply(head.tag, arguments)
    raise AssertionError(f"content MathML element <{tag}> is not understood by the test reader")


def _apply(operator: str, arguments: list[sp.Expr]) -> sp.Expr:
    if operator == "plus":
        return sp.Add(*arguments)
    if operator == "times":
        return sp.Mul(*arguments)
    if operator == "minus":
        return -arguments[0] if len(arguments) == 1 else arguments[0] - arguments[1]
    if operator == "divide":
        return arguments[0] / arguments[1]
    if operator == "power":
        return arguments[0] ** arguments[1]
    if operator in _RELATIONS:
        return _RELATIONS[operator](*arguments)
    if operator == "and":
        return sp.And(*arguments)
    if operator == "or":
        return sp.Or(*arguments)
    if operator == "not":
        return sp.Not(arguments[0])
    if operator in _FUNCTIONS:
        return _FUNCTIONS[operator](*arguments)
    raise AssertionError(f"content MathML operator <{operator}/> is not understood by the test reader")
