"""SymPy to Lean 4: ``LeanPrinter``, a ``CodePrinter`` that writes real-valued Mathlib terms.

Every Mathlib name appears once, in ``known_functions``, built from the primitives' ``mathlib`` facets
(``derivations.primitives``); a primitive whose Lean term is not ``name a b …`` has a ``_print_<name>``
method here that writes the form around its name. Conventions of the output:

* numbers are ℝ literals; a rational p/q prints as ``(p / q : ℝ)`` (a negative one as ``-(p / q : ℝ)``);
* ``x ** n`` with a natural n is ``x ^ n`` (``Monoid.npow``), ``x ** (1/2)`` is ``Real.sqrt x``,
  a negative integer power is ``1 / x ^ n``, any other exponent ``x ^ (e : ℝ)`` (``Real.rpow``);
* ``Piecewise`` is a chain of ``if … then … else``; relations print as ``<``, ``≤``, ``=``, ``≠``
  and connectives as ``∧``, ``∨``, ``¬``;
* ``xlogy(y, x)`` prints as ``y * Real.log x``: Mathlib's ``Real.log 0 = 0`` gives the same
  value 0 at y = 0 that PyTorch's convention does; ``log1p(x)`` as ``Real.log (1 + x)``;
  ``clamp_min(x, lo)`` as ``max x lo``; ``complex_abs(a, b)`` as ``Real.sqrt (a ^ 2 + b ^ 2)``;
  ``pnorm(p, x…)`` as ``(|x_1| ^ p + …) ^ (1/p)``;
* a symbol name that is not a Lean identifier (``x[0, 1]``) is rewritten (``x_0_1``).

What has no real Mathlib counterpart (∞, NaN, ``DiracDelta``) is not supported: with
``strict`` set it raises, as SymPy's code printers do.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import sympy as sp
from sympy.printing.codeprinter import CodePrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from ..derivations.primitives import PRIMITIVES, Mathlib

LEAN_RESERVED = {
    "at", "by", "calc", "class", "def", "do", "else", "end", "example", "from", "fun", "have", "if", "import",
    "in", "instance", "let", "match", "namespace", "open", "section", "show", "structure", "then", "theorem",
    "universe", "variable", "where", "with", "λ", "Type", "Prop", "Sort",
}

_NOT_IDENT = re.compile(r"[^\w']")


class LeanPrinter(CodePrinter):
    """Print SymPy expressions as Lean 4 / Mathlib terms of type ℝ."""

    printmethod = "_lean"
    language = "Lean 4"
    _default_settings: ClassVar[dict[str, Any]] = dict(CodePrinter._default_settings, strict=True, human=True,
                                             user_functions={})

    # each primitive's Mathlib name (``derivations.primitives``), and √ for the power ½
    known_functions: ClassVar[dict[str, str]] = {
        **{p.name: p.mathlib.name for p in PRIMITIVES if isinstance(p.mathlib, Mathlib)},
        "sqrt": "Real.sqrt",
    }
    reserved_words = LEAN_RESERVED

    def __init__(self, settings: dict[str, Any] | None = None):
        """``settings["user_functions"]`` maps more SymPy function names to Lean names (e.g. a vector ``x k``)."""
        super().__init__(settings or {})
        self.known_functions = {**self.known_functions, **self._settings["user_functions"]}

    # -- required by CodePrinter
    def _get_comment(self, text: str) -> str:
        return f"-- {text}"

    def _declare_number_const(self, name: str, value: Any) -> str:
        return f"noncomputable def {name} : ℝ := {value}"

    def _format_code(self, lines: list[str]) -> list[str]:
        return lines

    def _get_statement(self, codestring: str) -> str:
        return codestring

    # -- atoms
    def _print_Symbol(self, expr: sp.Symbol) -> str:
        name = _NOT_IDENT.sub("_", expr.name).strip("_").replace("__", "_") or "x"
        if name[0].isdigit():
            name = "x" + name
        return name + "'" if name in self.reserved_words else name

    _print_Dummy = _print_Symbol

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(expr.p)

    def _print_Rational(self, expr: sp.Rational) -> str:
        sign = "-" if expr.p < 0 else ""
        return f"{sign}({abs(expr.p)} / {expr.q} : ℝ)"

    def _print_Float(self, expr: sp.Float) -> str:
        text = sp.sstr(expr, full_prec=False)
        return f"({text} : ℝ)"

    def _print_Exp1(self, expr: sp.Expr) -> str:
        return "Real.exp 1"

    def _print_Pi(self, expr: sp.Expr) -> str:
        return "Real.pi"

    def _print_BooleanTrue(self, expr: sp.Expr) -> str:
        return "True"

    def _print_BooleanFalse(self, expr: sp.Expr) -> str:
        return "False"

    # -- functions: application is juxtaposition, arguments parenthesized unless atomic
    def _argument(self, expr: sp.Expr) -> str:
        text = self._print(expr)
        atomic = expr.is_Atom and not (expr.is_Number and expr < 0)
        return text if atomic or (text.startswith("(") and _balanced_outer(text)) else f"({text})"

    def _print_Function(self, expr: sp.Function) -> str:
        name = self.known_functions.get(type(expr).__name__)
        if not isinstance(name, str):
            return self._print_not_supported(expr)
        return f"{name} " + " ".join(self._argument(a) for a in expr.args)

    def _print_Max(self, expr: sp.Expr) -> str:
        return self._fold(self.known_functions["Max"], expr.args)

    def _print_Min(self, expr: sp.Expr) -> str:
        return self._fold(self.known_functions["Min"], expr.args)

    def _fold(self, name: str, args: tuple[sp.Expr, ...]) -> str:
        text = self._argument(args[0])
        for arg in args[1:]:
            text = f"({name} {text} {self._argument(arg)})"
        return text

    def _print_xlogy(self, expr: sp.Expr) -> str:
        y, x = expr.args
        return f"{self.parenthesize(y, PRECEDENCE['Mul'])} * {self.known_functions['xlogy']} {self._argument(x)}"

    def _print_log1p(self, expr: sp.Expr) -> str:
        return f"{self.known_functions['log1p']} (1 + {self._print(expr.args[0])})"

    def _print_clamp_min(self, expr: sp.Expr) -> str:
        """clamp_min(x, lo) = max(x, lo) (a spec function of the branches adding BCE and Gaussian NLL)."""
        return self._fold(self.known_functions["clamp_min"], expr.args)

    def _print_complex_abs(self, expr: sp.Expr) -> str:
        """complex_abs(a, b) = |a + ib| = sqrt(a² + b²) (a spec function of the branch adding l1_loss)."""
        a, b = (self.parenthesize(arg, PRECEDENCE["Pow"] + 1) for arg in expr.args)
        return f"{self.known_functions['complex_abs']} ({a} ^ 2 + {b} ^ 2)"

    def _print_pnorm(self, expr: sp.Expr) -> str:
        """pnorm(p, x…) = (Σ |x_i|^p)^(1/p) (a spec function of the branch adding triplet_margin_loss)."""
        p, *xs = expr.args
        return f"({self._print(expr.expanded(p, tuple(xs)))})"  # a sum: parenthesised inside − and ·

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> str:
        """SymPy's rule, without doubling parentheses a term already carries."""
        text = super().parenthesize(item, level, strict)
        if text.startswith("((") and _balanced_outer(text) and _balanced_outer(text[1:-1]):
            return text[1:-1]
        return text

    # -- arithmetic
    def _print_Pow(self, expr: sp.Pow) -> str:
        base, exponent = expr.args
        if exponent == sp.S.Half:
            return f"{self.known_functions['sqrt']} {self._argument(base)}"
        if exponent == -sp.S.Half:
            return f"1 / {self.known_functions['sqrt']} {self._argument(base)}"
        if exponent.is_Integer and exponent < 0:
            power = "" if exponent == -1 else f" ^ {-exponent.p}"
            return f"1 / {self.parenthesize(base, PRECEDENCE['Pow'] + 1)}{power}"
        if exponent.is_Integer:
            return f"{self.parenthesize(base, PRECEDENCE['Pow'] + 1)} ^ {exponent.p}"
        return f"{self.parenthesize(base, PRECEDENCE['Pow'] + 1)} ^ ({self._print(exponent)} : ℝ)"

    # -- logic
    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        *branches, (last, last_condition) = expr.args
        if last_condition != sp.true:
            return self._print_not_supported(expr)
        text = self._print(last)
        for value, condition in reversed(branches):
            text = f"if {self._print(condition)} then {self._print(value)} else {text}"
        return f"({text})"

    def _print_Relational(self, expr: sp.Expr) -> str:
        op = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}[expr.rel_op]
        lhs, rhs = (self.parenthesize(a, precedence(expr)) for a in expr.args)
        return f"{lhs} {op} {rhs}"

    def _print_And(self, expr: sp.Expr) -> str:
        return " ∧ ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Or(self, expr: sp.Expr) -> str:
        return " ∨ ".join(f"({self._print(a)})" for a in expr.args)

    def _print_Not(self, expr: sp.Expr) -> str:
        return f"¬({self._print(expr.args[0])})"


def _balanced_outer(text: str) -> bool:
    """True when the leading '(' closes at the very end of ``text``."""
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            return i == len(text) - 1
    return False


def lean_code(expr: sp.Expr, **settings: Any) -> str:
    """``expr`` as a Lean 4 term (``LeanPrinter(settings).doprint``)."""
    return LeanPrinter(settings).doprint(expr)
