"""The forward formula a tape node's docstring documents, read as SymPy.

TorchLean documents each loss node with a formula in backticks, e.g.
``-(1/m) * ⟪target, log_softmax_last(logits)⟫`` or ``(1/N) * Σ_i (softplus(logits_i) - target_i * logits_i)``,
sometimes with a definition beside it (``c = 1 / size(s)``). Each snippet is parsed by the
Lean reader (its operators are Lean's) and evaluated on the node's inputs as flat vectors:
``x_i`` is the vector ``x`` taken elementwise, ``Σ_i`` sums it, ``⟪a, b⟫`` is the inner
product, ``N`` and ``size(s)`` the element count, ``m`` and ``n`` the rows and classes.
Definitions ``name = value`` are bound first; the documented formula is the first other
snippet whose value depends on the inputs.

Index notation is read too: ``Σ_{i,j} body`` sums ``body`` over every element (the sum's scope
runs to the end of its bracket, as in written mathematics), and ``x[i,j]`` is ``x_i``. Snippets
that name an input are tried first, so a formula is preferred to a passing mention such as
``x⁻¹``; when none reads, the error reported is that of the first formula-like snippet.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import sympy as sp

from .lean_source import Checkout
from .lean_values import Builtin, ShapeValue
from .syntax import BinOp, Name, Untranslatable, parse
from .translate import Interpreter
from .vocabulary import _log_softmax, _map, _sigmoid, _softplus, _total

_SNIPPET = re.compile(r"`([^`]+)`")
_INDEXED_SUM = re.compile(r"[Σ∑]_\{[^}]*\}\s*")
_SUBSCRIPT = re.compile(r"(\w+)\[[a-z](?:\s*,\s*[a-z])*\]")
_CLOSE = {")": "(", "]": "[", "⟫": "⟪"}


def _index_notation(text: str) -> str:
    """``Σ_{i,j} a * (b)`` -> ``Σ_i (a * (b))`` and ``x[i,j]`` -> ``x_i``."""
    text = _SUBSCRIPT.sub(r"\1_i", text)
    while (match := _INDEXED_SUM.search(text)) is not None:
        depth, end = 0, match.end()
        while end < len(text):
            if text[end] in "([⟪":
                depth += 1
            elif text[end] in _CLOSE:
                if depth == 0:
                    break
                depth -= 1
            end += 1
        text = f"{text[:match.start()]}Σ_i ({text[match.end():end]}){text[end:]}"
    return text

VOCABULARY = {
    "Σ_i": Builtin("Σ_i", 1, lambda a, n, call: _total(a[0])),
    "softplus": Builtin("softplus", 1, lambda a, n, call: _map(_softplus, a[0])),
    "sigmoid": Builtin("sigmoid", 1, lambda a, n, call: _map(_sigmoid, a[0])),
    "log": Builtin("log", 1, lambda a, n, call: _map(sp.log, a[0])),
    "exp": Builtin("exp", 1, lambda a, n, call: _map(sp.exp, a[0])),
}


def documented_forward(docstring: str, inputs: Mapping[str, np.ndarray], shape: tuple[int, ...],
                       line: int, checkout: Checkout | None = None) -> tuple[str, sp.Expr]:
    """(the snippet, its value) for the first snippet of ``docstring`` that is a scalar formula of ``inputs``.

    Names the snippets use that the checkout declares (``c = 1 / Spec.meanDenom s``) are its own.

    ``Untranslatable`` (naming the last snippet tried) when none is.
    """
    env: dict[str, Any] = {"N": sp.Integer(math.prod(shape)), "s": ShapeValue(shape),
                           "size": Builtin("size", 1, lambda a, n, call: sp.Integer(a[0].size))}
    if len(shape) == 2:
        rows, classes = shape
        env.update(m=sp.Integer(rows), n=sp.Integer(classes), log_softmax_last=Builtin(
            "log_softmax_last", 1,
            lambda a, n, call: _log_softmax(np.asarray(a[0], dtype=object).reshape(rows, classes), 1).reshape(-1)))
    env.update(VOCABULARY)
    for name, vector in inputs.items():
        env[name] = env[f"{name}_i"] = vector.reshape(-1)
    symbols = {s for vector in inputs.values() for s in vector.reshape(-1)}
    snippets = [(text, _index_notation(text)) for text in _SNIPPET.findall(docstring)]
    mentions = set(inputs) | {f"{name}_i" for name in inputs}
    snippets.sort(key=lambda pair: not (mentions & set(re.findall(r"[\w']+", pair[1]))))  # stable: formulas first
    interpreter = Interpreter(checkout)
    formulas = []
    unparsed: Untranslatable | None = None  # the first formula-like snippet that does not parse
    for text, readable in snippets:
        try:
            node = parse(readable, line)
        except Untranslatable as error:
            if unparsed is None and mentions & set(re.findall(r"[\w']+", readable)):
                unparsed = error
            continue
        if isinstance(node, BinOp) and node.op == "=" and isinstance(node.left, Name):
            try:
                env[node.left.name] = interpreter.eval(node.right, env)
            except Untranslatable:
                continue
        else:
            formulas.append((text, node))
    first = unparsed
    for text, node in formulas:
        try:
            value = interpreter.eval(node, env)
        except Untranslatable as error:
            first = first or error
            continue
        if isinstance(value, sp.Expr) and value.free_symbols & symbols:
            return text, value
    if first is not None:
        raise first
    raise Untranslatable("docstring", line, "no backticked formula in the inputs' names")
