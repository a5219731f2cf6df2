"""Lean 4 terms to a small syntax tree: the subset TorchLean's loss definitions are written in.

Supported: ``let x (: T)? := v`` chains (newline- or ``;``-separated), ``fun x y => e``
(binder types allowed), ``if c then a else b``, application with named arguments
``(n := e)``, type ascriptions ``(e : T)``, the operators ``+ - * / ^ • ⁻¹ < > ≤ ≥ = ≠``,
``∧ ∨ ¬``, unary ``-``, the norm ``‖v‖`` and inner product ``⟪a, b⟫``, anonymous
constructors ``⟨a, …⟩`` (first component kept), numerals ``2``, ``0.5``, ``1e-6``, and
``by …`` proof terms (kept opaque; never evaluated). Layout follows Lean's rule: a token that
starts a line at or left of the column of the enclosing ``let`` ends the term.

Straight-line monadic code reads as the same chain: ``do`` opens it and ``let x ← op …`` binds
like ``let x := op …`` (each runtime operation is a pure function of its inputs). A choice on
a constructor, ``match r with | .mean => a | .sum => b`` or the tactic form
``by cases r with | mean => exact a | sum => exact b``, becomes a ``Match``; a definition by
equations, ``| .scalar => 1 | .dim n rest => n * size rest``, becomes ``Equations``.

Anything else (other tactics, ``∑ i, …``, ``fun ⟨a, b⟩ => …``, pipes, …) raises
``Untranslatable`` naming the construct and its line, so nothing is skipped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .lean_tree import (
    App,
    Ascribe,
    BinOp,
    Equations,
    If,
    Lambda,
    Let,
    Match,
    Name,
    Node,
    Number,
    Opaque,
    UnOp,
    Untranslatable,
)
from .tokens import Token, tokenize

__all__ = ["App", "Ascribe", "BinOp", "Equations", "If", "Lambda", "Let", "Match", "Name", "Node", "Number", "Opaque",
           "Parser", "UnOp", "Untranslatable", "parse"]  # the tree is re-exported: a parse is read with it

_BINARY = {  # Lean 4 precedences; the right operand binds at prec + 1 (left-assoc) or prec (right)
    "∨": 30, "∧": 35,
    "<": 50, ">": 50, "≤": 50, "≥": 50, "<=": 50, ">=": 50, "=": 50, "≠": 50,
    "+": 65, "-": 65, "*": 70, "/": 70, "•": 73, "^": 75,
}
_RIGHT_ASSOC = {"^", "•", "∧", "∨"}
_CLOSERS = {")", "]", "}", "⟩", "⟫", ",", ":=", ":", "then", "else", "=>", "eof", ";", "‖", "with", "|"}
_OPEN_CLOSE = {"(": ")", "[": "]", "{": "}", "⟨": "⟩", "⟪": "⟫"}


@dataclass
class Parser:
    """Recursive descent with Pratt operators over ``tokenize`` output."""

    tokens: list[Token]
    pos: int = 0
    block: list[int] = field(default_factory=lambda: [-1])

    # -- token helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tok
        self.pos += 1
        return token

    def at(self, *texts: str) -> bool:
        return self.tok.text in texts and self.tok.kind != "eof"

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise Untranslatable(self.tok.text or "end of input", self.tok.line, f"expected {text!r}")
        return self.advance()

    def ends_term(self) -> bool:
        """True at a closer, or at a token starting a line left of the current block's column."""
        token = self.tok
        if token.kind == "eof" or (token.text in _CLOSERS and token.kind != "ident"):
            return True
        return token.first and token.col <= self.block[-1]

    def skip_balanced(self, stop: set[str]) -> str:
        """Skip tokens up to (not including) one of ``stop`` at bracket depth 0; return their text."""
        depth, words = 0, []
        while self.tok.kind != "eof":
            text = self.tok.text
            if depth == 0 and (text in stop or (self.tok.first and self.tok.col <= self.block[-1])):
                break
            if text in _OPEN_CLOSE:
                depth += 1
            elif text in _OPEN_CLOSE.values():
                if depth == 0:
                    break
                depth -= 1
            words.append(self.advance().text)
        return " ".join(words)

    # -- grammar
    def parse_term(self) -> Node:
        token = self.tok
        if token.text == "let":
            return self.parse_let()
        if token.text in ("fun", "λ"):
            return self.parse_lambda()
        if token.text == "if":
            return self.parse_if()
        if token.text == "by":
            if self.tokens[self.pos + 1].text == "cases":
                return self.parse_cases()
            self.advance()
            self.skip_balanced(set())
            return Opaque(token.line, "by")
        if token.text == "do":
            self.advance()
            return self.parse_term()
        if token.text == "match":
            return self.parse_match()
        if token.text == "|" and token.first:
            return self.parse_equations()
        if token.kind == "keyword":
            raise Untranslatable(token.text, token.line)
        return self.parse_binary(0)

    def parse_let(self) -> Node:
        let = self.advance()
        name = self.advance()
        if name.kind != "ident":
            raise Untranslatable(f"let {name.text}", name.line, "only `let name := value` is supported")
        if self.at(":"):
            self.advance()
            self.skip_balanced({":=", "←"})
        if self.at("←"):
            self.advance()
        else:
            self.expect(":=")
        self.block.append(let.col)
        try:
            value = self.parse_term()
        finally:
            self.block.pop()
        if self.at(";"):
            self.advance()
        body = self.parse_term()
        return Let(let.line, name.text, value, body)

    def parse_arms(self, keyword: str, line: int, scrutinee: Node) -> Node:
        """``| pattern => term`` arms; ``exact`` before a tactic arm's term is dropped."""
        arms: list[tuple[str, Node]] = []
        while self.at("|"):
            self.advance()
            pattern = self.advance()
            if pattern.kind != "ident" or not self.at("=>"):
                raise Untranslatable(keyword, line, f"arm `| {pattern.text}` (line {pattern.line}): only arms that "
                                                    "name a constructor without arguments are supported")
            self.advance()
            if self.tok.text == "exact":
                self.advance()
            self.block.append(-1)
            try:
                arms.append((pattern.text.lstrip("."), self.parse_term()))
            finally:
                self.block.pop()
        if not arms:
            raise Untranslatable(keyword, line, "no `| constructor => term` arms")
        return Match(line, scrutinee, tuple(arms))

    def parse_equations(self) -> Node:
        line, arms = self.tok.line, []
        while self.at("|"):
            self.advance()
            patterns = [self.parse_inner("=>")]
            while self.at(","):
                self.advance()
                patterns.append(self.parse_inner("=>"))
            self.expect("=>")
            arms.append((tuple(patterns), self.parse_inner("|")))
        return Equations(line, tuple(arms))

    def parse_match(self) -> Node:
        token = self.advance()
        scrutinee = self.parse_term()
        self.expect("with")
        return self.parse_arms("match", token.line, scrutinee)

    def parse_cases(self) -> Node:
        token = self.advance()
        self.advance()  # cases
        scrutinee = self.parse_term()
        self.expect("with")
        return self.parse_arms("by cases", token.line, scrutinee)

    def parse_lambda(self) -> Node:
        fun = self.advance()
        params: list[str] = []
        while not self.at("=>"):
            token = self.tok
            if token.text == "(":
                self.advance()
                params.append(self.advance().text)
                self.skip_balanced({")"})
                self.expect(")")
            elif token.text == ":":
                self.advance()
                self.skip_balanced({"=>"})
            elif token.kind == "ident":
                params.append(self.advance().text)
            else:
                raise Untranslatable(f"fun {token.text}", token.line, "pattern-matching binder")
        self.expect("=>")
        return Lambda(fun.line, tuple(params), self.parse_term())

    def parse_if(self) -> Node:
        token = self.advance()
        cond = self.parse_term()
        self.expect("then")
        then = self.parse_term()
        self.expect("else")
        return If(token.line, cond, then, self.parse_term())

    def parse_binary(self, min_prec: int) -> Node:
        left = self.parse_unary()
        while True:
            op = self.tok
            if op.kind != "sym" or op.text not in _BINARY or (op.first and op.col <= self.block[-1]):
                return left
            prec = _BINARY[op.text]
            if prec < min_prec:
                return left
            self.advance()
            right = self.parse_binary(prec if op.text in _RIGHT_ASSOC else prec + 1)
            left = BinOp(op.line, op.text, left, right)

    def parse_unary(self) -> Node:
        token = self.tok
        if token.text == "-":
            self.advance()
            return UnOp(token.line, "-", self.parse_binary(75))
        if token.text == "¬":
            self.advance()
            return UnOp(token.line, "¬", self.parse_binary(40))
        if token.text in ("fun", "λ", "if", "let", "by"):
            return self.parse_term()
        return self.parse_application()

    def parse_application(self) -> Node:
        head = self.parse_postfix(self.parse_atom())
        args: list[Node] = []
        named: list[tuple[str, Node]] = []
        while not self.ends_term() and self.tok.text not in _BINARY:
            if self.at("fun", "λ", "by"):
                args.append(self.parse_term())
                break
            if self.at("(") and self.tokens[self.pos + 1].kind == "ident" and self.tokens[self.pos + 2].text == ":=":
                self.advance()
                key = self.advance().text
                self.advance()
                named.append((key, self.parse_inner(")")))
                self.expect(")")
                continue
            args.append(self.parse_postfix(self.parse_atom()))
        if not args and not named:
            return head
        return App(head.line, head, tuple(args), tuple(named))

    def parse_postfix(self, node: Node) -> Node:
        while self.at("⁻¹"):
            node = UnOp(self.advance().line, "⁻¹", node)
        return node

    def parse_inner(self, closer: str) -> Node:
        """A term inside brackets: the layout rule is suspended until the closer."""
        self.block.append(-1)
        try:
            return self.parse_term()
        finally:
            self.block.pop()

    def parse_atom(self) -> Node:
        token = self.tok
        if token.kind == "ident":
            self.advance()
            return Name(token.line, token.text)
        if token.kind == "number":
            self.advance()
            return Number(token.line, token.text)
        if token.text == "(":
            self.advance()
            inner = self.parse_inner(")")
            if self.at(":"):
                self.advance()
                type_text = self.skip_balanced({")"})
                inner = Ascribe(token.line, inner, type_text)
            self.expect(")")
            return inner
        if token.text == "‖":
            self.advance()
            inner = self.parse_inner("‖")
            self.expect("‖")
            return UnOp(token.line, "‖‖", inner)
        if token.text == "⟪":  # ⟪a, b⟫, the inner product of docstring formulas
            self.advance()
            left = self.parse_inner("⟫")
            self.expect(",")
            right = self.parse_inner("⟫")
            self.expect("⟫")
            return App(token.line, Name(token.line, "⟪⟫"), (left, right))
        if token.text == "⟨":
            self.advance()
            first = self.parse_inner("⟩")
            self.skip_balanced({"⟩"})
            self.expect("⟩")
            return App(token.line, Name(token.line, "⟨⟩"), (first,))
        raise Untranslatable(token.text or "end of input", token.line)


def parse(text: str, first_line: int = 1) -> Node:
    """Parse one Lean term; ``Untranslatable`` for an unknown construct or trailing input."""
    parser = Parser(tokenize(text, first_line))
    node = parser.parse_term()
    if parser.tok.kind != "eof":
        raise Untranslatable(parser.tok.text, parser.tok.line, "unexpected here")
    return node
